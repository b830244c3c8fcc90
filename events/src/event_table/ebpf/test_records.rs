//! Records as the kernel side builds them, for the decoders' tests.

use std::mem::size_of;

use vigil_ebpf_common::{ExecRecord, PathSlot, RecordHeader, RecordKind, SyscallId, path_flags};

pub(crate) fn as_bytes<T>(value: &T) -> Vec<u8> {
    // SAFETY: reading the bytes of a plain `#[repr(C)]` record.
    unsafe { std::slice::from_raw_parts((value as *const T).cast::<u8>(), size_of::<T>()) }.to_vec()
}

pub(crate) fn header(kind: RecordKind, syscall: SyscallId) -> RecordHeader {
    let mut comm = [0u8; 16];
    comm[..4].copy_from_slice(b"true");
    RecordHeader {
        kind: kind as u32,
        syscall: syscall as u32,
        boot_ns: 1_000,
        pid: 10,
        tid: 11,
        ppid: 1,
        uid: 1000,
        gid: 100,
        euid: 0,
        egid: 0,
        probe_error: 0,
        cgroup_id: 5,
        comm,
    }
}

pub(crate) fn exec_bytes(
    argv: &[u8],
    argv_full: u32,
    filename: &[u8],
    exe: &[u8],
    cwd: &[u8],
) -> Vec<u8> {
    let mut data = Vec::new();
    data.extend_from_slice(argv);
    let filename_slot = PathSlot {
        offset: data.len() as u32,
        len: filename.len() as u32,
        flags: path_flags::COMPLETE,
        components: 1,
    };
    data.extend_from_slice(filename);
    let exe_slot = PathSlot {
        offset: data.len() as u32,
        len: exe.len() as u32,
        flags: if exe.is_empty() {
            path_flags::TRUNCATED
        } else {
            path_flags::COMPLETE
        },
        components: 0,
    };
    data.extend_from_slice(exe);
    let cwd_slot = PathSlot {
        offset: data.len() as u32,
        len: cwd.len() as u32,
        flags: path_flags::COMPLETE,
        components: 0,
    };
    data.extend_from_slice(cwd);
    let record = ExecRecord {
        header: header(RecordKind::Exec, SyscallId::Execve),
        result: 0,
        duration_ns: 42,
        argv_len: argv.len() as u32,
        argv_full_len: argv_full,
        filename: filename_slot,
        exe: exe_slot,
        cwd: cwd_slot,
        data_len: data.len() as u32,
        _pad: 0,
    };
    let mut bytes = as_bytes(&record);
    bytes.extend_from_slice(&data);
    bytes
}
