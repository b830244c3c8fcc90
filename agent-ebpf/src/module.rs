//! Kernel module probes: loads (init_module from memory, finit_module from a file) and unloads
//! (delete_module), with their results.
//!
//! The entry half remembers the arguments. The exit half knows the result and reads what the
//! arguments name: for finit_module, the file behind the descriptor, walked from its
//! `struct file` as file events walk theirs (a module loaded from `/proc/self/fd/N` or a memfd
//! shows where it really is); the parameters string; delete_module's module name.

use core::mem::size_of;

use aya_ebpf::{
    macros::{map, tracepoint},
    maps::{LruHashMap, PerCpuArray},
    programs::TracePointContext,
};
use vigil_ebpf_common::{
    FILENAME_CAPACITY, MODULE_DATA_CAPACITY, ModuleRecord, ModuleScratch, PATH_CAPACITY, PathSlot,
    RecordKind, SyscallId, counter, path_flags,
};

use crate::{
    kernel::{
        BPF_ANY, EVENTS, OFFSETS, boot_ns, bump, current_ids, fd_file, fill_header, skip_event,
        syscall_arg, syscall_ret,
    },
    path::{WalkTarget, copy_str, walk},
};

/// What a module call's entry saw.
#[repr(C)]
#[derive(Clone, Copy)]
struct PendingModule {
    enter_ns: u64,
    /// init_module: the image's length.
    image_len: u64,
    /// The parameters string (user pointer), 0 when the call has none.
    params: u64,
    /// delete_module: the name (user pointer), 0 for loads.
    name: u64,
    fd: i64,
    flags: u64,
    syscall: u32,
    _pad: u32,
}

impl PendingModule {
    const fn new(syscall: SyscallId) -> Self {
        Self {
            enter_ns: 0,
            image_len: 0,
            params: 0,
            name: 0,
            fd: -1,
            flags: 0,
            syscall: syscall as u32,
            _pad: 0,
        }
    }
}

#[map]
static PENDING_MODULE: LruHashMap<u32, PendingModule> = LruHashMap::with_max_entries(1024, 0);

/// Per-CPU working memory for module records, too large for the 512-byte BPF stack: the exit
/// program builds its record here, and the walk it starts writes the file's path into it.
#[map]
static MODULE_SCRATCH: PerCpuArray<ModuleScratch> = PerCpuArray::with_max_entries(1, 0);

/// Walks into the module scratch record.
struct ModuleArea;

impl WalkTarget for ModuleArea {
    const CAPACITY: usize = MODULE_DATA_CAPACITY;
    const FILTERS: bool = false;

    #[inline(always)]
    fn data() -> Option<*mut u8> {
        // SAFETY: a per-CPU scratch value, exclusively ours while this program runs.
        MODULE_SCRATCH
            .get_ptr_mut(0)
            .map(|scratch| unsafe { (*scratch).data.as_mut_ptr() })
    }
}

#[inline(always)]
fn module_enter(mut pending: PendingModule) -> u32 {
    let (tgid, tid) = current_ids();
    if skip_event(tgid) {
        return 0;
    }
    pending.enter_ns = boot_ns();
    if PENDING_MODULE.insert(tid, pending, BPF_ANY).is_err() {
        bump(counter::PENDING_MAP_FULL);
    }
    0
}

entry_program!(vigil_enter_init_module(ctx, syscall) {
    let mut pending = PendingModule::new(syscall);
    pending.image_len = syscall_arg(&ctx, 1);
    pending.params = syscall_arg(&ctx, 2);
    module_enter(pending)
});

entry_program!(vigil_enter_finit_module(ctx, syscall) {
    let mut pending = PendingModule::new(syscall);
    pending.fd = syscall_arg(&ctx, 0) as i32 as i64;
    pending.params = syscall_arg(&ctx, 1);
    pending.flags = syscall_arg(&ctx, 2) as u32 as u64;
    module_enter(pending)
});

entry_program!(vigil_enter_delete_module(ctx, syscall) {
    let mut pending = PendingModule::new(syscall);
    pending.name = syscall_arg(&ctx, 0);
    pending.flags = syscall_arg(&ctx, 1) as u32 as u64;
    module_enter(pending)
});

/// The exit half of every module syscall: one program, attached by userspace to each
/// `sys_exit_*` tracepoint, so the kernel verifies it once.
#[tracepoint]
pub fn vigil_exit_module(ctx: TracePointContext) -> u32 {
    module_exit(&ctx)
}

#[inline(always)]
fn module_exit(ctx: &TracePointContext) -> u32 {
    let (tgid, tid) = current_ids();
    if skip_event(tgid) {
        return 0;
    }
    let Some(pending) = PENDING_MODULE.get_ptr(tid) else {
        return 0;
    };
    // SAFETY: the entry is only read, then removed.
    let pending = unsafe { *pending };
    let _ = PENDING_MODULE.remove(tid);
    let Some(scratch) = MODULE_SCRATCH.get_ptr_mut(0) else {
        return 0;
    };
    let ret = syscall_ret(ctx);
    let offsets = OFFSETS.load();
    // SAFETY: per-CPU scratch, exclusively ours while this program runs.
    unsafe {
        let record: &mut ModuleRecord = &mut (*scratch).record;
        let data = (*scratch).data.as_mut_ptr();
        fill_header(
            &mut record.header,
            RecordKind::Module,
            SyscallId::from_u32(pending.syscall),
        );
        record.result = ret;
        record.duration_ns = boot_ns().saturating_sub(pending.enter_ns);
        record.image_len = pending.image_len;
        record.fd = pending.fd as i32;
        record.flags = pending.flags as u32;
        record.name = PathSlot::default();
        record.file = PathSlot::default();
        record.params = PathSlot::default();

        // The module file (finit_module): walked from the descriptor's `struct file`.
        let mut used: usize = 0;
        if pending.fd >= 0 {
            let file = fd_file(pending.fd);
            if file != 0 {
                record.file =
                    walk::<ModuleArea>(0, file + offsets.file_f_path as u64, &offsets).slot;
                used = record.file.len as usize & (PATH_CAPACITY * 2 - 1);
            } else {
                record.file.flags = path_flags::UNREADABLE;
            }
        }

        // Then the one string the call has: delete_module's name, or the loads' parameters.
        let text = if pending.name != 0 {
            pending.name
        } else {
            pending.params
        };
        if text != 0 {
            let at = used & (PATH_CAPACITY * 2 - 1);
            let slot = copy_str(data, MODULE_DATA_CAPACITY, at, text, true);
            used = at + (slot.len as usize & (FILENAME_CAPACITY * 2 - 1));
            if pending.name != 0 {
                record.name = slot;
            } else {
                record.params = slot;
            }
        }

        record.data_len = used as u32;
        let size = size_of::<ModuleRecord>() + used;
        if size > size_of::<ModuleScratch>() {
            return 0;
        }
        let bytes = core::slice::from_raw_parts(scratch.cast::<u8>(), size);
        if EVENTS.output::<[u8]>(bytes, 0).is_err() {
            bump(counter::RINGBUF_FULL_MODULE);
        }
    }
    0
}
