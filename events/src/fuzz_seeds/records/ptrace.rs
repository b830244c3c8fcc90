//! ptrace records: attaching to a process and writing into it.

use std::mem::{offset_of, size_of};

use vigil_ebpf_common::{PtraceRecord, RecordKind, SyscallId, ptrace_request};

use super::{header, whole};

// Checked at compile time: the last field of the record ends where `record_bytes` stops reading.
const _: () = {
    assert!(offset_of!(PtraceRecord, _pad) + 4 == size_of::<PtraceRecord>());
};

fn ptrace(request: u64, target_pid: i32, addr: u64, data: u64, result: i64) -> Vec<u8> {
    whole(&PtraceRecord {
        header: header(RecordKind::Ptrace, SyscallId::Ptrace, 2007, "gdb"),
        result,
        duration_ns: 40_000,
        request,
        addr,
        data,
        target_pid,
        _pad: 0,
    })
}

/// Records the kernel side produces, one per kind of event the decoder takes.
pub(super) fn valid_records() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (
            "ptrace-attach",
            ptrace(ptrace_request::ATTACH, 2100, 0, 0, 0),
        ),
        (
            "ptrace-seize-denied",
            ptrace(ptrace_request::SEIZE, 1, 0, 0, -1),
        ),
        (
            "ptrace-pokedata",
            ptrace(
                ptrace_request::POKEDATA,
                2100,
                0x5555_5555_4000,
                0xcccc_cccc_cccc_cccc,
                0,
            ),
        ),
    ]
}
