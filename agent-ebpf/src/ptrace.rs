//! ptrace probes: the requests by which one process takes hold of another or writes into it
//! (attach, seize, pokes, register and signal-info writes), with their results. Requests that
//! only read or resume a tracee are left out in the entry half, so a debugger's stepping does
//! not flood the ring buffer.

use aya_ebpf::{
    macros::{map, tracepoint},
    maps::LruHashMap,
    programs::TracePointContext,
};
use vigil_ebpf_common::{PtraceRecord, RecordKind, SyscallId, counter, ptrace_request};

use crate::kernel::{
    BPF_ANY, EVENTS, boot_ns, bump, current_ids, fill_header, skip_event, syscall_arg, syscall_ret,
};

/// What a ptrace call's entry saw.
#[repr(C)]
#[derive(Clone, Copy)]
struct PendingPtrace {
    enter_ns: u64,
    request: u64,
    addr: u64,
    data: u64,
    target_pid: i64,
    syscall: u32,
    _pad: u32,
}

#[map]
static PENDING_PTRACE: LruHashMap<u32, PendingPtrace> = LruHashMap::with_max_entries(1024, 0);

entry_program!(vigil_enter_ptrace(ctx, syscall) {
    let request = syscall_arg(&ctx, 0);
    if !ptrace_request::reported(request) {
        return 0;
    }
    let (tgid, tid) = current_ids();
    if skip_event(tgid) {
        return 0;
    }
    let pending = PendingPtrace {
        enter_ns: boot_ns(),
        request,
        target_pid: syscall_arg(&ctx, 1) as i32 as i64,
        addr: syscall_arg(&ctx, 2),
        data: syscall_arg(&ctx, 3),
        syscall: syscall as u32,
        _pad: 0,
    };
    if PENDING_PTRACE.insert(tid, pending, BPF_ANY).is_err() {
        bump(counter::PENDING_MAP_FULL);
    }
    0
});

/// The exit half of ptrace: attached by userspace to `sys_exit_ptrace`.
#[tracepoint]
pub fn vigil_exit_ptrace(ctx: TracePointContext) -> u32 {
    ptrace_exit(&ctx)
}

#[inline(always)]
fn ptrace_exit(ctx: &TracePointContext) -> u32 {
    let (tgid, tid) = current_ids();
    if skip_event(tgid) {
        return 0;
    }
    let Some(pending) = PENDING_PTRACE.get_ptr(tid) else {
        return 0;
    };
    // SAFETY: the entry is only read, then removed.
    let pending = unsafe { *pending };
    let _ = PENDING_PTRACE.remove(tid);
    let ret = syscall_ret(ctx);

    let Some(mut entry) = EVENTS.reserve::<PtraceRecord>(0) else {
        bump(counter::RINGBUF_FULL_PTRACE);
        return 0;
    };
    let slot: *mut PtraceRecord = entry.as_mut_ptr();
    // SAFETY: `slot` points at a reserved, exclusively owned ring buffer record; it is zeroed
    // first so every field is initialised before submit.
    let record = unsafe {
        core::ptr::write_bytes(slot, 0, 1);
        &mut *slot
    };
    fill_header(
        &mut record.header,
        RecordKind::Ptrace,
        SyscallId::from_u32(pending.syscall),
    );
    record.result = ret;
    record.duration_ns = boot_ns().saturating_sub(pending.enter_ns);
    record.request = pending.request;
    record.addr = pending.addr;
    record.data = pending.data;
    record.target_pid = pending.target_pid as i32;
    entry.submit(0);
    0
}
