//! Process records: execs (successful or not), forks and exits.

use std::mem::{offset_of, size_of};

use vigil_ebpf_common::{ExecRecord, ExitRecord, ForkRecord, RecordKind, SyscallId, path_flags};

use super::{COMPLETE, DataArea, HOME, TRUNCATED, header, whole};

// Checked at compile time: the last field of the record ends where `record_bytes` stops reading.
const _: () = {
    assert!(offset_of!(ExecRecord, _pad) + 4 == size_of::<ExecRecord>());
    assert!(offset_of!(ForkRecord, duration_ns) + 8 == size_of::<ForkRecord>());
    assert!(offset_of!(ExitRecord, _pad) + 4 == size_of::<ExitRecord>());
};

struct Exec<'a> {
    kind: RecordKind,
    syscall: SyscallId,
    result: i64,
    argv: &'a [u8],
    argv_full_len: u32,
    filename: &'a [u8],
    exe: (&'a [u8], u32),
    cwd: (&'a [u8], u32),
}

fn exec(e: Exec<'_>) -> Vec<u8> {
    let mut data = DataArea(e.argv.to_vec());
    let filename = data.put(e.filename, path_flags::COMPLETE);
    let exe = data.put(e.exe.0, e.exe.1);
    let cwd = data.put(e.cwd.0, e.cwd.1);
    let record = ExecRecord {
        header: header(e.kind, e.syscall, 2001, "bash"),
        result: e.result,
        duration_ns: 180_000,
        argv_len: e.argv.len() as u32,
        argv_full_len: e.argv_full_len,
        filename,
        exe,
        cwd,
        data_len: data.0.len() as u32,
        _pad: 0,
    };
    let mut bytes = whole(&record);
    bytes.extend_from_slice(&data.0);
    bytes
}

pub(super) fn fork(syscall: SyscallId, child_pid: i64, clone_flags: u64) -> Vec<u8> {
    whole(&ForkRecord {
        header: header(RecordKind::Fork, syscall, 2002, "make"),
        child_pid,
        clone_flags,
        duration_ns: 40_000,
    })
}

pub(super) fn exit(wait_status: u32) -> Vec<u8> {
    whole(&ExitRecord {
        header: header(RecordKind::Exit, SyscallId::Exit, 2003, "sleep"),
        exit_code: wait_status,
        _pad: 0,
    })
}

/// Records the kernel side produces, one per kind of event and path the decoder takes.
pub(super) fn valid_records() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (
            "exec-execve-walked-paths",
            exec(Exec {
                kind: RecordKind::Exec,
                syscall: SyscallId::Execve,
                result: 0,
                argv: b"/usr/bin/curl\0-s\0https://example.com/\0",
                argv_full_len: 38,
                filename: b"/usr/bin/curl\0",
                exe: (b"curl\0bin\0usr\0", COMPLETE),
                cwd: HOME,
            }),
        ),
        (
            "exec-execveat-relative-argv-cut",
            exec(Exec {
                kind: RecordKind::Exec,
                syscall: SyscallId::Execveat,
                result: 0,
                argv: b"./build.sh\0--jobs\0--targ",
                argv_full_len: 9000,
                filename: b"./build.sh\0",
                exe: (b"", TRUNCATED),
                cwd: (b"src\0alice\0home\0", COMPLETE),
            }),
        ),
        (
            "exec-failed-enoent",
            exec(Exec {
                kind: RecordKind::ExecFailed,
                syscall: SyscallId::Execve,
                result: -2,
                argv: b"missing\0",
                argv_full_len: 8,
                filename: b"missing\0",
                exe: (b"", path_flags::UNREADABLE),
                cwd: (b"", COMPLETE),
            }),
        ),
        (
            "exec-deep-cwd-not-walked-to-root",
            exec(Exec {
                kind: RecordKind::Exec,
                syscall: SyscallId::Execve,
                result: 0,
                argv: b"ls\0-la\0",
                argv_full_len: 7,
                filename: b"/bin/ls\0",
                exe: (b"ls\0bin\0usr\0", COMPLETE),
                cwd: (b"d255\0d254\0d253\0", TRUNCATED),
            }),
        ),
        ("fork-clone", fork(SyscallId::Clone, 3100, 0x11)),
        ("fork-vfork", fork(SyscallId::Vfork, 3101, 0x4111)),
        ("fork-clone3", fork(SyscallId::Clone3, 3102, 0)),
        ("fork-failed-eagain", fork(SyscallId::Fork, -11, 0)),
        ("exit-status-3", exit(3 << 8)),
        ("exit-killed-by-sigkill", exit(9)),
    ]
}
