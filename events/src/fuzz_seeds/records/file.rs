//! File records: opens, reads of watched files, and the calls that change files.

use std::mem::{offset_of, size_of};

use vigil_ebpf_common::{
    FileRecord, PathSlot, RecordKind, SyscallId, file_filter, path_flags, probe_error,
};

use super::{COMPLETE, DataArea, HOME, TRUNCATED, Walked, header, whole};

const O_WRONLY_CREAT_TRUNC: u32 = 0o1101;

// Checked at compile time: the last field of the record ends where `record_bytes` stops reading.
const _: () = {
    assert!(offset_of!(FileRecord, _pad2) + 4 == size_of::<FileRecord>());
};

struct File<'a> {
    syscall: SyscallId,
    result: i64,
    flags: u32,
    filter: u32,
    first: (Walked<'a>, &'a [u8]),
    second: Option<(Walked<'a>, &'a [u8])>,
    fill: fn(&mut FileRecord),
}

fn file(f: File<'_>) -> Vec<u8> {
    let mut data = DataArea::default();
    let first_dir = data.put(f.first.0.0, f.first.0.1);
    let first_name = data.put(f.first.1, path_flags::COMPLETE);
    let (second_dir, second_name) = match f.second {
        Some(((dir, flags), name)) => (data.put(dir, flags), data.put(name, path_flags::COMPLETE)),
        None => (PathSlot::default(), PathSlot::default()),
    };
    let mut record = FileRecord {
        header: header(RecordKind::File, f.syscall, 2005, "vim"),
        result: f.result,
        duration_ns: 9_000,
        flags: f.flags,
        filter: f.filter,
        fd: -100, // AT_FDCWD
        new_uid: u32::MAX,
        new_gid: u32::MAX,
        first_dir,
        first_name,
        second_dir,
        second_name,
        data_len: data.0.len() as u32,
        ..FileRecord::default()
    };
    (f.fill)(&mut record);
    let mut bytes = whole(&record);
    bytes.extend_from_slice(&data.0);
    bytes
}

fn no_fill(_: &mut FileRecord) {}

/// Records the kernel side produces, one per kind of event and path the decoder takes.
pub(super) fn valid_records() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (
            "file-openat-create-from-file",
            file(File {
                syscall: SyscallId::Openat,
                result: 4,
                flags: O_WRONLY_CREAT_TRUNC,
                filter: file_filter::FROM_FILE,
                first: ((b"notes.txt\0alice\0home\0", COMPLETE), b""),
                second: None,
                fill: |r| {
                    r.mode = 0o644;
                    r.inode = 131_077;
                    r.dev = (8 << 20) | 1;
                },
            }),
        ),
        (
            "file-openat-read-watched",
            file(File {
                syscall: SyscallId::Openat,
                result: 5,
                flags: 0,
                filter: file_filter::FROM_FILE | file_filter::ACCESSES | file_filter::INCLUDED,
                first: ((b"shadow\0etc\0", COMPLETE), b""),
                second: None,
                fill: |r| r.inode = 2_000,
            }),
        ),
        (
            "file-open-absolute-with-dotdot-failed",
            file(File {
                syscall: SyscallId::Open,
                result: -13,
                flags: 0o101,
                filter: 0,
                first: (HOME, b"/etc/../etc/./passwd\0"),
                second: None,
                fill: no_fill,
            }),
        ),
        (
            "file-unlinkat-removedir-relative",
            file(File {
                syscall: SyscallId::Unlinkat,
                result: 0,
                flags: 0x200,
                filter: 0,
                first: (HOME, b"old/cache\0"),
                second: None,
                fill: no_fill,
            }),
        ),
        (
            "file-renameat2-relative",
            file(File {
                syscall: SyscallId::Renameat2,
                result: 0,
                flags: 0,
                filter: 0,
                first: (HOME, b"../src/a.txt\0"),
                second: Some(((b"dst\0", TRUNCATED), b"b.txt\0")),
                fill: no_fill,
            }),
        ),
        (
            "file-symlink",
            file(File {
                syscall: SyscallId::Symlinkat,
                result: 0,
                flags: 0,
                filter: 0,
                first: ((b"", 0), b"../lib/libx.so.1\0"),
                second: Some(((b"lib\0usr\0", COMPLETE), b"libx.so\0")),
                fill: no_fill,
            }),
        ),
        (
            "file-linkat",
            file(File {
                syscall: SyscallId::Linkat,
                result: 0,
                flags: 0x400,
                filter: 0,
                first: (HOME, b"a\0"),
                second: Some((HOME, b"hard-a\0")),
                fill: no_fill,
            }),
        ),
        (
            "file-fchownat",
            file(File {
                syscall: SyscallId::Fchownat,
                result: 0,
                flags: 0x100,
                filter: 0,
                first: (HOME, b"shared\0"),
                second: None,
                fill: |r| {
                    r.new_uid = 0;
                    r.new_gid = 27;
                },
            }),
        ),
        (
            "file-fchmod-on-fd",
            file(File {
                syscall: SyscallId::Fchmod,
                result: 0,
                flags: 0,
                filter: file_filter::FROM_FILE,
                first: ((b"run.sh\0alice\0home\0", COMPLETE), b""),
                second: None,
                fill: |r| {
                    r.fd = 3;
                    r.mode = 0o755;
                    r.inode = 4_242;
                    r.dev = (259 << 20) | 2;
                },
            }),
        ),
        (
            "file-truncate",
            file(File {
                syscall: SyscallId::Truncate,
                result: 0,
                flags: 0,
                filter: 0,
                first: ((b"", 0), b"/var/log/app.log\0"),
                second: None,
                fill: |r| r.size = 4096,
            }),
        ),
        (
            "file-mkdirat-unresolved-dir",
            file(File {
                syscall: SyscallId::Mkdirat,
                result: -17,
                flags: 0,
                filter: 0,
                first: ((b"deep\0", TRUNCATED), b"new\0"),
                second: None,
                fill: |r| {
                    r.mode = 0o700;
                    r.header.probe_error = probe_error::NO_ENTER;
                },
            }),
        ),
    ]
}
