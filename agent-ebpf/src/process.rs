//! Process probes: exec (successful and failed), fork/vfork/clone/clone3 of new processes, exit.

use core::{ffi::c_void, mem::size_of};

use aya_ebpf::{
    EbpfContext,
    helpers::generated as helper,
    macros::{map, tracepoint},
    maps::{LruHashMap, PerCpuArray},
    programs::TracePointContext,
};
use vigil_ebpf_common::{
    ARGV_CAPACITY, CLONE_THREAD, EXEC_DATA_CAPACITY, ExecRecord, ExecScratch, ExitRecord,
    FILENAME_CAPACITY, ForkRecord, PATH_CAPACITY, PathSlot, RecordHeader, RecordKind, SyscallId,
    counter, exit_mode, path_flags, probe_error,
};

use crate::{
    kernel::{
        BPF_ANY, CONFIG, EVENTS, OFFSETS, TRACEPOINT_FIELDS, boot_ns, bump, current_ids,
        current_task, fill_header, member, member_pair, member_ptr, read_field, read_ptr,
        read_user, skip_event, syscall_arg, syscall_ret,
    },
    path::{LOOP_BREAK, LOOP_CONTINUE, WalkTarget, copy_str, walk},
};

/// Arguments read from a failed exec's argv array, at most (the rest is marked truncated).
const FAILED_EXEC_MAX_ARGS: u32 = 1024;

/// What an exec's entry saw, kept until its exit (or the new image's first event). The filename
/// stays where the caller has it: a successful exec reports the tracepoint's own copy, and a
/// failed one reads it at its exit, from the caller's memory (intact, as argv is, when the exec
/// failed). Copying it here cost two 4 KiB copies per exec (into a per-CPU buffer, then into the
/// map's value).
#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct PendingExec {
    enter_ns: u64,
    /// The caller's argv pointer array: still readable at the exit of an exec that failed.
    argv: u64,
    /// The caller's filename (user pointer).
    filename: u64,
    syscall: u32,
    _pad: u32,
}

/// Keyed by thread id. LRU so an entry whose exit never came (a thread that exec'd and took over
/// its leader's id) is evicted rather than leaked.
#[map]
pub(crate) static PENDING_EXEC: LruHashMap<u32, PendingExec> =
    LruHashMap::with_max_entries(2048, 0);

#[repr(C)]
#[derive(Clone, Copy)]
pub(crate) struct PendingFork {
    enter_ns: u64,
    flags: u64,
    syscall: u32,
    _pad: u32,
}

#[map]
pub(crate) static PENDING_FORK: LruHashMap<u32, PendingFork> =
    LruHashMap::with_max_entries(8192, 0);

/// Per-CPU working memory for exec records (successful and failed), too large for the 512-byte
/// BPF stack: the programs build their record here, and the walks they start write paths into
/// its data area.
#[map]
static EXEC_SCRATCH: PerCpuArray<ExecScratch> = PerCpuArray::with_max_entries(1, 0);

/// Walks into the exec scratch record.
struct ExecArea;

impl WalkTarget for ExecArea {
    const CAPACITY: usize = EXEC_DATA_CAPACITY;
    const FILTERS: bool = false;

    #[inline(always)]
    fn data() -> Option<*mut u8> {
        // SAFETY: a per-CPU scratch value, exclusively ours while this program runs.
        EXEC_SCRATCH
            .get_ptr_mut(0)
            .map(|scratch| unsafe { (*scratch).data.as_mut_ptr() })
    }
}

/// Sends the first `size` bytes of an exec scratch record.
#[inline(always)]
pub(crate) fn output_exec(scratch: *mut ExecScratch, size: usize) {
    if size > size_of::<ExecScratch>() {
        return;
    }
    // SAFETY: `size` is bounded by the scratch value's size (checked above).
    let bytes = unsafe { core::slice::from_raw_parts(scratch.cast::<u8>(), size) };
    if EVENTS.output::<[u8]>(bytes, 0).is_err() {
        bump(counter::RINGBUF_FULL_EXEC);
    }
}

// ---- exec ------------------------------------------------------------------------------------

#[inline(always)]
pub(crate) fn exec_enter(
    ctx: &TracePointContext,
    syscall: SyscallId,
    filename_arg: usize,
    argv_arg: usize,
) -> u32 {
    let (tgid, tid) = current_ids();
    if skip_event(tgid) {
        return 0;
    }
    let pending = PendingExec {
        enter_ns: boot_ns(),
        argv: syscall_arg(ctx, argv_arg),
        filename: syscall_arg(ctx, filename_arg),
        syscall: syscall as u32,
        _pad: 0,
    };
    if PENDING_EXEC.insert(tid, pending, BPF_ANY).is_err() {
        bump(counter::PENDING_MAP_FULL);
    }
    0
}

entry_program!(vigil_enter_execve(ctx, syscall) {
    exec_enter(&ctx, syscall, 0, 1)
});

entry_program!(vigil_enter_execveat(ctx, syscall) {
    exec_enter(&ctx, syscall, 1, 2)
});

/// A failed exec: report it with the filename its entry saw. A successful one was reported by
/// `sched_process_exec`; either way the pending entry is done.
#[inline(always)]
pub(crate) fn exec_exit(ctx: &TracePointContext) -> u32 {
    let (tgid, tid) = current_ids();
    if skip_event(tgid) {
        return 0;
    }
    let ret = syscall_ret(ctx);
    if ret < 0 {
        report_failed_exec(tid, ret);
    }
    let _ = PENDING_EXEC.remove(tid);
    0
}

/// Reading a failed exec's arguments from the caller's pointer array, one per `bpf_loop` step,
/// into the exec scratch record's argv area (NUL-separated, as the successful path has them).
#[repr(C)]
struct ArgvState {
    array: u64,
    written: u64,
    limit: u64,
    truncated: u64,
}

extern "C" fn failed_exec_arg(index: u64, ctx: *mut c_void) -> i64 {
    // SAFETY: `ctx` is the `ArgvState` that `report_failed_exec` passed to `bpf_loop`.
    let state = unsafe { &mut *ctx.cast::<ArgvState>() };
    let mut arg: u64 = 0;
    // SAFETY: reads one user pointer into a local.
    let rc = unsafe {
        helper::bpf_probe_read_user(
            (&mut arg as *mut u64).cast::<c_void>(),
            8,
            (state.array + index * 8) as *const c_void,
        )
    };
    if rc != 0 || arg == 0 {
        return LOOP_BREAK;
    }
    let at = state.written;
    // Each copy may take FILENAME_CAPACITY bytes: starting past this point could leave the area.
    if at >= state.limit || at > (ARGV_CAPACITY - FILENAME_CAPACITY) as u64 {
        state.truncated = 1;
        return LOOP_BREAK;
    }
    let mut room = state.limit - at;
    if room > FILENAME_CAPACITY as u64 {
        room = FILENAME_CAPACITY as u64;
    }
    let Some(scratch) = EXEC_SCRATCH.get_ptr_mut(0) else {
        return LOOP_BREAK;
    };
    // SAFETY: `at + room` stays within the argv area (both bounded above).
    let copied = unsafe {
        helper::bpf_probe_read_user_str(
            (*scratch)
                .data
                .as_mut_ptr()
                .add(at as usize)
                .cast::<c_void>(),
            room as u32,
            arg as *const c_void,
        )
    };
    if copied <= 0 {
        return LOOP_BREAK;
    }
    state.written = at + copied as u64;
    if copied as u64 == room && state.written >= state.limit {
        // The last argument may have been cut at the limit.
        state.truncated = 1;
        return LOOP_BREAK;
    }
    LOOP_CONTINUE
}

#[inline(always)]
pub(crate) fn report_failed_exec(tid: u32, ret: i64) {
    let Some(scratch) = EXEC_SCRATCH.get_ptr_mut(0) else {
        return;
    };
    // SAFETY: per-CPU scratch, exclusively ours while this program runs; the pending entry is only
    // read.
    unsafe {
        let record = &mut (*scratch).record;
        let data = (*scratch).data.as_mut_ptr();
        let pending = PENDING_EXEC.get_ptr(tid);
        let syscall = match pending {
            Some(p) => SyscallId::from_u32((*p).syscall),
            None => SyscallId::Unknown,
        };
        fill_header(&mut record.header, RecordKind::ExecFailed, syscall);
        record.result = ret;
        record.argv_len = 0;
        record.argv_full_len = 0;
        record.exe = PathSlot::default();
        record.cwd = PathSlot::default();
        match pending {
            Some(p) => {
                record.duration_ns = record.header.boot_ns.saturating_sub((*p).enter_ns);
                let mut limit = CONFIG.load().argv_limit as u64;
                if limit > ARGV_CAPACITY as u64 {
                    limit = ARGV_CAPACITY as u64;
                }
                let mut argv = ArgvState {
                    array: (*p).argv,
                    written: 0,
                    limit,
                    truncated: 0,
                };
                if argv.array != 0 {
                    helper::bpf_loop(
                        FAILED_EXEC_MAX_ARGS,
                        failed_exec_arg as *mut c_void,
                        (&mut argv as *mut ArgvState).cast::<c_void>(),
                        0,
                    );
                }
                let argv_len = (argv.written as usize) & (ARGV_CAPACITY * 2 - 1);
                let argv_len = if argv_len > ARGV_CAPACITY {
                    ARGV_CAPACITY
                } else {
                    argv_len
                };
                record.argv_len = argv_len as u32;
                record.argv_full_len = argv_len as u32 + argv.truncated as u32;
                if argv.truncated != 0 {
                    bump(counter::ARGV_TRUNCATED);
                }
                record.filename = copy_str(data, EXEC_DATA_CAPACITY, argv_len, (*p).filename, true);
            }
            None => {
                record.duration_ns = 0;
                record.filename = PathSlot::default();
                record.header.probe_error |= probe_error::NO_ENTER;
            }
        }
        let end = record.filename.offset as usize + record.filename.len as usize;
        let used = end & (EXEC_DATA_CAPACITY.next_power_of_two() * 2 - 1);
        record.data_len = used as u32;
        output_exec(scratch, size_of::<ExecRecord>() + used);
    }
}

/// Attached to `sys_exit_execve` and `sys_exit_execveat`.
#[tracepoint]
pub fn vigil_exit_execve(ctx: TracePointContext) -> u32 {
    exec_exit(&ctx)
}

/// The new image is in place: credentials, argument area and executable are the new ones.
#[tracepoint]
pub fn vigil_sched_process_exec(ctx: TracePointContext) -> u32 {
    let (tgid, _) = current_ids();
    if skip_event(tgid) {
        return 0;
    }
    let Some(scratch) = EXEC_SCRATCH.get_ptr_mut(0) else {
        return 0;
    };
    let fields = TRACEPOINT_FIELDS.load();
    let filename_loc = read_field::<u32>(&ctx, fields.exec_filename as usize);
    let old_pid = read_field::<i32>(&ctx, fields.exec_old_pid as usize) as u32;
    let offsets = OFFSETS.load();
    // SAFETY: per-CPU scratch, exclusively ours while this program runs.
    unsafe {
        let record = &mut (*scratch).record;
        let data = (*scratch).data.as_mut_ptr();
        let pending = PENDING_EXEC.get_ptr(old_pid);
        let syscall = match pending {
            Some(p) => SyscallId::from_u32((*p).syscall),
            None => SyscallId::Unknown,
        };
        fill_header(&mut record.header, RecordKind::Exec, syscall);
        record.result = 0;
        record.duration_ns = match pending {
            Some(p) => record.header.boot_ns.saturating_sub((*p).enter_ns),
            None => {
                record.header.probe_error |= probe_error::NO_ENTER;
                0
            }
        };

        // argv: the new image's argument area, NUL-separated, in one read.
        let mut used: usize = 0;
        record.argv_len = 0;
        record.argv_full_len = 0;
        let task = current_task();
        let mm = if offsets.valid != 0 {
            read_ptr(task + offsets.task_mm as u64)
        } else {
            0
        };
        // Zero when unreadable, which the test below refuses.
        let (start, end) = member_pair(mm, offsets.mm_arg_start as u64, offsets.mm_arg_end as u64);
        if start != 0 && end > start {
            let full = end - start;
            let limit = CONFIG.load().argv_limit as u64;
            let mut take = if full < limit { full } else { limit };
            if take > ARGV_CAPACITY as u64 {
                take = ARGV_CAPACITY as u64;
            }
            if take < full {
                bump(counter::ARGV_TRUNCATED);
            }
            let take = take as u32 & (ARGV_CAPACITY as u32 * 2 - 1);
            if take as usize <= ARGV_CAPACITY
                && helper::bpf_probe_read_user(data.cast::<c_void>(), take, start as *const c_void)
                    == 0
            {
                record.argv_len = take;
                record.argv_full_len = full as u32;
                used = take as usize;
            } else {
                record.header.probe_error |= probe_error::ARGV;
            }
        } else {
            record.header.probe_error |= probe_error::ARGV;
        }

        // The filename as given to exec (from the tracepoint's own copy).
        let filename_at = ctx.as_ptr() as u64 + (filename_loc & 0xffff) as u64;
        let at = used & (ARGV_CAPACITY * 2 - 1);
        record.filename = if at <= ARGV_CAPACITY {
            copy_str(data, EXEC_DATA_CAPACITY, at, filename_at, false)
        } else {
            PathSlot::default()
        };
        used = at + (record.filename.len as usize & (FILENAME_CAPACITY * 2 - 1));

        // The executable and the working directory, resolved by walking dentries.
        let exe_file = member_ptr(mm, offsets.mm_exe_file as u64);
        // No masking nor bound here: `walk_step` bounds-checks every write against the data
        // area. (A bound the values always meet leaves the verifier a path they do not, and
        // Linux 6.1's does not see that path is impossible: it refuses the walk's pointer there.)
        let at = used;
        record.exe = if exe_file != 0 {
            walk::<ExecArea>(at, exe_file + offsets.file_f_path as u64, &offsets).slot
        } else {
            record.header.probe_error |= probe_error::EXE;
            PathSlot::default()
        };
        used = at + (record.exe.len as usize & (PATH_CAPACITY * 2 - 1));

        let fs = if offsets.valid != 0 {
            read_ptr(task + offsets.task_fs as u64)
        } else {
            0
        };
        let at = used;
        record.cwd = if fs != 0 {
            walk::<ExecArea>(at, fs + offsets.fs_pwd as u64, &offsets).slot
        } else {
            record.header.probe_error |= probe_error::CWD;
            PathSlot::default()
        };
        used = at + (record.cwd.len as usize & (PATH_CAPACITY * 2 - 1));
        if record.exe.flags & path_flags::UNREADABLE != 0 {
            record.header.probe_error |= probe_error::EXE;
        }
        if record.cwd.flags & path_flags::UNREADABLE != 0 {
            record.header.probe_error |= probe_error::CWD;
        }
        record.data_len = used as u32;
        output_exec(scratch, size_of::<ExecRecord>() + used);
    }
    0
}

// ---- fork / clone ----------------------------------------------------------------------------

#[inline(always)]
pub(crate) fn fork_enter(syscall: SyscallId, flags: u64) -> u32 {
    let (tgid, tid) = current_ids();
    if skip_event(tgid) {
        return 0;
    }
    let pending = PendingFork {
        enter_ns: boot_ns(),
        flags,
        syscall: syscall as u32,
        _pad: 0,
    };
    if PENDING_FORK.insert(tid, pending, BPF_ANY).is_err() {
        bump(counter::PENDING_MAP_FULL);
    }
    0
}

entry_program!(vigil_enter_clone(ctx, syscall) {
    fork_enter(syscall, syscall_arg(&ctx, 0))
});

entry_program!(vigil_enter_clone3(ctx, syscall) {
    // `flags` is the first member of `struct clone_args` (uapi).
    let flags = read_user::<u64>(syscall_arg(&ctx, 0)).unwrap_or(0);
    fork_enter(syscall, flags)
});

entry_program!(vigil_enter_fork(_ctx, syscall) {
    fork_enter(syscall, 0)
});

entry_program!(vigil_enter_vfork(_ctx, syscall) {
    fork_enter(syscall, 0)
});

/// In the parent, the syscall returns the child's pid: report a new process (threads are not).
#[inline(always)]
pub(crate) fn fork_exit(ctx: &TracePointContext) -> u32 {
    let (tgid, tid) = current_ids();
    if skip_event(tgid) {
        return 0;
    }
    let Some(pending) = PENDING_FORK.get_ptr(tid) else {
        return 0;
    };
    // SAFETY: the entry is only read.
    let pending = unsafe { *pending };
    let ret = syscall_ret(ctx);
    let _ = PENDING_FORK.remove(tid);
    if ret <= 0 || pending.flags & CLONE_THREAD != 0 {
        return 0;
    }
    let Some(mut entry) = EVENTS.reserve::<ForkRecord>(0) else {
        bump(counter::RINGBUF_FULL_FORK);
        return 0;
    };
    let mut header = RecordHeader::default();
    fill_header(
        &mut header,
        RecordKind::Fork,
        SyscallId::from_u32(pending.syscall),
    );
    entry.write(ForkRecord {
        header,
        child_pid: ret,
        clone_flags: pending.flags,
        duration_ns: header.boot_ns.saturating_sub(pending.enter_ns),
    });
    entry.submit(0);
    0
}

/// Attached to `sys_exit_{clone,clone3,fork,vfork}`.
#[tracepoint]
pub fn vigil_exit_clone(ctx: TracePointContext) -> u32 {
    fork_exit(&ctx)
}

// ---- exit ------------------------------------------------------------------------------------

/// Processes whose exit was reported, for [`exit_mode::SIGNAL_LIVE`]: keyed by thread group id
/// and `signal_struct` address (unique among live processes; both are reused only long after an
/// LRU entry has aged out), so threads that end together report their process once.
#[map]
static EXITED: LruHashMap<ExitedKey, u8> = LruHashMap::with_max_entries(8192, 0);

#[repr(C)]
#[derive(Clone, Copy)]
struct ExitedKey {
    tgid: u32,
    _pad: u32,
    signal: u64,
}

const BPF_NOEXIST: u64 = 1;

/// Whether the current thread's end is its process's end, by the rule userspace chose for this
/// kernel.
#[inline(always)]
fn process_ends(ctx: &TracePointContext, tgid: u32, tid: u32) -> bool {
    let fields = TRACEPOINT_FIELDS.load();
    match fields.exit_mode {
        exit_mode::GROUP_DEAD => read_field::<u8>(ctx, fields.exit_group_dead as usize) != 0,
        exit_mode::SIGNAL_LIVE => {
            let signal = member_ptr(current_task(), fields.task_signal as u64);
            if signal == 0 {
                return tid == tgid;
            }
            // `atomic_t live`: its counter is the first (only) member.
            let (live, read) = member::<i32>(signal, fields.signal_live as u64);
            if !read || live != 0 {
                return false;
            }
            let key = ExitedKey {
                tgid,
                _pad: 0,
                signal,
            };
            // Only the first thread to get here reports: the insert fails for the others.
            EXITED.insert(&key, &1, BPF_NOEXIST).is_ok()
        }
        _ => tid == tgid,
    }
}

/// The last thread of a process exits; `exit_code` is already set by `do_exit`.
#[tracepoint]
pub fn vigil_sched_process_exit(ctx: TracePointContext) -> u32 {
    let (tgid, tid) = current_ids();
    if skip_event(tgid) {
        return 0;
    }
    if !process_ends(&ctx, tgid, tid) {
        return 0;
    }
    let offsets = OFFSETS.load();
    let mut header = RecordHeader::default();
    fill_header(&mut header, RecordKind::Exit, SyscallId::Exit);
    let (exit_code, read) = member::<u32>(current_task(), offsets.task_exit_code as u64);
    let read = read && offsets.valid != 0;
    if !read {
        header.probe_error |= probe_error::TASK_FIELDS;
    }
    let Some(mut entry) = EVENTS.reserve::<ExitRecord>(0) else {
        bump(counter::RINGBUF_FULL_EXIT);
        return 0;
    };
    entry.write(ExitRecord {
        header,
        exit_code: if read { exit_code } else { 0 },
        _pad: 0,
    });
    entry.submit(0);
    0
}
