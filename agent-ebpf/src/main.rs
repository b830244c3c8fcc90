//! vigil's process probes: exec (success and failure), fork/clone, exit.
//!
//! Only tracepoints are used: they load on every kernel vigil supports, including those where
//! kprobes, fentry and BPF LSM are unavailable. Kernel struct fields are read at offsets that
//! userspace resolved from the running kernel's BTF ([`KernelOffsets`]); tracepoint fields are read
//! at their `format` offsets, which are a stable ABI.
#![no_std]
#![no_main]

use core::{ffi::c_void, mem::size_of};

use aya_ebpf::{
    EbpfContext, Global,
    helpers::generated as helper,
    macros::{map, tracepoint},
    maps::{LruHashMap, PerCpuArray, RingBuf},
    programs::TracePointContext,
};
use vigil_ebpf_common::{
    ARGV_CAPACITY, CLONE_THREAD, COMPONENT_CAPACITY, DEFAULT_ARGV_LIMIT, EXEC_DATA_CAPACITY,
    ExecRecord, ExecScratch, ExitRecord, FILENAME_CAPACITY, ForkRecord, KernelOffsets,
    PATH_CAPACITY, PATH_DEPTH_LIMIT, PathSlot, ProbeConfig, RecordHeader, RecordKind, SyscallId,
    counter, path_flags, probe_error,
};

#[unsafe(no_mangle)]
static CONFIG: Global<ProbeConfig> = Global::new(ProbeConfig {
    agent_tgid: 0,
    argv_limit: DEFAULT_ARGV_LIMIT,
});

#[unsafe(no_mangle)]
static OFFSETS: Global<KernelOffsets> = Global::new(KernelOffsets::UNRESOLVED);

/// Records for userspace. Userspace sets the size at load time (`--bpf_ringbuf_size`).
#[map]
static EVENTS: RingBuf = RingBuf::with_byte_size(8 * 1024 * 1024, 0);

/// Drop and truncation counters, indexed by [`counter`].
#[map]
static COUNTERS: PerCpuArray<u64> = PerCpuArray::with_max_entries(counter::COUNT, 0);

/// Working memory for exec records: far larger than the 512-byte BPF stack.
#[map]
static EXEC_SCRATCH: PerCpuArray<ExecScratch> = PerCpuArray::with_max_entries(1, 0);

/// What an exec's entry saw, kept until its exit (or the new image's first event).
#[repr(C)]
struct PendingExec {
    enter_ns: u64,
    syscall: u32,
    filename_len: u32,
    filename: [u8; FILENAME_CAPACITY],
}

#[map]
static PENDING_EXEC_SCRATCH: PerCpuArray<PendingExec> = PerCpuArray::with_max_entries(1, 0);

/// Keyed by thread id. LRU so an entry whose exit never came (a thread that exec'd and took over
/// its leader's id) is evicted rather than leaked.
#[map]
static PENDING_EXEC: LruHashMap<u32, PendingExec> = LruHashMap::with_max_entries(8192, 0);

#[repr(C)]
#[derive(Clone, Copy)]
struct PendingFork {
    enter_ns: u64,
    flags: u64,
    syscall: u32,
    _pad: u32,
}

#[map]
static PENDING_FORK: LruHashMap<u32, PendingFork> = LruHashMap::with_max_entries(8192, 0);

const BPF_ANY: u64 = 0;

#[inline(always)]
fn bump(index: u32) {
    if let Some(slot) = COUNTERS.get_ptr_mut(index) {
        // SAFETY: a per-CPU slot; nothing else on this CPU runs while we hold it.
        unsafe { *slot += 1 };
    }
}

#[inline(always)]
fn current_ids() -> (u32, u32) {
    let pid_tgid = helper_pid_tgid();
    ((pid_tgid >> 32) as u32, pid_tgid as u32)
}

#[inline(always)]
fn helper_pid_tgid() -> u64 {
    // SAFETY: a helper without arguments.
    unsafe { helper::bpf_get_current_pid_tgid() }
}

#[inline(always)]
fn is_agent(tgid: u32) -> bool {
    let agent = CONFIG.load().agent_tgid;
    agent != 0 && agent == tgid
}

#[inline(always)]
fn boot_ns() -> u64 {
    // SAFETY: a helper without arguments.
    unsafe { helper::bpf_ktime_get_boot_ns() }
}

/// Reads a `T` from kernel memory at `addr`; `None` when the read faults.
#[inline(always)]
fn read_kernel<T: Copy>(addr: u64) -> Option<T> {
    let mut value = core::mem::MaybeUninit::<T>::uninit();
    // SAFETY: the helper writes at most size_of::<T>() bytes into `value` and reports faults.
    let ret = unsafe {
        helper::bpf_probe_read_kernel(
            value.as_mut_ptr().cast::<c_void>(),
            size_of::<T>() as u32,
            addr as *const c_void,
        )
    };
    if ret == 0 {
        // SAFETY: the helper filled every byte.
        Some(unsafe { value.assume_init() })
    } else {
        None
    }
}

#[inline(always)]
fn read_user<T: Copy>(addr: u64) -> Option<T> {
    let mut value = core::mem::MaybeUninit::<T>::uninit();
    // SAFETY: as in `read_kernel`, for user memory.
    let ret = unsafe {
        helper::bpf_probe_read_user(
            value.as_mut_ptr().cast::<c_void>(),
            size_of::<T>() as u32,
            addr as *const c_void,
        )
    };
    if ret == 0 {
        // SAFETY: the helper filled every byte.
        Some(unsafe { value.assume_init() })
    } else {
        None
    }
}

#[inline(always)]
fn current_task() -> u64 {
    // SAFETY: a helper without arguments.
    unsafe { helper::bpf_get_current_task() }
}

/// Fills the identity part every record shares.
#[inline(always)]
fn fill_header(header: &mut RecordHeader, kind: RecordKind, syscall: SyscallId) {
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
    let parent = read_kernel::<u64>(task + offsets.task_real_parent as u64);
    let ppid = parent.and_then(|parent| read_kernel::<u32>(parent + offsets.task_tgid as u64));
    let cred = read_kernel::<u64>(task + offsets.task_cred as u64);
    let euid = cred.and_then(|cred| read_kernel::<u32>(cred + offsets.cred_euid as u64));
    let egid = cred.and_then(|cred| read_kernel::<u32>(cred + offsets.cred_egid as u64));
    match (ppid, euid, egid) {
        (Some(ppid), Some(euid), Some(egid)) => {
            header.ppid = ppid;
            header.euid = euid;
            header.egid = egid;
        }
        _ => header.probe_error |= probe_error::TASK_FIELDS,
    }
}

/// State of one path walk, shared with [`walk_step`] across `bpf_loop` iterations.
#[repr(C)]
struct WalkState {
    /// Where in the exec scratch data area this path's components go.
    base: u64,
    /// Bytes written so far.
    written: u64,
    vfsmount: u64,
    dentry: u64,
    components: u32,
    /// `path_flags` bits; COMPLETE once the walk reached the root.
    flags: u32,
}

const LOOP_CONTINUE: i64 = 0;
const LOOP_BREAK: i64 = 1;

/// One step up a path: crosses a mount point, or copies one component (leaf first, each followed
/// by a NUL) and moves to the parent dentry. Runs under `bpf_loop`, so the verifier checks the
/// body once instead of once per level.
extern "C" fn walk_step(_index: u64, ctx: *mut c_void) -> i64 {
    // SAFETY: `ctx` is the `WalkState` that `walk_path` passed to `bpf_loop`.
    let state = unsafe { &mut *ctx.cast::<WalkState>() };
    let offsets = OFFSETS.load();
    let Some(scratch) = EXEC_SCRATCH.get_ptr_mut(0) else {
        return LOOP_BREAK;
    };
    let Some(mnt_root) = read_kernel::<u64>(state.vfsmount + offsets.vfsmount_root as u64) else {
        return LOOP_BREAK;
    };
    if state.dentry == mnt_root {
        // The top of this mount: continue from the dentry it is mounted on, in the parent mount,
        // unless this is the root mount (its parent is itself).
        let mount = state.vfsmount - offsets.mount_mnt as u64;
        let Some(parent) = read_kernel::<u64>(mount + offsets.mount_parent as u64) else {
            return LOOP_BREAK;
        };
        if parent == mount {
            state.flags |= path_flags::COMPLETE;
            return LOOP_BREAK;
        }
        let Some(mountpoint) = read_kernel::<u64>(mount + offsets.mount_mountpoint as u64) else {
            return LOOP_BREAK;
        };
        state.dentry = mountpoint;
        state.vfsmount = parent + offsets.mount_mnt as u64;
        return LOOP_CONTINUE;
    }
    let Some(parent) = read_kernel::<u64>(state.dentry + offsets.dentry_parent as u64) else {
        return LOOP_BREAK;
    };
    if parent == state.dentry {
        state.flags |= path_flags::COMPLETE;
        return LOOP_BREAK;
    }
    let Some(name) =
        read_kernel::<u64>(state.dentry + offsets.dentry_name as u64 + offsets.qstr_name as u64)
    else {
        return LOOP_BREAK;
    };
    if state.written > (PATH_CAPACITY - COMPONENT_CAPACITY) as u64 {
        state.flags |= path_flags::TRUNCATED;
        return LOOP_BREAK;
    }
    let at = (state.base + state.written) as usize;
    if at > EXEC_DATA_CAPACITY - COMPONENT_CAPACITY {
        state.flags |= path_flags::TRUNCATED;
        return LOOP_BREAK;
    }
    // SAFETY: `at + COMPONENT_CAPACITY` is within the data area (checked above); the helper
    // writes at most COMPONENT_CAPACITY bytes including the NUL.
    let copied = unsafe {
        helper::bpf_probe_read_kernel_str(
            (*scratch).data.as_mut_ptr().add(at).cast::<c_void>(),
            COMPONENT_CAPACITY as u32,
            name as *const c_void,
        )
    };
    if copied <= 0 {
        return LOOP_BREAK;
    }
    state.written += copied as u64;
    state.components += 1;
    state.dentry = parent;
    LOOP_CONTINUE
}

/// Walks a `struct path` (at `path_addr`) up to the global root, writing its components into the
/// exec scratch data area at `base`. Crosses mount points through `struct mount`.
#[inline(always)]
fn walk_path(base: usize, path_addr: u64, offsets: &KernelOffsets) -> PathSlot {
    let mut slot = PathSlot {
        offset: base as u32,
        len: 0,
        flags: 0,
        components: 0,
    };
    let (Some(vfsmount), Some(dentry)) = (
        read_kernel::<u64>(path_addr + offsets.path_mnt as u64),
        read_kernel::<u64>(path_addr + offsets.path_dentry as u64),
    ) else {
        slot.flags = path_flags::UNREADABLE;
        return slot;
    };
    let mut state = WalkState {
        base: base as u64,
        written: 0,
        vfsmount,
        dentry,
        components: 0,
        flags: 0,
    };
    // SAFETY: `walk_step` has the callback signature bpf_loop expects and only touches `state`.
    unsafe {
        helper::bpf_loop(
            PATH_DEPTH_LIMIT,
            walk_step as *mut c_void,
            (&mut state as *mut WalkState).cast::<c_void>(),
            0,
        );
    }
    slot.len = state.written as u32;
    slot.components = state.components;
    slot.flags = if state.flags & path_flags::COMPLETE != 0 {
        path_flags::COMPLETE
    } else {
        path_flags::TRUNCATED
    };
    slot
}

/// Copies a NUL-terminated string (kernel or user) into `data[at..]`, at most FILENAME_CAPACITY.
#[inline(always)]
fn copy_str(data: *mut u8, at: usize, src: u64, user: bool) -> PathSlot {
    let mut slot = PathSlot {
        offset: at as u32,
        len: 0,
        flags: path_flags::UNREADABLE,
        components: 0,
    };
    if at > EXEC_DATA_CAPACITY - FILENAME_CAPACITY {
        return slot;
    }
    // SAFETY: `at + FILENAME_CAPACITY` is within the data area (checked above).
    let copied = unsafe {
        let dst = data.add(at).cast::<c_void>();
        if user {
            helper::bpf_probe_read_user_str(dst, FILENAME_CAPACITY as u32, src as *const c_void)
        } else {
            helper::bpf_probe_read_kernel_str(dst, FILENAME_CAPACITY as u32, src as *const c_void)
        }
    };
    if copied > 0 {
        slot.len = copied as u32;
        slot.flags = path_flags::COMPLETE;
        slot.components = 1;
    }
    slot
}

/// Sends the first `size` bytes of an exec scratch record.
#[inline(always)]
fn output_exec(scratch: *mut ExecScratch, size: usize) {
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
fn exec_enter(ctx: &TracePointContext, syscall: SyscallId, filename_offset: usize) -> u32 {
    let (tgid, tid) = current_ids();
    if is_agent(tgid) {
        return 0;
    }
    let Some(pending) = PENDING_EXEC_SCRATCH.get_ptr_mut(0) else {
        return 0;
    };
    // SAFETY: tracepoint field at its `format` offset.
    let filename: u64 = unsafe { ctx.read_at(filename_offset) }.unwrap_or(0);
    // SAFETY: per-CPU scratch, exclusively ours while this program runs.
    unsafe {
        (*pending).enter_ns = boot_ns();
        (*pending).syscall = syscall as u32;
        let copied = helper::bpf_probe_read_user_str(
            (*pending).filename.as_mut_ptr().cast::<c_void>(),
            FILENAME_CAPACITY as u32,
            filename as *const c_void,
        );
        (*pending).filename_len = if copied > 0 { copied as u32 } else { 0 };
        if PENDING_EXEC.insert(tid, &*pending, BPF_ANY).is_err() {
            bump(counter::PENDING_MAP_FULL);
        }
    }
    0
}

#[tracepoint(category = "syscalls", name = "sys_enter_execve")]
pub fn vigil_enter_execve(ctx: TracePointContext) -> u32 {
    exec_enter(&ctx, SyscallId::Execve, 16)
}

#[tracepoint(category = "syscalls", name = "sys_enter_execveat")]
pub fn vigil_enter_execveat(ctx: TracePointContext) -> u32 {
    exec_enter(&ctx, SyscallId::Execveat, 24)
}

/// A failed exec: report it with the filename its entry saw. A successful one was reported by
/// `sched_process_exec`; either way the pending entry is done.
#[inline(always)]
fn exec_exit(ctx: &TracePointContext) -> u32 {
    let (tgid, tid) = current_ids();
    if is_agent(tgid) {
        return 0;
    }
    // SAFETY: tracepoint field at its `format` offset.
    let ret: i64 = unsafe { ctx.read_at(16) }.unwrap_or(0);
    if ret < 0 {
        report_failed_exec(tid, ret);
    }
    let _ = PENDING_EXEC.remove(tid);
    0
}

#[inline(always)]
fn report_failed_exec(tid: u32, ret: i64) {
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
                record.duration_ns = boot_ns().saturating_sub((*p).enter_ns);
                record.filename = copy_str(data, 0, (*p).filename.as_ptr() as u64, false);
            }
            None => {
                record.duration_ns = 0;
                record.filename = PathSlot::default();
                record.header.probe_error |= probe_error::NO_ENTER;
            }
        }
        let used = (record.filename.len as usize) & (FILENAME_CAPACITY * 2 - 1);
        record.data_len = used as u32;
        output_exec(scratch, size_of::<ExecRecord>() + used);
    }
}

#[tracepoint(category = "syscalls", name = "sys_exit_execve")]
pub fn vigil_exit_execve(ctx: TracePointContext) -> u32 {
    exec_exit(&ctx)
}

#[tracepoint(category = "syscalls", name = "sys_exit_execveat")]
pub fn vigil_exit_execveat(ctx: TracePointContext) -> u32 {
    exec_exit(&ctx)
}

/// The new image is in place: credentials, argument area and executable are the new ones.
#[tracepoint(category = "sched", name = "sched_process_exec")]
pub fn vigil_sched_process_exec(ctx: TracePointContext) -> u32 {
    let (tgid, _) = current_ids();
    if is_agent(tgid) {
        return 0;
    }
    let Some(scratch) = EXEC_SCRATCH.get_ptr_mut(0) else {
        return 0;
    };
    // SAFETY: tracepoint fields at their `format` offsets.
    let (filename_loc, old_pid) = unsafe {
        (
            ctx.read_at::<u32>(8).unwrap_or(0),
            ctx.read_at::<i32>(16).unwrap_or(0) as u32,
        )
    };
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
            Some(p) => boot_ns().saturating_sub((*p).enter_ns),
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
            read_kernel::<u64>(task + offsets.task_mm as u64)
        } else {
            None
        };
        let arg_area = mm.and_then(|mm| {
            Some((
                read_kernel::<u64>(mm + offsets.mm_arg_start as u64)?,
                read_kernel::<u64>(mm + offsets.mm_arg_end as u64)?,
            ))
        });
        match arg_area {
            Some((start, end)) if end > start => {
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
                    && helper::bpf_probe_read_user(
                        data.cast::<c_void>(),
                        take,
                        start as *const c_void,
                    ) == 0
                {
                    record.argv_len = take;
                    record.argv_full_len = full as u32;
                    used = take as usize;
                } else {
                    record.header.probe_error |= probe_error::ARGV;
                }
            }
            _ => record.header.probe_error |= probe_error::ARGV,
        }

        // The filename as given to exec (from the tracepoint's own copy).
        let filename_at = ctx.as_ptr() as u64 + (filename_loc & 0xffff) as u64;
        let at = used & (ARGV_CAPACITY * 2 - 1);
        record.filename = if at <= ARGV_CAPACITY {
            copy_str(data, at, filename_at, false)
        } else {
            PathSlot::default()
        };
        used = at + (record.filename.len as usize & (FILENAME_CAPACITY * 2 - 1));

        // The executable and the working directory, resolved by walking dentries.
        let exe_file = mm.and_then(|mm| read_kernel::<u64>(mm + offsets.mm_exe_file as u64));
        // No masking here: `walk_step` bounds-checks every write against the data area.
        let at = used;
        record.exe = match exe_file {
            Some(file) if file != 0 && at <= ARGV_CAPACITY + FILENAME_CAPACITY => {
                walk_path(at, file + offsets.file_f_path as u64, &offsets)
            }
            _ => {
                record.header.probe_error |= probe_error::EXE;
                PathSlot::default()
            }
        };
        used = at + (record.exe.len as usize & (PATH_CAPACITY * 2 - 1));

        let fs = if offsets.valid != 0 {
            read_kernel::<u64>(task + offsets.task_fs as u64)
        } else {
            None
        };
        let at = used;
        record.cwd = match fs {
            Some(fs) if fs != 0 && at <= ARGV_CAPACITY + FILENAME_CAPACITY + PATH_CAPACITY * 2 => {
                walk_path(at, fs + offsets.fs_pwd as u64, &offsets)
            }
            _ => {
                record.header.probe_error |= probe_error::CWD;
                PathSlot::default()
            }
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
fn fork_enter(syscall: SyscallId, flags: u64) -> u32 {
    let (tgid, tid) = current_ids();
    if is_agent(tgid) {
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

#[tracepoint(category = "syscalls", name = "sys_enter_clone")]
pub fn vigil_enter_clone(ctx: TracePointContext) -> u32 {
    // SAFETY: tracepoint field at its `format` offset.
    let flags: u64 = unsafe { ctx.read_at(16) }.unwrap_or(0);
    fork_enter(SyscallId::Clone, flags)
}

#[tracepoint(category = "syscalls", name = "sys_enter_clone3")]
pub fn vigil_enter_clone3(ctx: TracePointContext) -> u32 {
    // SAFETY: tracepoint field at its `format` offset.
    let args: u64 = unsafe { ctx.read_at(16) }.unwrap_or(0);
    // `flags` is the first member of `struct clone_args` (uapi).
    let flags = read_user::<u64>(args).unwrap_or(0);
    fork_enter(SyscallId::Clone3, flags)
}

#[tracepoint(category = "syscalls", name = "sys_enter_fork")]
pub fn vigil_enter_fork(_ctx: TracePointContext) -> u32 {
    fork_enter(SyscallId::Fork, 0)
}

#[tracepoint(category = "syscalls", name = "sys_enter_vfork")]
pub fn vigil_enter_vfork(_ctx: TracePointContext) -> u32 {
    fork_enter(SyscallId::Vfork, 0)
}

/// In the parent, the syscall returns the child's pid: report a new process (threads are not).
#[inline(always)]
fn fork_exit(ctx: &TracePointContext) -> u32 {
    let (tgid, tid) = current_ids();
    if is_agent(tgid) {
        return 0;
    }
    let Some(pending) = PENDING_FORK.get_ptr(tid) else {
        return 0;
    };
    // SAFETY: the entry is only read; tracepoint field at its `format` offset.
    let (pending, ret) = unsafe { (*pending, ctx.read_at::<i64>(16).unwrap_or(0)) };
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
        duration_ns: boot_ns().saturating_sub(pending.enter_ns),
    });
    entry.submit(0);
    0
}

#[tracepoint(category = "syscalls", name = "sys_exit_clone")]
pub fn vigil_exit_clone(ctx: TracePointContext) -> u32 {
    fork_exit(&ctx)
}

#[tracepoint(category = "syscalls", name = "sys_exit_clone3")]
pub fn vigil_exit_clone3(ctx: TracePointContext) -> u32 {
    fork_exit(&ctx)
}

#[tracepoint(category = "syscalls", name = "sys_exit_fork")]
pub fn vigil_exit_fork(ctx: TracePointContext) -> u32 {
    fork_exit(&ctx)
}

#[tracepoint(category = "syscalls", name = "sys_exit_vfork")]
pub fn vigil_exit_vfork(ctx: TracePointContext) -> u32 {
    fork_exit(&ctx)
}

// ---- exit ------------------------------------------------------------------------------------

/// The last thread of a process exits (`group_dead`); `exit_code` is already set by `do_exit`.
#[tracepoint(category = "sched", name = "sched_process_exit")]
pub fn vigil_sched_process_exit(ctx: TracePointContext) -> u32 {
    let (tgid, _) = current_ids();
    if is_agent(tgid) {
        return 0;
    }
    // SAFETY: tracepoint field at its `format` offset (`bool group_dead`).
    let group_dead: u8 = unsafe { ctx.read_at(32) }.unwrap_or(0);
    if group_dead == 0 {
        return 0;
    }
    let offsets = OFFSETS.load();
    let mut header = RecordHeader::default();
    fill_header(&mut header, RecordKind::Exit, SyscallId::Exit);
    let exit_code = if offsets.valid != 0 {
        read_kernel::<u32>(current_task() + offsets.task_exit_code as u64)
    } else {
        None
    };
    if exit_code.is_none() {
        header.probe_error |= probe_error::TASK_FIELDS;
    }
    let Some(mut entry) = EVENTS.reserve::<ExitRecord>(0) else {
        bump(counter::RINGBUF_FULL_EXIT);
        return 0;
    };
    entry.write(ExitRecord {
        header,
        exit_code: exit_code.unwrap_or(0),
        _pad: 0,
    });
    entry.submit(0);
    0
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {}
}

#[unsafe(link_section = "license")]
#[unsafe(no_mangle)]
static LICENSE: [u8; 13] = *b"Dual MIT/GPL\0";
