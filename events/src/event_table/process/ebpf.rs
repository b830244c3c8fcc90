//! Process records: execs (successful and failed), forks and exits.

use vigil_ebpf_common::{
    ExecRecord, ExitRecord, ForkRecord, RecordHeader, RecordKind, probe_error,
};

use super::{ProcessAction, ProcessEvent};
use crate::event_table::ebpf::{
    EbpfKind, RecordError,
    clock::BootClock,
    data_area,
    paths::{join_relative, walked_path},
    read, slot, syscall, task, text,
};

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
        task: task(header),
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

pub(super) fn decode_exec(bytes: &[u8], clock: &BootClock) -> Result<ProcessEvent, RecordError> {
    let record: ExecRecord = read(bytes)?;
    let data = data_area::<ExecRecord>(bytes, record.data_len)?;
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

pub(super) fn decode_fork(bytes: &[u8], clock: &BootClock) -> Result<ProcessEvent, RecordError> {
    let record: ForkRecord = read(bytes)?;
    let mut event = base_event(&record.header, ProcessAction::Fork, clock);
    event.exit_code = record.child_pid;
    event.child_pid = u32::try_from(record.child_pid).unwrap_or(0);
    event.duration_ns = record.duration_ns;
    Ok(event)
}

pub(super) fn decode_exit(bytes: &[u8], clock: &BootClock) -> Result<ProcessEvent, RecordError> {
    let record: ExitRecord = read(bytes)?;
    let mut event = base_event(&record.header, ProcessAction::Exit, clock);
    (event.exit_code, event.exit_signal) = exit_status(record.exit_code);
    Ok(event)
}

impl EbpfKind for ProcessEvent {
    const WITHOUT_BTF: &'static str = "parent, effective ids, argv, cwd, executable and exit codes";

    fn decode(kind: RecordKind, bytes: &[u8], clock: &BootClock) -> Result<Self, RecordError> {
        match kind {
            RecordKind::Exec | RecordKind::ExecFailed => decode_exec(bytes, clock),
            RecordKind::Fork => decode_fork(bytes, clock),
            RecordKind::Exit => decode_exit(bytes, clock),
            other => Err(RecordError::Kind(other as u32)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event_table::ebpf::test_records::*;
    use crate::{
        event_table::{Event, ebpf::decode_record},
        model::Syscall,
    };

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
        let Event::Process(event) = decode_record(&bytes, &clock).expect("decodes") else {
            panic!("an exec decodes to a process event");
        };
        assert_eq!(event.action, ProcessAction::Exec);
        assert_eq!(event.syscall, Syscall::Execve);
        assert_eq!(event.time_ns, 1_700_000_000_000_001_000);
        assert_eq!(event.path, "/usr/bin/env");
        assert_eq!(event.cwd, "/tmp/work");
        assert_eq!(event.argv, vec!["/usr/bin/env", "VAR=1", "", "/bin/true"]);
        assert!(!event.argv_truncated);
        assert_eq!(event.task.comm, "true");
        assert_eq!(
            (event.task.pid, event.task.tid, event.task.parent),
            (10, 11, 1)
        );
        assert_eq!(event.duration_ns, 42);
    }

    #[test]
    fn marks_a_cut_argv_and_resolves_a_relative_filename_against_cwd() {
        let bytes = exec_bytes(b"./tool\0--lo", 4000, b"./tool\0", b"", b"srv\0");
        let Event::Process(event) =
            decode_record(&bytes, &BootClock::with_offset(0)).expect("decodes")
        else {
            panic!("an exec decodes to a process event");
        };
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
    fn exit_status_splits_code_and_signal() {
        assert_eq!(exit_status(0), (0, 0));
        assert_eq!(exit_status(3 << 8), (3, 0));
        assert_eq!(exit_status(9), (137, 9));
    }
}
