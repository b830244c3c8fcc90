//! Kernel module records: init_module, finit_module and delete_module.

use std::mem::{offset_of, size_of};

use vigil_ebpf_common::{ModuleRecord, PathSlot, RecordKind, SyscallId, path_flags};

use super::{COMPLETE, DataArea, Walked, header, whole};

// Checked at compile time: the last field of the record ends where `record_bytes` stops reading.
const _: () = {
    assert!(offset_of!(ModuleRecord, _pad) + 4 == size_of::<ModuleRecord>());
};

/// A module record: the file walked from finit_module's fd, and the call's one string (the
/// parameters of a load, the name of an unload).
struct Module<'a> {
    syscall: SyscallId,
    result: i64,
    fd: i32,
    flags: u32,
    image_len: u64,
    file: Option<Walked<'a>>,
    text: Option<&'a [u8]>,
}

fn module(m: Module<'_>) -> Vec<u8> {
    let mut data = DataArea::default();
    let file = match m.file {
        Some((walked, flags)) => data.put(walked, flags),
        None if m.fd >= 0 => PathSlot {
            flags: path_flags::UNREADABLE,
            ..PathSlot::default()
        },
        None => PathSlot::default(),
    };
    let text = m
        .text
        .map(|text| data.put(text, path_flags::COMPLETE))
        .unwrap_or_default();
    let unload = m.syscall == SyscallId::DeleteModule;
    let record = ModuleRecord {
        header: header(RecordKind::Module, m.syscall, 2006, "insmod"),
        result: m.result,
        duration_ns: 2_500_000,
        image_len: m.image_len,
        fd: m.fd,
        flags: m.flags,
        name: if unload { text } else { PathSlot::default() },
        file,
        params: if unload { PathSlot::default() } else { text },
        data_len: data.0.len() as u32,
        _pad: 0,
    };
    let mut bytes = whole(&record);
    bytes.extend_from_slice(&data.0);
    bytes
}

/// Records the kernel side produces, one per kind of event and path the decoder takes.
pub(super) fn valid_records() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (
            "module-finit-from-file-with-params",
            module(Module {
                syscall: SyscallId::FinitModule,
                result: 0,
                fd: 3,
                flags: 0,
                image_len: 0,
                file: Some((b"crc7.ko\0lib\0kernel\0lib\0", COMPLETE)),
                text: Some(b"debug=1\0"),
            }),
        ),
        (
            "module-finit-bad-fd",
            module(Module {
                syscall: SyscallId::FinitModule,
                result: -9,
                fd: 77,
                flags: 0,
                image_len: 0,
                file: None,
                text: Some(b"\0"),
            }),
        ),
        (
            "module-init-from-memory",
            module(Module {
                syscall: SyscallId::InitModule,
                result: -8,
                fd: -1,
                flags: 0,
                image_len: 1_048_576,
                file: None,
                text: Some(b"hide=1\0"),
            }),
        ),
        (
            "module-delete-no-such-module",
            module(Module {
                syscall: SyscallId::DeleteModule,
                result: -2,
                fd: -1,
                flags: 0o4000,
                image_len: 0,
                file: None,
                text: Some(b"vigil_no_such_module\0"),
            }),
        ),
    ]
}
