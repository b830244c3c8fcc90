//! Decoding kernel records into events. Pure functions over bytes: no kernel needed to test them,
//! and a malformed record is an error value, never a panic.

use std::mem::size_of;

use vigil_ebpf_common::{
    ExecRecord, ExitRecord, ForkRecord, PathSlot, RecordHeader, RecordKind, SyscallId, path_flags,
    probe_error,
};

use crate::{
    linux::clock::BootClock,
    model::{ProcessAction, ProcessEvent, Syscall},
};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RecordError {
    #[error("record of {0} bytes is shorter than its header")]
    Short(usize),
    #[error("unknown record kind {0}")]
    Kind(u32),
    #[error("record slot `{0}` points outside the record")]
    Slot(&'static str),
}

fn read<T: Copy>(bytes: &[u8]) -> Result<T, RecordError> {
    if bytes.len() < size_of::<T>() {
        return Err(RecordError::Short(bytes.len()));
    }
    // SAFETY: the length is checked above; the record types are plain integers valid for any bit
    // pattern, and `read_unaligned` has no alignment requirement.
    Ok(unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast::<T>()) })
}

fn syscall(id: u32) -> Syscall {
    match SyscallId::from_u32(id) {
        SyscallId::Unknown => Syscall::Unknown,
        SyscallId::Execve => Syscall::Execve,
        SyscallId::Execveat => Syscall::Execveat,
        SyscallId::Fork => Syscall::Fork,
        SyscallId::Vfork => Syscall::Vfork,
        SyscallId::Clone => Syscall::Clone,
        SyscallId::Clone3 => Syscall::Clone3,
        SyscallId::Exit => Syscall::Exit,
    }
}

fn text(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

fn slot<'a>(data: &'a [u8], slot: &PathSlot, name: &'static str) -> Result<&'a [u8], RecordError> {
    let start = slot.offset as usize;
    let end = start
        .checked_add(slot.len as usize)
        .ok_or(RecordError::Slot(name))?;
    data.get(start..end).ok_or(RecordError::Slot(name))
}

/// A path walked leaf first: components each followed by a NUL. Returns the path root first and
/// whether it is complete.
fn walked_path(bytes: &[u8], flags: u32) -> (String, bool) {
    let mut components: Vec<&[u8]> = bytes.split(|&b| b == 0).collect();
    if bytes.last() == Some(&0) {
        components.pop();
    }
    components.reverse();
    let joined = components
        .iter()
        .map(|c| String::from_utf8_lossy(c))
        .collect::<Vec<_>>()
        .join("/");
    if flags & path_flags::COMPLETE != 0 {
        (format!("/{joined}"), true)
    } else {
        (joined, false)
    }
}

/// `dir` joined with a relative `path`, with `.` components dropped.
fn join_relative(dir: &str, path: &str) -> String {
    let mut out = dir.trim_end_matches('/').to_owned();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            other => {
                out.push('/');
                out.push_str(other);
            }
        }
    }
    out
}

fn argv(bytes: &[u8]) -> Vec<String> {
    if bytes.is_empty() {
        return Vec::new();
    }
    let trimmed = bytes.strip_suffix(&[0]).unwrap_or(bytes);
    trimmed
        .split(|&b| b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect()
}

fn base_event(header: &RecordHeader, action: ProcessAction, clock: &BootClock) -> ProcessEvent {
    ProcessEvent {
        action,
        syscall: syscall(header.syscall),
        time_ns: clock.wall_ns(header.boot_ns),
        pid: header.pid,
        tid: header.tid,
        parent: header.ppid,
        uid: header.uid,
        gid: header.gid,
        euid: header.euid,
        egid: header.egid,
        cgroup_id: header.cgroup_id,
        comm: text(&header.comm),
        path: String::new(),
        filename: String::new(),
        cwd: String::new(),
        argv: Vec::new(),
        argv_truncated: false,
        exit_code: 0,
        exit_signal: 0,
        child_pid: 0,
        duration_ns: 0,
        probe_error: header.probe_error,
        parent_path: String::new(),
    }
}

fn decode_exec(bytes: &[u8], clock: &BootClock) -> Result<ProcessEvent, RecordError> {
    let record: ExecRecord = read(bytes)?;
    let data = &bytes[size_of::<ExecRecord>()..];
    let data = data
        .get(..record.data_len as usize)
        .ok_or(RecordError::Slot("data"))?;
    let kind = RecordKind::from_u32(record.header.kind);
    let action = if kind == Some(RecordKind::Exec) {
        ProcessAction::Exec
    } else {
        ProcessAction::ExecFailed
    };
    let mut event = base_event(&record.header, action, clock);
    event.exit_code = record.result;
    event.duration_ns = record.duration_ns;
    let argv_bytes = data
        .get(..record.argv_len as usize)
        .ok_or(RecordError::Slot("argv"))?;
    event.argv = argv(argv_bytes);
    event.argv_truncated = record.argv_full_len > record.argv_len;
    event.filename = text(slot(data, &record.filename, "filename")?);

    let (cwd, cwd_complete) = walked_path(slot(data, &record.cwd, "cwd")?, record.cwd.flags);
    event.cwd = cwd;
    let (exe, exe_complete) = walked_path(slot(data, &record.exe, "exe")?, record.exe.flags);
    event.path = if exe_complete {
        exe
    } else if event.filename.starts_with('/') {
        event.filename.clone()
    } else if cwd_complete && !event.filename.is_empty() {
        join_relative(&event.cwd, &event.filename)
    } else {
        event.filename.clone()
    };
    if action == ProcessAction::Exec && !exe_complete {
        event.probe_error |= probe_error::EXE;
    }
    if action == ProcessAction::Exec && !cwd_complete {
        event.probe_error |= probe_error::CWD;
    }
    Ok(event)
}

/// Splits a wait status (`task_struct.exit_code`) into the exit code shells report (the status,
/// or 128 + the signal) and the signal.
pub fn exit_status(raw: u32) -> (i64, u32) {
    let signal = raw & 0x7f;
    if signal == 0 {
        (i64::from((raw >> 8) & 0xff), 0)
    } else {
        (128 + i64::from(signal), signal)
    }
}

/// Decodes one ring buffer record.
pub fn decode_record(bytes: &[u8], clock: &BootClock) -> Result<ProcessEvent, RecordError> {
    let header: RecordHeader = read(bytes)?;
    match RecordKind::from_u32(header.kind) {
        Some(RecordKind::Exec | RecordKind::ExecFailed) => decode_exec(bytes, clock),
        Some(RecordKind::Fork) => {
            let record: ForkRecord = read(bytes)?;
            let mut event = base_event(&record.header, ProcessAction::Fork, clock);
            event.exit_code = record.child_pid;
            event.child_pid = u32::try_from(record.child_pid).unwrap_or(0);
            event.duration_ns = record.duration_ns;
            Ok(event)
        }
        Some(RecordKind::Exit) => {
            let record: ExitRecord = read(bytes)?;
            let mut event = base_event(&record.header, ProcessAction::Exit, clock);
            (event.exit_code, event.exit_signal) = exit_status(record.exit_code);
            Ok(event)
        }
        None => Err(RecordError::Kind(header.kind)),
    }
}

#[cfg(test)]
mod tests {
    use vigil_ebpf_common::{ExecRecord, RecordHeader};

    use super::*;

    fn as_bytes<T>(value: &T) -> Vec<u8> {
        // SAFETY: reading the bytes of a plain `#[repr(C)]` record.
        unsafe { std::slice::from_raw_parts((value as *const T).cast::<u8>(), size_of::<T>()) }
            .to_vec()
    }

    fn header(kind: RecordKind, syscall: SyscallId) -> RecordHeader {
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

    fn exec_bytes(argv: &[u8], argv_full: u32, filename: &[u8], exe: &[u8], cwd: &[u8]) -> Vec<u8> {
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

    #[test]
    fn decodes_an_exec_with_walked_paths() {
        let bytes = exec_bytes(
            b"/usr/bin/env\0VAR=1\0\0/bin/true\0",
            30,
            b"/usr/bin/env\0",
            b"env\0bin\0usr\0",
            b"work\0tmp\0",
        );
        let clock = BootClock::with_offset(1_700_000_000_000_000_000);
        let event = decode_record(&bytes, &clock).expect("decodes");
        assert_eq!(event.action, ProcessAction::Exec);
        assert_eq!(event.syscall, Syscall::Execve);
        assert_eq!(event.time_ns, 1_700_000_000_000_001_000);
        assert_eq!(event.path, "/usr/bin/env");
        assert_eq!(event.cwd, "/tmp/work");
        assert_eq!(event.argv, vec!["/usr/bin/env", "VAR=1", "", "/bin/true"]);
        assert!(!event.argv_truncated);
        assert_eq!(event.comm, "true");
        assert_eq!((event.pid, event.tid, event.parent), (10, 11, 1));
        assert_eq!(event.duration_ns, 42);
    }

    #[test]
    fn marks_a_cut_argv_and_resolves_a_relative_filename_against_cwd() {
        let bytes = exec_bytes(b"./tool\0--lo", 4000, b"./tool\0", b"", b"srv\0");
        let event = decode_record(&bytes, &BootClock::with_offset(0)).expect("decodes");
        assert!(event.argv_truncated);
        assert_eq!(event.argv, vec!["./tool", "--lo"]);
        assert_eq!(event.path, "/srv/tool");
        assert_ne!(
            event.probe_error & probe_error::EXE,
            0,
            "unresolved exe is marked"
        );
    }

    #[test]
    fn the_root_directory_is_slash() {
        assert_eq!(
            walked_path(b"", path_flags::COMPLETE),
            ("/".to_owned(), true)
        );
        assert_eq!(
            walked_path(b"b\0a\0", path_flags::TRUNCATED),
            ("a/b".to_owned(), false)
        );
    }

    #[test]
    fn exit_status_splits_code_and_signal() {
        assert_eq!(exit_status(0), (0, 0));
        assert_eq!(exit_status(3 << 8), (3, 0));
        assert_eq!(exit_status(9), (137, 9));
    }

    #[test]
    fn malformed_records_are_errors() {
        let clock = BootClock::with_offset(0);
        assert_eq!(
            decode_record(&[1, 2, 3], &clock),
            Err(RecordError::Short(3))
        );
        let mut bad = as_bytes(&header(RecordKind::Exit, SyscallId::Exit));
        bad[0] = 99;
        bad.extend_from_slice(&[0; 8]);
        assert_eq!(decode_record(&bad, &clock), Err(RecordError::Kind(99)));
        // An exec whose slots point past its data.
        let mut bytes = exec_bytes(b"a\0", 2, b"a\0", b"a\0", b"b\0");
        bytes.truncate(bytes.len() - 3);
        assert!(decode_record(&bytes, &clock).is_err());
        // Every prefix of a valid record fails cleanly.
        let full = exec_bytes(b"a\0", 2, b"a\0", b"a\0", b"b\0");
        for len in 0..full.len() {
            assert!(decode_record(&full[..len], &clock).is_err(), "prefix {len}");
        }
    }
}
