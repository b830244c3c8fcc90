//! File probes: opens for writing (and, when asked, for reading), create, truncate, unlink,
//! rmdir, rename, chmod, chown, link, symlink, mkdir, in all their `*at` and fd forms.
//!
//! The entry half remembers the arguments. The exit half knows the result and reads the paths:
//! for an open that succeeded, or a call on an fd, the file's own full path (walked from its
//! `struct file`); otherwise the name as the caller gave it plus the directory it is relative to
//! (the dirfd's, or the working directory), which userspace joins and normalises.

use core::mem::size_of;

use aya_ebpf::{
    macros::{map, tracepoint},
    maps::{LruHashMap, PerCpuArray},
    programs::TracePointContext,
};
use vigil_ebpf_common::{
    FILE_DATA_CAPACITY, FILENAME_CAPACITY, FileRecord, FileScratch, PATH_CAPACITY, PathSlot,
    RecordKind, SyscallId, counter, file_filter, filter_mode,
};

use crate::{
    kernel::{
        BPF_ANY, CONFIG, EVENTS, OFFSETS, boot_ns, bump, current_ids, current_task, fd_file,
        fill_header, member, member_ptr, read_ptr, read_user, skip_event,
    },
    path::{WalkTarget, copy_str, walk},
};

const AT_FDCWD: i64 = -100;
const AT_REMOVEDIR: u64 = 0x200;
const O_ACCMODE: u64 = 0o3;
const O_CREAT: u64 = 0o100;
const O_TRUNC: u64 = 0o1000;
const O_WRONLY: u64 = 0o1;

/// What a file call's entry saw.
#[repr(C)]
#[derive(Clone, Copy)]
struct PendingFile {
    enter_ns: u64,
    /// The first name argument (user pointer), 0 for calls on an fd.
    first: u64,
    /// The second name (rename, link, symlink destinations), 0 when none.
    second: u64,
    first_dfd: i64,
    second_dfd: i64,
    fd: i64,
    flags: u64,
    mode: u64,
    size: i64,
    uid: u32,
    gid: u32,
    syscall: u32,
    _pad: u32,
}

impl PendingFile {
    const fn new(syscall: SyscallId) -> Self {
        Self {
            enter_ns: 0,
            first: 0,
            second: 0,
            first_dfd: AT_FDCWD,
            second_dfd: AT_FDCWD,
            fd: -1,
            flags: 0,
            mode: 0,
            size: 0,
            uid: u32::MAX,
            gid: u32::MAX,
            syscall: syscall as u32,
            _pad: 0,
        }
    }
}

#[map]
static PENDING_FILE: LruHashMap<u32, PendingFile> = LruHashMap::with_max_entries(8192, 0);

/// Per-CPU working memory for file records, too large for the 512-byte BPF stack: the exit
/// program builds its record here, and the walks it starts write paths into its data area.
#[map]
static FILE_SCRATCH: PerCpuArray<FileScratch> = PerCpuArray::with_max_entries(1, 0);

/// Walks into the file scratch record, noting the configured directories they pass.
struct FileArea;

impl WalkTarget for FileArea {
    const CAPACITY: usize = FILE_DATA_CAPACITY;
    const FILTERS: bool = true;

    #[inline(always)]
    fn data() -> Option<*mut u8> {
        // SAFETY: a per-CPU scratch value, exclusively ours while this program runs.
        FILE_SCRATCH
            .get_ptr_mut(0)
            .map(|scratch| unsafe { (*scratch).data.as_mut_ptr() })
    }
}

fn is_open(syscall: u32) -> bool {
    syscall == SyscallId::Open as u32
        || syscall == SyscallId::Openat as u32
        || syscall == SyscallId::Openat2 as u32
        || syscall == SyscallId::Creat as u32
}

/// An open that neither writes, creates nor truncates.
fn is_read_only_open(pending: &PendingFile) -> bool {
    is_open(pending.syscall)
        && pending.flags & O_ACCMODE == 0
        && pending.flags & (O_CREAT | O_TRUNC) == 0
}

#[inline(always)]
fn arg(ctx: &TracePointContext, n: usize) -> u64 {
    crate::kernel::syscall_arg(ctx, n)
}

/// A dirfd argument: an `int` in an 8-byte slot.
#[inline(always)]
fn dfd(ctx: &TracePointContext, n: usize) -> i64 {
    arg(ctx, n) as i32 as i64
}

#[inline(always)]
fn file_enter(mut pending: PendingFile) -> u32 {
    let (tgid, tid) = current_ids();
    if skip_event(tgid) {
        return 0;
    }
    // Read-only opens are the bulk of all file activity: unless reads are watched, drop them
    // before anything is stored.
    if is_read_only_open(&pending) && CONFIG.load().file_filter_mode & filter_mode::READ_OPENS == 0
    {
        return 0;
    }
    pending.enter_ns = boot_ns();
    if PENDING_FILE.insert(tid, pending, BPF_ANY).is_err() {
        bump(counter::PENDING_MAP_FULL);
    }
    0
}

/// A file entry program: `$fill` sets what the call's arguments say in `$p`.
macro_rules! file_probe {
    ($enter:ident, |$ctx:ident, $p:ident| $fill:block) => {
        entry_program!($enter($ctx, syscall) {
            let mut $p = PendingFile::new(syscall);
            $fill;
            file_enter($p)
        });
    };
}

file_probe!(vigil_enter_open, |ctx, p| {
    p.first = arg(&ctx, 0);
    p.flags = arg(&ctx, 1);
    p.mode = arg(&ctx, 2);
});
file_probe!(vigil_enter_openat, |ctx, p| {
    p.first_dfd = dfd(&ctx, 0);
    p.first = arg(&ctx, 1);
    p.flags = arg(&ctx, 2);
    p.mode = arg(&ctx, 3);
});
file_probe!(vigil_enter_openat2, |ctx, p| {
    p.first_dfd = dfd(&ctx, 0);
    p.first = arg(&ctx, 1);
    // `struct open_how { u64 flags; u64 mode; u64 resolve; }` (uapi).
    let how = arg(&ctx, 2);
    p.flags = read_user::<u64>(how).unwrap_or(0);
    p.mode = read_user::<u64>(how + 8).unwrap_or(0);
});
file_probe!(vigil_enter_creat, |ctx, p| {
    p.first = arg(&ctx, 0);
    p.flags = O_CREAT | O_WRONLY | O_TRUNC;
    p.mode = arg(&ctx, 1);
});
file_probe!(vigil_enter_unlink, |ctx, p| {
    p.first = arg(&ctx, 0);
});
file_probe!(vigil_enter_unlinkat, |ctx, p| {
    p.first_dfd = dfd(&ctx, 0);
    p.first = arg(&ctx, 1);
    p.flags = arg(&ctx, 2) & AT_REMOVEDIR;
});
file_probe!(vigil_enter_rmdir, |ctx, p| {
    p.first = arg(&ctx, 0);
});
file_probe!(vigil_enter_rename, |ctx, p| {
    p.first = arg(&ctx, 0);
    p.second = arg(&ctx, 1);
});
file_probe!(vigil_enter_renameat, |ctx, p| {
    p.first_dfd = dfd(&ctx, 0);
    p.first = arg(&ctx, 1);
    p.second_dfd = dfd(&ctx, 2);
    p.second = arg(&ctx, 3);
});
file_probe!(vigil_enter_renameat2, |ctx, p| {
    p.first_dfd = dfd(&ctx, 0);
    p.first = arg(&ctx, 1);
    p.second_dfd = dfd(&ctx, 2);
    p.second = arg(&ctx, 3);
    p.flags = arg(&ctx, 4);
});
file_probe!(vigil_enter_chmod, |ctx, p| {
    p.first = arg(&ctx, 0);
    p.mode = arg(&ctx, 1);
});
file_probe!(vigil_enter_fchmod, |ctx, p| {
    p.fd = arg(&ctx, 0) as i32 as i64;
    p.mode = arg(&ctx, 1);
});
file_probe!(vigil_enter_fchmodat, |ctx, p| {
    p.first_dfd = dfd(&ctx, 0);
    p.first = arg(&ctx, 1);
    p.mode = arg(&ctx, 2);
});
file_probe!(vigil_enter_fchmodat2, |ctx, p| {
    p.first_dfd = dfd(&ctx, 0);
    p.first = arg(&ctx, 1);
    p.mode = arg(&ctx, 2);
    p.flags = arg(&ctx, 3);
});
file_probe!(vigil_enter_chown, |ctx, p| {
    p.first = arg(&ctx, 0);
    p.uid = arg(&ctx, 1) as u32;
    p.gid = arg(&ctx, 2) as u32;
});
file_probe!(vigil_enter_lchown, |ctx, p| {
    p.first = arg(&ctx, 0);
    p.uid = arg(&ctx, 1) as u32;
    p.gid = arg(&ctx, 2) as u32;
});
file_probe!(vigil_enter_fchown, |ctx, p| {
    p.fd = arg(&ctx, 0) as i32 as i64;
    p.uid = arg(&ctx, 1) as u32;
    p.gid = arg(&ctx, 2) as u32;
});
file_probe!(vigil_enter_fchownat, |ctx, p| {
    p.first_dfd = dfd(&ctx, 0);
    p.first = arg(&ctx, 1);
    p.uid = arg(&ctx, 2) as u32;
    p.gid = arg(&ctx, 3) as u32;
    p.flags = arg(&ctx, 4);
});
file_probe!(vigil_enter_truncate, |ctx, p| {
    p.first = arg(&ctx, 0);
    p.size = arg(&ctx, 1) as i64;
});
file_probe!(vigil_enter_ftruncate, |ctx, p| {
    p.fd = arg(&ctx, 0) as i32 as i64;
    p.size = arg(&ctx, 1) as i64;
});
file_probe!(vigil_enter_link, |ctx, p| {
    p.first = arg(&ctx, 0);
    p.second = arg(&ctx, 1);
});
file_probe!(vigil_enter_linkat, |ctx, p| {
    p.first_dfd = dfd(&ctx, 0);
    p.first = arg(&ctx, 1);
    p.second_dfd = dfd(&ctx, 2);
    p.second = arg(&ctx, 3);
    p.flags = arg(&ctx, 4);
});
file_probe!(vigil_enter_symlink, |ctx, p| {
    p.first = arg(&ctx, 0);
    p.second = arg(&ctx, 1);
});
file_probe!(vigil_enter_symlinkat, |ctx, p| {
    p.first = arg(&ctx, 0);
    p.second_dfd = dfd(&ctx, 1);
    p.second = arg(&ctx, 2);
});
file_probe!(vigil_enter_mkdir, |ctx, p| {
    p.first = arg(&ctx, 0);
    p.mode = arg(&ctx, 1);
});
file_probe!(vigil_enter_mkdirat, |ctx, p| {
    p.first_dfd = dfd(&ctx, 0);
    p.first = arg(&ctx, 1);
    p.mode = arg(&ctx, 2);
});

/// Copies a name the caller passed and, when it is relative, walks the directory it is relative
/// to. Returns the bytes used from `at`.
#[inline(always)]
fn name_and_dir(
    data: *mut u8,
    at: usize,
    name: u64,
    dirfd: i64,
    name_slot: &mut PathSlot,
    dir_slot: &mut PathSlot,
    filter: &mut u32,
) -> usize {
    *name_slot = copy_str(data, FILE_DATA_CAPACITY, at, name, true);
    let name_len = name_slot.len as usize & (FILENAME_CAPACITY * 2 - 1);
    if name_len == 0 || at > FILE_DATA_CAPACITY - FILENAME_CAPACITY {
        return name_len;
    }
    // SAFETY: `at` is within the data area (checked above) and the name was copied there.
    let first = unsafe { *data.add(at) };
    if first == b'/' {
        return name_len;
    }
    let offsets = OFFSETS.load();
    let (base, offset) = if dirfd == AT_FDCWD {
        (
            read_ptr(current_task() + offsets.task_fs as u64),
            offsets.fs_pwd,
        )
    } else {
        (fd_file(dirfd), offsets.file_f_path)
    };
    if base == 0 || offsets.valid == 0 {
        dir_slot.flags = vigil_ebpf_common::path_flags::UNREADABLE;
        return name_len;
    }
    let dir_path = base + offset as u64;
    let walked = walk::<FileArea>(at + name_len, dir_path, &offsets);
    *dir_slot = walked.slot;
    *filter |= walked.filter;
    name_len + (walked.slot.len as usize & (PATH_CAPACITY * 2 - 1))
}

/// The exit half of every file syscall: one program, attached by userspace to each
/// `sys_exit_*` tracepoint, so the kernel verifies it once.
#[tracepoint]
pub fn vigil_exit_file(ctx: TracePointContext) -> u32 {
    file_exit(&ctx)
}

#[inline(always)]
fn file_exit(ctx: &TracePointContext) -> u32 {
    let (tgid, tid) = current_ids();
    if skip_event(tgid) {
        return 0;
    }
    let Some(pending) = PENDING_FILE.get_ptr(tid) else {
        return 0;
    };
    // SAFETY: the entry is only read, then removed.
    let pending = unsafe { *pending };
    let _ = PENDING_FILE.remove(tid);
    let Some(scratch) = FILE_SCRATCH.get_ptr_mut(0) else {
        return 0;
    };
    let ret = crate::kernel::syscall_ret(ctx);
    let offsets = OFFSETS.load();
    // SAFETY: per-CPU scratch, exclusively ours while this program runs.
    unsafe {
        let record: &mut FileRecord = &mut (*scratch).record;
        let data = (*scratch).data.as_mut_ptr();
        fill_header(
            &mut record.header,
            RecordKind::File,
            SyscallId::from_u32(pending.syscall),
        );
        record.result = ret;
        record.duration_ns = record.header.boot_ns.saturating_sub(pending.enter_ns);
        record.inode = 0;
        record.dev = 0;
        record.size = pending.size;
        record.flags = pending.flags as u32;
        record.mode = pending.mode as u32;
        record.fd = pending.fd as i32;
        record.new_uid = pending.uid;
        record.new_gid = pending.gid;
        record.filter = 0;
        record.first_dir = PathSlot::default();
        record.first_name = PathSlot::default();
        record.second_dir = PathSlot::default();
        record.second_name = PathSlot::default();

        // The file itself, when at hand: the fd an open returned, or the fd a call was made on.
        let file_fd = if is_open(pending.syscall) && ret >= 0 {
            ret
        } else if pending.first == 0 {
            pending.fd
        } else {
            -1
        };
        let mut used: usize = 0;
        let file = fd_file(file_fd);
        if file != 0 {
            let walked = walk::<FileArea>(0, file + offsets.file_f_path as u64, &offsets);
            record.first_dir = walked.slot;
            record.filter |= walked.filter | file_filter::FROM_FILE;
            used = walked.slot.len as usize & (PATH_CAPACITY * 2 - 1);
            let inode = member_ptr(file, offsets.file_f_inode as u64);
            record.inode = member::<u64>(inode, offsets.inode_i_ino as u64).0;
            let sb = member_ptr(inode, offsets.inode_i_sb as u64);
            record.dev = member::<u32>(sb, offsets.super_s_dev as u64).0;
        } else if pending.first != 0 {
            used = name_and_dir(
                data,
                0,
                pending.first,
                pending.first_dfd,
                &mut record.first_name,
                &mut record.first_dir,
                &mut record.filter,
            );
        }
        if pending.second != 0 {
            let at = used & (FILENAME_CAPACITY * 2 + PATH_CAPACITY * 2 - 1);
            if at <= FILE_DATA_CAPACITY / 2 {
                used = at
                    + name_and_dir(
                        data,
                        at,
                        pending.second,
                        pending.second_dfd,
                        &mut record.second_name,
                        &mut record.second_dir,
                        &mut record.filter,
                    );
            }
        }

        // Filters the kernel can decide: only when the file's full path was walked (a name may
        // still climb out of a directory with `..`; userspace filters those after joining).
        if record.filter & file_filter::FROM_FILE != 0 {
            let mode = CONFIG.load().file_filter_mode;
            let excluded = record.filter & file_filter::EXCLUDED != 0;
            let not_included =
                mode & filter_mode::INCLUDE_ONLY != 0 && record.filter & file_filter::INCLUDED == 0;
            let unwatched_read =
                is_read_only_open(&pending) && record.filter & file_filter::ACCESSES == 0;
            if excluded || not_included || unwatched_read {
                bump(counter::FILE_FILTERED);
                return 0;
            }
        }
        record.data_len = used as u32;
        let size = size_of::<FileRecord>() + used;
        if size > size_of::<FileScratch>() {
            return 0;
        }
        let bytes = core::slice::from_raw_parts(scratch.cast::<u8>(), size);
        if EVENTS.output::<[u8]>(bytes, 0).is_err() {
            bump(counter::RINGBUF_FULL_FILE);
        }
    }
    0
}

const _: () = assert!(FILE_DATA_CAPACITY >= 2 * (FILENAME_CAPACITY + PATH_CAPACITY));
