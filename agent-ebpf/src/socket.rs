//! Socket probes: connect, accept, accept4, bind, listen, with their results. The entry half
//! remembers the arguments; the exit half reads the socket the call worked on (local and peer
//! addresses as the kernel holds them) and the caller's `sockaddr`, then reports both.

use core::ffi::c_void;

use aya_ebpf::{
    Global,
    helpers::generated as helper,
    macros::{map, tracepoint},
    maps::LruHashMap,
    programs::TracePointContext,
};
use vigil_ebpf_common::{
    RecordKind, SOCKADDR_CAPACITY, SocketOffsets, SocketRecord, SyscallId, counter, socket_sources,
};

use crate::kernel::{
    BPF_ANY, EVENTS, boot_ns, bump, current_ids, fd_file, fill_header, member, member_ptr,
    read_kernel, read_user, skip_event,
};

// SAFETY: as kernel::CONFIG: set by name from userspace before loading; the name is unique.
#[unsafe(no_mangle)]
static SOCKET_OFFSETS: Global<SocketOffsets> = Global::new(SocketOffsets::UNRESOLVED);

#[repr(C)]
#[derive(Clone, Copy)]
struct PendingSocket {
    enter_ns: u64,
    /// The caller's sockaddr (connect, bind, accept's out-parameter), 0 when none.
    addr: u64,
    /// connect/bind: the address length; accept: a pointer to it.
    addr_len: u64,
    fd: i64,
    syscall: u32,
    _pad: u32,
}

#[map]
static PENDING_SOCKET: LruHashMap<u32, PendingSocket> = LruHashMap::with_max_entries(8192, 0);

const ENOTSOCK: i64 = 88;
const EBADF: i64 = 9;

#[inline(always)]
fn arg(ctx: &TracePointContext, n: usize) -> u64 {
    crate::kernel::syscall_arg(ctx, n)
}

#[inline(always)]
fn socket_enter(ctx: &TracePointContext, syscall: SyscallId, has_addr: bool) -> u32 {
    let (tgid, tid) = current_ids();
    if skip_event(tgid) {
        return 0;
    }
    let pending = PendingSocket {
        enter_ns: boot_ns(),
        fd: arg(ctx, 0) as i32 as i64,
        addr: if has_addr { arg(ctx, 1) } else { 0 },
        addr_len: if has_addr { arg(ctx, 2) } else { 0 },
        syscall: syscall as u32,
        _pad: 0,
    };
    if PENDING_SOCKET.insert(tid, pending, BPF_ANY).is_err() {
        bump(counter::PENDING_MAP_FULL);
    }
    0
}

entry_program!(vigil_enter_connect(ctx, syscall) {
    socket_enter(&ctx, syscall, true)
});

entry_program!(vigil_enter_accept(ctx, syscall) {
    socket_enter(&ctx, syscall, true)
});

entry_program!(vigil_enter_accept4(ctx, syscall) {
    socket_enter(&ctx, syscall, true)
});

entry_program!(vigil_enter_bind(ctx, syscall) {
    socket_enter(&ctx, syscall, true)
});

entry_program!(vigil_enter_listen(ctx, syscall) {
    socket_enter(&ctx, syscall, false)
});

/// The start of `struct sock_common` as Linux lays it out (`skc_daddr`, `skc_rcv_saddr`,
/// `skc_hash`, `skc_dport`, `skc_num`, `skc_family`): where the offsets userspace resolved say
/// so, one read takes what would be five.
#[repr(C)]
#[derive(Clone, Copy)]
struct SockCommonHead {
    daddr: [u8; 4],
    rcv_saddr: [u8; 4],
    _hash: u32,
    dport: u16,
    num: u16,
    family: u16,
    _pad: u16,
}

/// Fills the `sock_*` fields from the kernel socket behind `fd`.
#[inline(always)]
fn read_sock(record: &mut SocketRecord, fd: i64) -> bool {
    let net = SOCKET_OFFSETS.load();
    if net.valid == 0 {
        return false;
    }
    let file = fd_file(fd);
    let offsets = crate::kernel::OFFSETS.load();
    let socket = member_ptr(file, offsets.file_private_data as u64);
    let sk = member_ptr(socket, net.socket_sk as u64);
    if sk == 0 {
        return false;
    }
    let common = sk + net.sock_common as u64;
    record.sock_type = member::<u16>(socket, net.socket_type as u64).0;
    record.sock_protocol = member::<u16>(sk, net.sock_protocol as u64).0;
    const AF_INET6: u16 = 10;
    let head_layout = net.skc_daddr == 0
        && net.skc_rcv_saddr == 4
        && net.skc_dport == 12
        && net.skc_num == 14
        && net.skc_family == 16;
    if head_layout {
        let (head, _) = read_kernel::<SockCommonHead>(common);
        record.sock_family = head.family;
        record.sock_local_port = head.num;
        record.sock_remote_port = head.dport;
        if head.family != AF_INET6 {
            record.sock_local_addr[..4].copy_from_slice(&head.rcv_saddr);
            record.sock_remote_addr[..4].copy_from_slice(&head.daddr);
        }
    } else {
        record.sock_family = member::<u16>(common, net.skc_family as u64).0;
        record.sock_local_port = member::<u16>(common, net.skc_num as u64).0;
        record.sock_remote_port = member::<u16>(common, net.skc_dport as u64).0;
        if record.sock_family != AF_INET6 {
            let l = member::<[u8; 4]>(common, net.skc_rcv_saddr as u64).0;
            let r = member::<[u8; 4]>(common, net.skc_daddr as u64).0;
            record.sock_local_addr[..4].copy_from_slice(&l);
            record.sock_remote_addr[..4].copy_from_slice(&r);
        }
    }
    if record.sock_family == AF_INET6 {
        if net.skc_v6_rcv_saddr == net.skc_v6_daddr + 16 {
            // `skc_v6_daddr` then `skc_v6_rcv_saddr`, as Linux has them: one read.
            let (both, _) = read_kernel::<[[u8; 16]; 2]>(common + net.skc_v6_daddr as u64);
            record.sock_remote_addr = both[0];
            record.sock_local_addr = both[1];
        } else {
            record.sock_local_addr = member::<[u8; 16]>(common, net.skc_v6_rcv_saddr as u64).0;
            record.sock_remote_addr = member::<[u8; 16]>(common, net.skc_v6_daddr as u64).0;
        }
    }
    true
}

#[inline(always)]
fn socket_exit(ctx: &TracePointContext) -> u32 {
    let (tgid, tid) = current_ids();
    if skip_event(tgid) {
        return 0;
    }
    let Some(pending) = PENDING_SOCKET.get_ptr(tid) else {
        return 0;
    };
    // SAFETY: the entry is only read, then removed.
    let pending = unsafe { *pending };
    let _ = PENDING_SOCKET.remove(tid);
    let ret = crate::kernel::syscall_ret(ctx);

    let Some(mut entry) = EVENTS.reserve::<SocketRecord>(0) else {
        bump(counter::RINGBUF_FULL_SOCKET);
        return 0;
    };
    let syscall = SyscallId::from_u32(pending.syscall);
    // Built in place in the ring buffer: the record is too large for the 512-byte BPF stack.
    let slot: *mut SocketRecord = entry.as_mut_ptr();
    // SAFETY: `slot` points at a reserved, exclusively owned ring buffer record; it is zeroed
    // first so every field is initialised before submit.
    let record = unsafe {
        core::ptr::write_bytes(slot, 0, 1);
        &mut *slot
    };
    fill_header(&mut record.header, RecordKind::Socket, syscall);
    record.result = ret;
    record.duration_ns = record.header.boot_ns.saturating_sub(pending.enter_ns);
    record.fd = pending.fd as i32;
    let accepted = matches!(syscall, SyscallId::Accept | SyscallId::Accept4);
    // accept reports the new connection's socket; the others the socket they were called on
    // (not when the fd was not a socket at all).
    let sock_fd = if accepted { ret } else { pending.fd };
    if sock_fd >= 0 && ret != -ENOTSOCK && ret != -EBADF && read_sock(record, sock_fd) {
        record.sources |= socket_sources::SOCK;
    }
    let user_len = if accepted {
        if pending.addr_len != 0 {
            read_user::<u32>(pending.addr_len).unwrap_or(0) as u64
        } else {
            0
        }
    } else {
        pending.addr_len
    };
    if pending.addr != 0 && user_len > 0 && (!accepted || ret >= 0) {
        let len = if user_len > SOCKADDR_CAPACITY as u64 {
            SOCKADDR_CAPACITY as u64
        } else {
            user_len
        };
        // SAFETY: the destination is the record's own array; the helper copies at most its size.
        let copied = unsafe {
            helper::bpf_probe_read_user(
                record.user_addr.as_mut_ptr().cast::<c_void>(),
                len as u32 & (SOCKADDR_CAPACITY as u32 * 2 - 1),
                pending.addr as *const c_void,
            )
        };
        if copied == 0 {
            record.user_addr_len = len as u32;
            record.sources |= socket_sources::USER_ADDR;
        }
    }
    entry.submit(0);
    0
}

/// The exit half of every socket syscall: one program, attached by userspace to each
/// `sys_exit_*` tracepoint, so the kernel verifies it once.
#[tracepoint]
pub fn vigil_exit_socket(ctx: TracePointContext) -> u32 {
    socket_exit(&ctx)
}
