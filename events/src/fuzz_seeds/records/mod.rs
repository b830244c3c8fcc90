//! Records as the kernel side fills them, one per kind of event and path the decoder takes, and
//! records the decoder must turn down: one file per record family.

mod file;
mod module;
mod process;
mod ptrace;
mod socket;

use std::mem::size_of;

use vigil_ebpf_common::{ForkRecord, PathSlot, RecordHeader, RecordKind, SyscallId, path_flags};

/// The bytes of a `#[repr(C)]` record as the kernel submits it. Only the first `fields_end`
/// bytes are read (the fields); what follows is trailing padding, written as zeros so the seed
/// files do not change from one run to the next.
fn record_bytes<T: Copy>(record: &T, fields_end: usize) -> Vec<u8> {
    assert!(fields_end <= size_of::<T>());
    // SAFETY: the first `fields_end` bytes of these records are their fields: plain integers,
    // each naturally aligned after the one before, so no padding lies between them (the last
    // field's end is checked against `fields_end` at compile time, below).
    let fields =
        unsafe { std::slice::from_raw_parts((record as *const T).cast::<u8>(), fields_end) };
    let mut bytes = fields.to_vec();
    bytes.resize(size_of::<T>(), 0);
    bytes
}

fn whole<T: Copy>(record: &T) -> Vec<u8> {
    record_bytes(record, size_of::<T>())
}

fn header(kind: RecordKind, syscall: SyscallId, pid: u32, comm: &str) -> RecordHeader {
    let mut name = [0u8; 16];
    name[..comm.len()].copy_from_slice(comm.as_bytes());
    RecordHeader {
        kind: kind as u32,
        syscall: syscall as u32,
        boot_ns: 86_400_000_000_000 + u64::from(pid) * 1_000,
        pid,
        tid: pid,
        ppid: 1,
        uid: 1000,
        gid: 1000,
        euid: 1000,
        egid: 1000,
        probe_error: 0,
        cgroup_id: 4242,
        comm: name,
    }
}

/// A record's data area, filled slot by slot.
#[derive(Default)]
struct DataArea(Vec<u8>);

impl DataArea {
    fn put(&mut self, bytes: &[u8], flags: u32) -> PathSlot {
        let slot = PathSlot {
            offset: self.0.len() as u32,
            len: bytes.len() as u32,
            flags,
            components: bytes.iter().filter(|&&b| b == 0).count() as u32,
        };
        self.0.extend_from_slice(bytes);
        slot
    }
}
/// (walked leaf-first bytes, flags) of a directory or file.
type Walked<'a> = (&'a [u8], u32);

const COMPLETE: u32 = path_flags::COMPLETE;
const TRUNCATED: u32 = path_flags::TRUNCATED;
/// A directory the process and file seeds share (a cwd, a directory walked from a descriptor).
const HOME: Walked<'static> = (b"alice\0home\0", COMPLETE);

/// Records the kernel side produces, one per kind of event and path the decoder takes.
pub(super) fn valid_records() -> Vec<(&'static str, Vec<u8>)> {
    [
        process::valid_records(),
        socket::valid_records(),
        file::valid_records(),
        module::valid_records(),
        ptrace::valid_records(),
    ]
    .concat()
}

/// Records the decoder must turn down: seeds for its error paths.
pub(super) fn malformed_records() -> Vec<(&'static str, Vec<u8>)> {
    let mut unknown_kind = process::exit(0);
    unknown_kind[..4].copy_from_slice(&99u32.to_ne_bytes());
    let mut shorter_than_a_header = process::fork(SyscallId::Fork, 1, 0);
    shorter_than_a_header.truncate(size_of::<RecordHeader>() - 1);
    let mut shorter_than_its_record = process::fork(SyscallId::Fork, 1, 0);
    shorter_than_its_record.truncate(size_of::<ForkRecord>() - 1);
    let mut exec_cut = valid_records()
        .into_iter()
        .find(|(name, _)| *name == "exec-execve-walked-paths")
        .map(|(_, bytes)| bytes)
        .unwrap_or_default();
    exec_cut.truncate(exec_cut.len() - 5);
    vec![
        ("malformed-unknown-kind", unknown_kind),
        ("malformed-shorter-than-a-header", shorter_than_a_header),
        (
            "malformed-fork-shorter-than-its-record",
            shorter_than_its_record,
        ),
        ("malformed-exec-data-cut", exec_cut),
    ]
}
