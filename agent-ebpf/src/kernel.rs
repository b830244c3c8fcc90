//! What every probe shares: settings and offsets from userspace, the ring buffer and counters,
//! and small helpers to read the current task.

use core::{ffi::c_void, mem::size_of};

use aya_ebpf::{
    Global,
    helpers::generated as helper,
    macros::map,
    maps::{Array, PerCpuArray, RingBuf},
};
use vigil_ebpf_common::{
    DEFAULT_ARGV_LIMIT, KernelOffsets, ProbeConfig, RecordHeader, RecordKind, SyscallId, counter,
    probe_error,
};

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

#[unsafe(no_mangle)]
pub(crate) static OFFSETS: Global<KernelOffsets> = Global::new(KernelOffsets::UNRESOLVED);

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

/// Reads a `T` at `addr` with `probe` (the kernel- or user-memory helper); `None` when the read
/// faults. Generic over the helper so each use compiles to a direct call (BPF has no indirect
/// calls).
#[inline(always)]
fn probe_read<T: Copy>(
    probe: impl FnOnce(*mut c_void, u32, *const c_void) -> i64,
    addr: u64,
) -> Option<T> {
    let mut value = core::mem::MaybeUninit::<T>::uninit();
    let ret = probe(
        value.as_mut_ptr().cast::<c_void>(),
        size_of::<T>() as u32,
        addr as *const c_void,
    );
    // SAFETY: on success the helper filled every byte.
    (ret == 0).then(|| unsafe { value.assume_init() })
}

#[inline(always)]
pub(crate) fn read_kernel<T: Copy>(addr: u64) -> Option<T> {
    // SAFETY: the helper writes at most `size` bytes to `dst` and reports faults.
    probe_read(
        |dst, size, src| unsafe { helper::bpf_probe_read_kernel(dst, size, src) },
        addr,
    )
}

#[inline(always)]
pub(crate) fn read_user<T: Copy>(addr: u64) -> Option<T> {
    // SAFETY: as above, for user memory.
    probe_read(
        |dst, size, src| unsafe { helper::bpf_probe_read_user(dst, size, src) },
        addr,
    )
}

#[inline(always)]
pub(crate) fn current_task() -> u64 {
    // SAFETY: a helper without arguments.
    unsafe { helper::bpf_get_current_task() }
}

/// Fills the identity part every record shares.
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

/// The `struct file` behind descriptor `fd` of the current task (`files->fdt->fd[fd]`).
#[inline(always)]
pub(crate) fn fd_file(fd: i64) -> Option<u64> {
    let offsets = OFFSETS.load();
    if offsets.valid == 0 || fd < 0 {
        return None;
    }
    let files = read_kernel::<u64>(current_task() + offsets.task_files as u64)?;
    let fdt = read_kernel::<u64>(files + offsets.files_fdt as u64)?;
    let max_fds = read_kernel::<u32>(fdt + offsets.fdtable_max_fds as u64)?;
    if fd as u64 >= max_fds as u64 {
        return None;
    }
    let array = read_kernel::<u64>(fdt + offsets.fdtable_fd as u64)?;
    read_kernel::<u64>(array + fd as u64 * 8).filter(|&file| file != 0)
}
