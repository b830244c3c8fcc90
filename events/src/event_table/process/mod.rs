//! `bpf_process_events`: execs, forks and exits, from the eBPF publisher's process records.

#[cfg(target_os = "linux")]
pub(crate) mod ebpf;
pub(crate) mod stored;
pub(crate) mod view;

#[cfg(target_os = "linux")]
pub use ebpf::exit_status;
pub use stored::{decode_process_event, decode_process_event_view, encode_process_event};
pub use view::{Args, ProcessEventView};

use super::TableEvent;
use crate::{
    codec::DecodeError,
    model::{Syscall, Task},
};

/// What happened to a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessAction {
    Exec,
    ExecFailed,
    Fork,
    Exit,
}

/// One process event: an exec (successful or not), a fork, or an exit.
///
/// `task.pid` is always the process that made the call (osquery's convention): for a fork, the
/// parent; the new process is `child_pid`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessEvent {
    pub action: ProcessAction,
    pub syscall: Syscall,
    /// Wall-clock time of the event in nanoseconds since the Unix epoch.
    pub time_ns: u64,
    pub task: Task,
    /// The executable: resolved from the kernel for execs, from the process table otherwise.
    pub path: String,
    /// For execs: the path exactly as passed to the syscall.
    pub filename: String,
    pub cwd: String,
    pub argv: Vec<String>,
    /// argv was cut at the configured byte limit: `argv` holds only its first part.
    pub argv_truncated: bool,
    /// exec: 0 or -errno; fork: the child's pid; exit: the exit status (128 + signal if killed).
    pub exit_code: i64,
    /// exit: the signal that killed the process, else 0.
    pub exit_signal: u32,
    /// fork: the new process's id, else 0.
    pub child_pid: u32,
    /// Nanoseconds between syscall entry and the event (0 when unknown).
    pub duration_ns: u64,
    /// Bit set of what the kernel side could not read (see `vigil_ebpf_common::probe_error`).
    pub probe_error: u32,
    /// The parent's executable, from the process table; empty when unknown.
    pub parent_path: String,
}

impl ProcessEvent {
    /// The command line as osquery shows it: arguments joined by single spaces.
    pub fn cmdline(&self) -> String {
        self.argv.join(" ")
    }
}

impl TableEvent for ProcessEvent {
    fn time_ns(&self) -> u64 {
        self.time_ns
    }

    fn encode(&self) -> Vec<u8> {
        stored::encode_process_event(self)
    }

    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        stored::decode_process_event(bytes)
    }
}
