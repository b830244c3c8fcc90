//! The typed events vigil stores and serves, independent of where they came from.

/// What happened to a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessAction {
    Exec,
    ExecFailed,
    Fork,
    Exit,
}

/// The syscall behind a process event, with the names osquery's `syscall` column uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syscall {
    Unknown,
    Execve,
    Execveat,
    Fork,
    Vfork,
    Clone,
    Clone3,
    Exit,
    Connect,
    Accept,
    Accept4,
    Bind,
    Listen,
}

impl Syscall {
    pub fn as_str(self) -> &'static str {
        match self {
            Syscall::Unknown => "unknown",
            Syscall::Execve => "execve",
            Syscall::Execveat => "execveat",
            Syscall::Fork => "fork",
            Syscall::Vfork => "vfork",
            Syscall::Clone => "clone",
            Syscall::Clone3 => "clone3",
            Syscall::Exit => "exit",
            Syscall::Connect => "connect",
            Syscall::Accept => "accept",
            Syscall::Accept4 => "accept4",
            Syscall::Bind => "bind",
            Syscall::Listen => "listen",
        }
    }

    pub(crate) fn code(self) -> u8 {
        match self {
            Syscall::Unknown => 0,
            Syscall::Execve => 1,
            Syscall::Execveat => 2,
            Syscall::Fork => 3,
            Syscall::Vfork => 4,
            Syscall::Clone => 5,
            Syscall::Clone3 => 6,
            Syscall::Exit => 7,
            Syscall::Connect => 8,
            Syscall::Accept => 9,
            Syscall::Accept4 => 10,
            Syscall::Bind => 11,
            Syscall::Listen => 12,
        }
    }

    pub(crate) fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0 => Syscall::Unknown,
            1 => Syscall::Execve,
            2 => Syscall::Execveat,
            3 => Syscall::Fork,
            4 => Syscall::Vfork,
            5 => Syscall::Clone,
            6 => Syscall::Clone3,
            7 => Syscall::Exit,
            8 => Syscall::Connect,
            9 => Syscall::Accept,
            10 => Syscall::Accept4,
            11 => Syscall::Bind,
            12 => Syscall::Listen,
            _ => return None,
        })
    }
}

/// One process event: an exec (successful or not), a fork, or an exit.
///
/// `pid` is always the process that made the call (osquery's convention): for a fork, the parent;
/// the new process is `child_pid`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProcessEvent {
    pub action: ProcessAction,
    pub syscall: Syscall,
    /// Wall-clock time of the event in nanoseconds since the Unix epoch.
    pub time_ns: u64,
    pub pid: u32,
    pub tid: u32,
    /// The parent process id; 0 when unknown.
    pub parent: u32,
    pub uid: u32,
    pub gid: u32,
    pub euid: u32,
    pub egid: u32,
    pub cgroup_id: u64,
    pub comm: String,
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

/// Who made a call, as every event records it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Actor {
    pub pid: u32,
    pub tid: u32,
    pub parent: u32,
    pub uid: u32,
    pub gid: u32,
    pub euid: u32,
    pub egid: u32,
    pub cgroup_id: u64,
    pub comm: String,
    /// The caller's executable and command line, from the process table.
    pub path: String,
    pub cmdline: String,
}

/// How a socket call ended, in the words of osquery's `socket_events.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketStatus {
    Succeeded,
    Failed,
    /// A non-blocking connect that the kernel is still completing (`EINPROGRESS`).
    InProgress,
}

impl SocketStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SocketStatus::Succeeded => "succeeded",
            SocketStatus::Failed => "failed",
            SocketStatus::InProgress => "in_progress",
        }
    }
}

/// One socket call: connect, accept, accept4, bind or listen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SocketEvent {
    pub syscall: Syscall,
    pub time_ns: u64,
    pub actor: Actor,
    /// The socket the call was made on (accept: the listening socket).
    pub fd: i32,
    /// The syscall's return value: 0 or the accepted fd, or -errno.
    pub result: i64,
    pub family: u16,
    pub sock_type: u16,
    pub protocol: u16,
    pub local_address: String,
    pub local_port: u16,
    pub remote_address: String,
    pub remote_port: u16,
    /// For UNIX sockets: the path (abstract names start with `@`).
    pub socket_path: String,
    pub duration_ns: u64,
    pub probe_error: u32,
}

impl SocketEvent {
    const EINPROGRESS: i64 = 115;

    pub fn status(&self) -> SocketStatus {
        if self.result >= 0 {
            SocketStatus::Succeeded
        } else if self.syscall == Syscall::Connect && self.result == -Self::EINPROGRESS {
            SocketStatus::InProgress
        } else {
            SocketStatus::Failed
        }
    }
}
