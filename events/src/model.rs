//! The typed events vigil stores and serves, independent of where they came from.

/// What happened to a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessAction {
    Exec,
    ExecFailed,
    Fork,
    Exit,
}

macro_rules! model_syscalls {
    (
        ids { $($Other:ident = $other_id:literal, $other_name:ident;)* }
        syscalls {
            $($Variant:ident = $id:literal, $name:ident, $family:ident, $args:literal,
              $enter:ident, $exit:ident;)*
        }
    ) => {
        /// The syscall behind an event, with the names osquery's `syscall` column uses.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Syscall {
            $($Other,)*
            $($Variant,)*
        }

        impl Syscall {
            /// Every syscall, in the table's order.
            pub const ALL: &'static [Syscall] = &[$(Syscall::$Other,)* $(Syscall::$Variant,)*];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Syscall::$Other => stringify!($other_name),)*
                    $(Syscall::$Variant => stringify!($name),)*
                }
            }

            /// The number stored rows keep: the id kernel records carry.
            pub(crate) fn code(self) -> u8 {
                match self {
                    $(Syscall::$Other => $other_id,)*
                    $(Syscall::$Variant => $id,)*
                }
            }

            pub(crate) fn from_code(code: u8) -> Option<Self> {
                match code {
                    $($other_id => Some(Syscall::$Other),)*
                    $($id => Some(Syscall::$Variant),)*
                    _ => None,
                }
            }
        }
    };
}

// Generated from the one table of syscalls, which the kernel side's ids come from too.
vigil_ebpf_common::for_each_syscall!(model_syscalls);

/// The task that made a call, as the kernel side saw it: every event has one.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Task {
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

/// Who made a socket or file call: the task, and what the process table knows of it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Actor {
    pub task: Task,
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

/// What a file event did, in the words of the `operation` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileOperation {
    /// Opened for writing (`flags` tells whether it created or truncated).
    Open,
    /// Opened read-only, under a directory whose reads are watched (`file_accesses`).
    Read,
    Truncate,
    Unlink,
    Rmdir,
    Rename,
    Chmod,
    Chown,
    Link,
    Symlink,
    Mkdir,
}

impl FileOperation {
    pub fn as_str(self) -> &'static str {
        match self {
            FileOperation::Open => "open",
            FileOperation::Read => "read",
            FileOperation::Truncate => "truncate",
            FileOperation::Unlink => "unlink",
            FileOperation::Rmdir => "rmdir",
            FileOperation::Rename => "rename",
            FileOperation::Chmod => "chmod",
            FileOperation::Chown => "chown",
            FileOperation::Link => "link",
            FileOperation::Symlink => "symlink",
            FileOperation::Mkdir => "mkdir",
        }
    }

    pub(crate) fn code(self) -> u8 {
        self as u8
    }

    pub(crate) fn from_code(code: u8) -> Option<Self> {
        use FileOperation::*;
        [
            Open, Read, Truncate, Unlink, Rmdir, Rename, Chmod, Chown, Link, Symlink, Mkdir,
        ]
        .into_iter()
        .find(|op| op.code() == code)
    }
}

/// One file call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEvent {
    pub operation: FileOperation,
    pub syscall: Syscall,
    pub time_ns: u64,
    pub actor: Actor,
    /// Absolute, exact; when it could not be resolved exactly (a `..` after a component the
    /// caller named, or a directory not walked), as given or joined and `path_resolved` false.
    pub path: String,
    pub path_resolved: bool,
    /// rename: the new name; link: the new link; symlink: the link's target as written.
    pub dest_path: String,
    pub mode: u32,
    pub flags: u32,
    /// Inode and device (userspace `st_dev` encoding) when the file was at hand, else 0.
    pub inode: u64,
    pub device: u64,
    pub fd: i32,
    /// The syscall's return value: 0 or an fd, or -errno.
    pub result: i64,
    /// chown: the requested owner and group (`u32::MAX`: unchanged).
    pub new_uid: u32,
    pub new_gid: u32,
    /// truncate: the new size.
    pub size: i64,
    pub duration_ns: u64,
    pub probe_error: u32,
}

/// One kernel module call: a load (`init_module` from memory, `finit_module` from a file) or
/// an unload (`delete_module`), successful or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelModuleEvent {
    pub syscall: Syscall,
    pub time_ns: u64,
    pub actor: Actor,
    /// delete_module: the module's name as the caller gave it. Empty for loads: their name is
    /// inside the image, which the kernel side does not parse.
    pub name: String,
    /// finit_module: the module file, walked in the kernel from the descriptor (leaf side only,
    /// without a leading `/`, when the walk could not reach the root); empty otherwise.
    pub module_path: String,
    /// init_module: the image's size in bytes; 0 for the others.
    pub size: u64,
    /// init_module, finit_module: the parameters as given (empty when none or unreadable).
    pub params: String,
    /// finit_module's and delete_module's flags.
    pub flags: u32,
    /// finit_module: the module file's descriptor; -1 for the others.
    pub fd: i32,
    /// The syscall's return value: 0, or -errno.
    pub result: i64,
    pub duration_ns: u64,
    pub probe_error: u32,
}

/// The ids an audit SYSCALL record carries for its caller; `u32::MAX` when unset (an `auid` of
/// a process no login started, as the kernel writes it).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuditIds {
    pub auid: u32,
    pub uid: u32,
    pub euid: u32,
    pub suid: u32,
    pub fsuid: u32,
    pub gid: u32,
    pub egid: u32,
    pub sgid: u32,
    pub fsgid: u32,
}

/// A process event from the kernel's audit records (`process_events`): a successful exec, or a
/// fork/vfork/clone of a new process (for those, `pid` is the new process, `parent` its caller,
/// as osquery reports them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditProcessEvent {
    pub syscall: Syscall,
    /// The record's time (milliseconds precision) in nanoseconds since the Unix epoch.
    pub time_ns: u64,
    /// The audit event id (the records' serial).
    pub audit_id: u64,
    pub pid: u32,
    pub parent: u32,
    /// The executable (`exe=`).
    pub path: String,
    /// The executable's mode from the first PATH record, octal text as audit writes it.
    pub mode: String,
    pub argv: Vec<String>,
    pub cwd: String,
    pub ids: AuditIds,
    pub owner_uid: u32,
    pub owner_gid: u32,
    pub tty: String,
    /// The login session; `u32::MAX` when unset.
    pub session: u32,
    pub comm: String,
    /// Seconds since boot when the event was read.
    pub uptime: u64,
    /// The executable's times when the event was read (0 when it could not be read).
    pub atime: i64,
    pub mtime: i64,
    pub ctime: i64,
    /// Flushed without its end-of-event record: some records may be missing.
    pub incomplete: bool,
}

impl AuditProcessEvent {
    /// The command line as osquery shows it: arguments joined by single spaces.
    pub fn cmdline(&self) -> String {
        self.argv.join(" ")
    }
}

/// A socket call from the kernel's audit records (`socket_events`): bind, connect, accept or
/// accept4.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditSocketEvent {
    pub syscall: Syscall,
    pub time_ns: u64,
    pub audit_id: u64,
    pub pid: u32,
    pub parent: u32,
    pub ids: AuditIds,
    pub path: String,
    pub comm: String,
    /// The socket the call was made on.
    pub fd: i64,
    /// The syscall's return value.
    pub result: i64,
    /// `succeeded`, `failed`, `in_progress` (a non-blocking connect) or `no_client`.
    pub status: String,
    pub family: u16,
    pub local_address: String,
    pub local_port: u16,
    pub remote_address: String,
    pub remote_port: u16,
    /// For UNIX sockets: the path (abstract names start with `@`).
    pub socket_path: String,
    pub uptime: u64,
    pub incomplete: bool,
}

/// A user-space audit message (`user_events`): logins, PAM, sudo, ... sent to the kernel by
/// programs and passed on as one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserEvent {
    pub time_ns: u64,
    pub audit_id: u64,
    /// The record's message type (1100-1199, 2100-2999).
    pub message_type: u16,
    pub pid: u32,
    pub uid: u32,
    pub auid: u32,
    pub session: u32,
    /// The text of `msg='...'`.
    pub message: String,
    /// From the message: `exe`, `addr`, `terminal`, `hostname`, `res`.
    pub path: String,
    pub address: String,
    pub terminal: String,
    pub hostname: String,
    pub result: String,
    pub uptime: u64,
}
