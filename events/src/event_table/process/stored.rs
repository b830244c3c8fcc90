//! How a process event is stored.

use super::{
    ProcessAction, ProcessEvent,
    view::{Args, ProcessEventView},
};
use crate::{
    codec::{
        DecodeError,
        caller::{read_task_view, write_task},
        wire::{Reader, Writer},
    },
    model::Syscall,
};

const PROCESS_EVENT_V1: u8 = 1;

fn action_code(action: ProcessAction) -> u8 {
    match action {
        ProcessAction::Exec => 1,
        ProcessAction::ExecFailed => 2,
        ProcessAction::Fork => 3,
        ProcessAction::Exit => 4,
    }
}

pub fn encode_process_event(event: &ProcessEvent) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(128 + event.path.len() + event.cwd.len()));
    w.0.push(PROCESS_EVENT_V1);
    w.0.push(action_code(event.action));
    w.0.push(event.syscall.code());
    w.uint(event.time_ns);
    write_task(&mut w, &event.task);
    w.str(&event.path);
    w.str(&event.filename);
    w.str(&event.cwd);
    w.uint(event.argv.len() as u64);
    for arg in &event.argv {
        w.str(arg);
    }
    w.0.push(u8::from(event.argv_truncated));
    w.int(event.exit_code);
    w.uint(event.exit_signal.into());
    w.uint(event.child_pid.into());
    w.uint(event.duration_ns);
    w.uint(event.probe_error.into());
    w.str(&event.parent_path);
    w.0
}

pub fn decode_process_event(bytes: &[u8]) -> Result<ProcessEvent, DecodeError> {
    decode_process_event_view(bytes).and_then(|view| view.to_event())
}

/// Reads a stored process event in place (see [`ProcessEventView`]); the same checks as
/// [`decode_process_event`], which is this made owned.
pub fn decode_process_event_view(bytes: &[u8]) -> Result<ProcessEventView<'_>, DecodeError> {
    let mut r = Reader(bytes);
    let version = r.byte()?;
    if version != PROCESS_EVENT_V1 {
        return Err(DecodeError::Version(version));
    }
    let action = match r.byte()? {
        1 => ProcessAction::Exec,
        2 => ProcessAction::ExecFailed,
        3 => ProcessAction::Fork,
        4 => ProcessAction::Exit,
        _ => return Err(DecodeError::Invalid("action")),
    };
    let syscall = Syscall::from_code(r.byte()?).ok_or(DecodeError::Invalid("syscall"))?;
    let time_ns = r.uint()?;
    let task = read_task_view(&mut r)?;
    let path = r.text_ref("path")?;
    let filename = r.text_ref("filename")?;
    let cwd = r.text_ref("cwd")?;
    let argc = r.uint()?;
    // Each argument takes at least one byte: a count larger than what is left is corrupt.
    if argc > r.0.len() as u64 {
        return Err(DecodeError::Invalid("argc"));
    }
    let args_start = r.0;
    for _ in 0..argc {
        r.bytes_ref("argv")?;
    }
    let argv = Args::encoded(argc as usize, &args_start[..args_start.len() - r.0.len()]);
    let argv_truncated = match r.byte()? {
        0 => false,
        1 => true,
        _ => return Err(DecodeError::Invalid("truncated")),
    };
    let exit_code = r.int()?;
    let exit_signal = r.u32("exit_signal")?;
    let child_pid = r.u32("child_pid")?;
    let duration_ns = r.uint()?;
    let probe_error = r.u32("probe_error")?;
    let parent_path = r.text_ref("parent_path")?;
    if !r.0.is_empty() {
        return Err(DecodeError::Invalid("trailing bytes"));
    }
    Ok(ProcessEventView {
        action,
        syscall,
        time_ns,
        task,
        path,
        filename,
        cwd,
        argv,
        argv_truncated,
        exit_code,
        exit_signal,
        child_pid,
        duration_ns,
        probe_error,
        parent_path,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::Task;

    pub(crate) fn sample_event(time_ns: u64) -> ProcessEvent {
        ProcessEvent {
            action: ProcessAction::Exec,
            syscall: Syscall::Execve,
            time_ns,
            task: Task {
                pid: 4242,
                tid: 4242,
                parent: 1,
                uid: 1000,
                gid: 1000,
                euid: 0,
                egid: 0,
                cgroup_id: 77,
                comm: "true".into(),
            },
            path: "/usr/bin/true".into(),
            filename: "/bin/true".into(),
            cwd: "/tmp".into(),
            argv: vec!["/bin/true".into(), "a b".into(), String::new()],
            argv_truncated: false,
            exit_code: -2,
            exit_signal: 0,
            child_pid: 0,
            duration_ns: 12_345,
            probe_error: 0,
            parent_path: "/usr/bin/bash".into(),
        }
    }

    #[test]
    fn round_trips() {
        let event = sample_event(1_700_000_000_123_456_789);
        let bytes = encode_process_event(&event);
        assert_eq!(decode_process_event(&bytes), Ok(event));
    }

    #[test]
    fn a_view_reads_the_stored_event_in_place() {
        let event = sample_event(1_700_000_000_123_456_789);
        let bytes = encode_process_event(&event);
        let stored = decode_process_event_view(&bytes).expect("a view");
        let own = event.view();
        for view in [&stored, &own] {
            assert_eq!(view.to_event().expect("an event"), event);
            assert_eq!(view.argv.len(), event.argv.len());
            assert_eq!(view.argv.cmdline(), event.cmdline());
            assert_eq!(view.argv.iter().collect::<Vec<_>>(), event.argv);
        }
        // The view's strings are the stored bytes themselves, not copies.
        let stored_range = bytes.as_ptr_range();
        assert!(stored_range.contains(&stored.path.as_bytes().as_ptr()));
        assert!(stored_range.contains(&stored.task.comm.as_bytes().as_ptr()));
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let bytes = encode_process_event(&sample_event(1));
        for len in 0..bytes.len() {
            assert!(
                decode_process_event(&bytes[..len]).is_err(),
                "prefix of {len} bytes"
            );
        }
    }

    #[test]
    fn rejects_unknown_versions_and_garbage() {
        assert_eq!(decode_process_event(&[9]), Err(DecodeError::Version(9)));
        assert!(decode_process_event(b"\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff").is_err());
        let mut bytes = encode_process_event(&sample_event(1));
        bytes.push(0);
        assert!(decode_process_event(&bytes).is_err());
    }
}
