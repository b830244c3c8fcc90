//! What every probe shares: settings and offsets from userspace, the ring buffer and counters,
//! and small helpers to read the current task.

use core::{ffi::c_void, mem::size_of};

use aya_ebpf::{
    EbpfContext as _, Global,
    helpers::generated as helper,
    macros::map,
    maps::{Array, PerCpuArray, RingBuf},
    programs::TracePointContext,
};
use vigil_ebpf_common::{
    DEFAULT_ARGV_LIMIT, KernelOffsets, ProbeConfig, RecordHeader, RecordKind, SyscallId,
    TracepointFields, counter, probe_error, syscall_record,
};

// SAFETY: an unmangled global so userspace finds it by name in the object and sets it before
// loading; no other symbol has this name.
#[unsafe(no_mangle)]
pub(crate) static CONFIG: Global<ProbeConfig> = Global::new(ProbeConfig {
    agent_tgid: 0,
    file_filter_mode: 0,
    argv_limit: DEFAULT_ARGV_LIMIT,
    generation: 0,
});

/// The generation of the program set that records (see `ProbeConfig::generation`).
#[map]
pub(crate) static ACTIVE: Array<u32> = Array::with_max_entries(1, 0);

// SAFETY: as CONFIG: set by name from userspace before loading; the name is unique.
#[unsafe(no_mangle)]
pub(crate) static OFFSETS: Global<KernelOffsets> = Global::new(KernelOffsets::UNRESOLVED);

// SAFETY: as CONFIG: set by name from userspace before loading; the name is unique.
#[unsafe(no_mangle)]
pub(crate) static TRACEPOINT_FIELDS: Global<TracepointFields> =
    Global::new(TracepointFields::DEFAULT);

/// Records for userspace. Userspace sets the size at load time (`--bpf_ringbuf_size`).
#[map]
pub(crate) static EVENTS: RingBuf = RingBuf::with_byte_size(8 * 1024 * 1024, 0);

/// Drop and truncation counters, indexed by [`counter`]; the second half is userspace's (see
/// [`counter::SLOTS`]).
#[map]
pub(crate) static COUNTERS: PerCpuArray<u64> = PerCpuArray::with_max_entries(counter::SLOTS, 0);

pub(crate) const BPF_ANY: u64 = 0;

#[inline(always)]
pub(crate) fn bump(index: u32) {
    if let Some(slot) = COUNTERS.get_ptr_mut(index) {
        // SAFETY: a per-CPU slot; nothing else on this CPU runs while we hold it.
        unsafe { *slot += 1 };
    }
}

/// A field of the tracepoint record at `offset` (checked or located in the tracepoint's `format`
/// by userspace before attaching); zero if it cannot be read.
#[inline(always)]
pub(crate) fn read_field<T: Copy>(ctx: &TracePointContext, offset: usize) -> T {
    read_kernel::<T>(ctx.as_ptr() as u64 + offset as u64).0
}

/// The 8 bytes at `offset` of the tracepoint's record, loaded directly: a tracepoint program may
/// read its record at constant, aligned offsets past the common fields, and a load costs far
/// less than the helper call [`read_field`] makes (which offsets known only at load time need).
/// `offset` must be a constant once inlined: the verifier refuses a variable offset into the
/// context.
#[inline(always)]
fn record_u64(ctx: &TracePointContext, offset: usize) -> u64 {
    // SAFETY: `offset` is within the syscall tracepoints' records (their format, a stable ABI:
    // six 8-byte arguments from `FIRST_ARG`, or `ret` at `RET`), 8-byte aligned and past the
    // common fields; the record outlives the program's run.
    unsafe { core::ptr::read_volatile(ctx.as_ptr().cast::<u8>().add(offset).cast::<u64>()) }
}

/// Syscall argument `n` (a constant) of a `syscalls:sys_enter_*` record.
#[inline(always)]
pub(crate) fn syscall_arg(ctx: &TracePointContext, n: usize) -> u64 {
    record_u64(ctx, syscall_record::arg(n))
}

/// The return value in a `syscalls:sys_exit_*` record.
#[inline(always)]
pub(crate) fn syscall_ret(ctx: &TracePointContext) -> i64 {
    record_u64(ctx, syscall_record::RET) as i64
}

#[inline(always)]
pub(crate) fn current_ids() -> (u32, u32) {
    let pid_tgid = helper_pid_tgid();
    ((pid_tgid >> 32) as u32, pid_tgid as u32)
}

#[inline(always)]
pub(crate) fn helper_pid_tgid() -> u64 {
    // SAFETY: a helper without arguments.
    unsafe { helper::bpf_get_current_pid_tgid() }
}

/// Whether a program should ignore this event: it comes from the agent itself, or this program
/// set is not the one recording (another worker's set took over, or has not yet been switched
/// on).
#[inline(always)]
pub(crate) fn skip_event(tgid: u32) -> bool {
    let config = CONFIG.load();
    let active = ACTIVE.get(0).copied().unwrap_or(0);
    active != config.generation || (config.agent_tgid != 0 && config.agent_tgid == tgid)
}

#[inline(always)]
pub(crate) fn boot_ns() -> u64 {
    // SAFETY: a helper without arguments.
    unsafe { helper::bpf_ktime_get_boot_ns() }
}

/// Reads a `T` at `addr` with `probe` (the kernel- or user-memory helper): the value, and whether
/// the read worked. Generic over the helper so each use compiles to a direct call (BPF has no
/// indirect calls).
///
/// The value is defined whatever the outcome (the helper zeroes its destination when the read
/// faults; the load is made on both paths), and callers keep it so: LLVM treats a value that
/// exists on one path only (an `Option`'s payload after `None`) as undefined on the other, and
/// may then use a register a call clobbered, or a stack slot never written, there (harmless to
/// it: the value is never looked at). The verifier refuses the first (`R1 !read_ok`), and Linux
/// 6.1's also the second (`invalid read from stack`, even for root; 6.12's allows it). That is
/// why kernel memory is read through [`read_ptr`], [`member_ptr`] and [`member`], whose results
/// are plain values.
#[inline(always)]
fn probe_read<T: Copy>(
    probe: impl FnOnce(*mut c_void, u32, *const c_void) -> i64,
    addr: u64,
) -> (T, bool) {
    let mut value = core::mem::MaybeUninit::<T>::uninit();
    let ret = probe(
        value.as_mut_ptr().cast::<c_void>(),
        size_of::<T>() as u32,
        addr as *const c_void,
    );
    // SAFETY: the helper writes every byte: the value read, or zeroes when the read faults.
    // Volatile, so the load is made after the call on both paths (never hoisted above it).
    let value = unsafe { core::ptr::read_volatile(value.as_ptr()) };
    (value, ret == 0)
}

/// A `T` at kernel address `addr`, and whether it could be read (zero when not).
#[inline(always)]
pub(crate) fn read_kernel<T: Copy>(addr: u64) -> (T, bool) {
    // SAFETY: the helper writes at most `size` bytes to `dst` and reports faults.
    probe_read(
        |dst, size, src| unsafe { helper::bpf_probe_read_kernel(dst, size, src) },
        addr,
    )
}

/// A kernel pointer at `addr`; 0 (like a NULL pointer) when it cannot be read: the helper zeroes
/// its destination on failure, so no branch is needed.
#[inline(always)]
pub(crate) fn read_ptr(addr: u64) -> u64 {
    read_kernel::<u64>(addr).0
}

/// The member at `offset` of the kernel struct at `base`, and whether it was read. No branch on
/// `base`: when it is 0 the read is made at an address in the first pages, which the kernel's
/// copy refuses (user range), so it fails and gives zero. Branches are what the verifier pays
/// for, per iteration, in the path walks' loops.
#[inline(always)]
pub(crate) fn member<T: Copy>(base: u64, offset: u64) -> (T, bool) {
    read_kernel::<T>(base + offset)
}

/// The pointer member at `offset` of the kernel struct at `base`; 0 when `base` is 0 or the read
/// faults (the helper zeroes its destination then).
#[inline(always)]
pub(crate) fn member_ptr(base: u64, offset: u64) -> u64 {
    read_ptr(base + offset)
}

/// Two 8-byte members of the kernel struct at `base`, at offsets `first` and `second`, each 0
/// when unreadable. One read instead of two when the second follows the first by 8 or 16 bytes
/// (`d_parent` and `d_name.name`, `arg_start` and `arg_end`): each helper call is a good part of
/// what a program costs per run, and the layouts where they are apart still work.
#[inline(always)]
pub(crate) fn member_pair(base: u64, first: u64, second: u64) -> (u64, u64) {
    if second == first + 8 {
        let ([a, b], _) = read_kernel::<[u64; 2]>(base + first);
        (a, b)
    } else if second == first + 16 {
        let ([a, _, c], _) = read_kernel::<[u64; 3]>(base + first);
        (a, c)
    } else {
        (member_ptr(base, first), member_ptr(base, second))
    }
}

/// Two 4-byte members at `first` and `second` of the kernel struct at `base` (`cred.euid`,
/// `cred.egid`), in one read when adjacent; and whether both were read.
#[inline(always)]
pub(crate) fn member_u32_pair(base: u64, first: u64, second: u64) -> (u32, u32, bool) {
    if second == first + 4 {
        let ([a, b], read) = read_kernel::<[u32; 2]>(base + first);
        (a, b, read)
    } else {
        let (a, a_read) = member::<u32>(base, first);
        let (b, b_read) = member::<u32>(base, second);
        (a, b, a_read && b_read)
    }
}

/// A `T` at user address `addr`, when it can be read.
#[inline(always)]
pub(crate) fn read_user<T: Copy>(addr: u64) -> Option<T> {
    // SAFETY: as above, for user memory.
    let (value, read) = probe_read(
        |dst, size, src| unsafe { helper::bpf_probe_read_user(dst, size, src) },
        addr,
    );
    read.then_some(value)
}

#[inline(always)]
pub(crate) fn current_task() -> u64 {
    // SAFETY: a helper without arguments.
    unsafe { helper::bpf_get_current_task() }
}

/// Fills the identity part every record shares. `header.boot_ns` is the event's time: callers
/// take durations from it rather than reading the clock again.
#[inline(always)]
pub(crate) fn fill_header(header: &mut RecordHeader, kind: RecordKind, syscall: SyscallId) {
    let (tgid, tid) = current_ids();
    // SAFETY: helpers without pointer arguments.
    let uid_gid = unsafe { helper::bpf_get_current_uid_gid() };
    header.kind = kind as u32;
    header.syscall = syscall as u32;
    header.boot_ns = boot_ns();
    header.pid = tgid;
    header.tid = tid;
    header.uid = uid_gid as u32;
    header.gid = (uid_gid >> 32) as u32;
    header.euid = header.uid;
    header.egid = header.gid;
    header.ppid = 0;
    header.probe_error = 0;
    // SAFETY: a helper without pointer arguments.
    header.cgroup_id = unsafe { helper::bpf_get_current_cgroup_id() };
    header.comm = [0; 16];
    // SAFETY: the helper writes at most 16 bytes into `comm`.
    unsafe {
        helper::bpf_get_current_comm(header.comm.as_mut_ptr().cast::<c_void>(), 16);
    }

    let offsets = OFFSETS.load();
    if offsets.valid == 0 {
        header.probe_error |= probe_error::TASK_FIELDS;
        return;
    }
    let task = current_task();
    let parent = read_ptr(task + offsets.task_real_parent as u64);
    let (ppid, ppid_read) = member::<u32>(parent, offsets.task_tgid as u64);
    let cred = read_ptr(task + offsets.task_cred as u64);
    let (euid, egid, ids_read) =
        member_u32_pair(cred, offsets.cred_euid as u64, offsets.cred_egid as u64);
    if ppid_read && ids_read {
        header.ppid = ppid;
        header.euid = euid;
        header.egid = egid;
    } else {
        header.probe_error |= probe_error::TASK_FIELDS;
    }
}

/// The `struct file` behind descriptor `fd` of the current task (`files->fdt->fd[fd]`); 0 when
/// there is none or it cannot be read.
#[inline(always)]
pub(crate) fn fd_file(fd: i64) -> u64 {
    let offsets = OFFSETS.load();
    if offsets.valid == 0 || fd < 0 {
        return 0;
    }
    let files = read_ptr(current_task() + offsets.task_files as u64);
    let fdt = member_ptr(files, offsets.files_fdt as u64);
    // `unsigned int max_fds` is read as the low half of an 8-byte member (x86-64 is little
    // endian), so that it pairs with the `fd` array pointer after it.
    let (max_fds, array) = member_pair(
        fdt,
        offsets.fdtable_max_fds as u64,
        offsets.fdtable_fd as u64,
    );
    if fd as u64 >= max_fds & 0xffff_ffff {
        return 0;
    }
    member_ptr(array, fd as u64 * 8)
}
