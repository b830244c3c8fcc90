//! File records: opens, creates, removes, renames, links, and changes of mode, owner and size.

use vigil_ebpf_common::{FileRecord, RecordKind, file_filter};

use super::{FileEvent, FileOperation};
use crate::{
    event_table::ebpf::{
        EbpfKind, RecordError, actor,
        clock::BootClock,
        data_area,
        paths::{resolve_name, walked_path},
        read, slot, syscall, text,
    },
    model::Syscall,
};

fn file_operation(syscall: Syscall, flags: u32) -> FileOperation {
    const O_ACCMODE: u32 = 0o3;
    const O_CREAT: u32 = 0o100;
    const O_TRUNC: u32 = 0o1000;
    const AT_REMOVEDIR: u32 = 0x200;
    match syscall {
        Syscall::Open | Syscall::Openat | Syscall::Openat2 | Syscall::Creat => {
            if flags & O_ACCMODE == 0 && flags & (O_CREAT | O_TRUNC) == 0 {
                FileOperation::Read
            } else {
                FileOperation::Open
            }
        }
        Syscall::Unlinkat if flags & AT_REMOVEDIR != 0 => FileOperation::Rmdir,
        Syscall::Unlink | Syscall::Unlinkat => FileOperation::Unlink,
        Syscall::Rmdir => FileOperation::Rmdir,
        Syscall::Rename | Syscall::Renameat | Syscall::Renameat2 => FileOperation::Rename,
        Syscall::Chmod | Syscall::Fchmod | Syscall::Fchmodat | Syscall::Fchmodat2 => {
            FileOperation::Chmod
        }
        Syscall::Chown | Syscall::Lchown | Syscall::Fchown | Syscall::Fchownat => {
            FileOperation::Chown
        }
        Syscall::Truncate | Syscall::Ftruncate => FileOperation::Truncate,
        Syscall::Link | Syscall::Linkat => FileOperation::Link,
        Syscall::Symlink | Syscall::Symlinkat => FileOperation::Symlink,
        _ => FileOperation::Mkdir,
    }
}

/// A kernel device number (major << 20 | minor) in userspace's `st_dev` encoding.
fn device(kernel_dev: u32) -> u64 {
    libc::makedev(kernel_dev >> 20, kernel_dev & 0xf_ffff)
}

pub(super) fn decode_file(bytes: &[u8], clock: &BootClock) -> Result<FileEvent, RecordError> {
    let r: FileRecord = read(bytes)?;
    let data = data_area::<FileRecord>(bytes, r.data_len)?;
    let h = &r.header;
    let syscall = syscall(h.syscall);
    let operation = file_operation(syscall, r.flags);
    let (first, first_resolved) = if r.filter & file_filter::FROM_FILE != 0 {
        walked_path(slot(data, &r.first_dir, "first_dir")?, r.first_dir.flags)
    } else {
        resolve_name(data, &r.first_dir, &r.first_name)?
    };
    let has_second = r.second_name.len > 0;
    let (second, second_resolved) = if has_second {
        resolve_name(data, &r.second_dir, &r.second_name)?
    } else {
        (String::new(), true)
    };
    let (path, path_resolved, dest_path) = if operation == FileOperation::Symlink {
        // The link is what gets created; its target is text, kept as written.
        let target = text(slot(data, &r.first_name, "first_name")?);
        (second, second_resolved, target)
    } else {
        (first, first_resolved, second)
    };
    let mut probe_error = h.probe_error;
    if !path_resolved {
        probe_error |= vigil_ebpf_common::probe_error::EXE;
    }
    Ok(FileEvent {
        operation,
        syscall,
        time_ns: clock.wall_ns(h.boot_ns),
        actor: actor(h),
        path,
        path_resolved,
        dest_path,
        mode: r.mode,
        flags: r.flags,
        inode: r.inode,
        device: if r.dev == 0 { 0 } else { device(r.dev) },
        fd: r.fd,
        result: r.result,
        new_uid: r.new_uid,
        new_gid: r.new_gid,
        size: r.size,
        duration_ns: r.duration_ns,
        probe_error,
    })
}

impl EbpfKind for FileEvent {
    const WITHOUT_BTF: &'static str =
        "parent, effective ids, and paths not given in full by the caller";

    fn decode(_kind: RecordKind, bytes: &[u8], clock: &BootClock) -> Result<Self, RecordError> {
        decode_file(bytes, clock)
    }
}

#[cfg(test)]
mod tests {
    use vigil_ebpf_common::{PathSlot, RecordKind, SyscallId, path_flags};

    use super::*;
    use crate::event_table::ebpf::test_records::*;
    use crate::event_table::{Event, ebpf::decode_record};

    #[test]
    fn a_relative_rename_joins_each_name_with_its_directory() {
        let mut data = Vec::new();
        let mut put = |bytes: &[u8], flags: u32| {
            let slot = PathSlot {
                offset: data.len() as u32,
                len: bytes.len() as u32,
                flags,
                components: 0,
            };
            data.extend_from_slice(bytes);
            slot
        };
        let first_name = put(b"../src/a.txt\0", path_flags::COMPLETE);
        let first_dir = put(b"work\0tmp\0", path_flags::COMPLETE);
        let second_name = put(b"b.txt\0", path_flags::COMPLETE);
        let second_dir = put(b"dst\0", path_flags::TRUNCATED);
        let record = FileRecord {
            header: header(RecordKind::File, SyscallId::Renameat2),
            result: 0,
            first_dir,
            first_name,
            second_dir,
            second_name,
            data_len: data.len() as u32,
            ..FileRecord::default()
        };
        let mut bytes = as_bytes(&record);
        bytes.extend_from_slice(&data);
        let Ok(Event::File(e)) = decode_record(&bytes, &BootClock::with_offset(0)) else {
            panic!("a file record decodes to a file event");
        };
        assert_eq!(e.operation, FileOperation::Rename);
        assert_eq!(e.path, "/tmp/src/a.txt");
        assert!(e.path_resolved);
        // The destination's directory could not be walked to the root: marked, not guessed.
        assert_eq!(e.dest_path, "b.txt");
    }
}
