//! Windows' Event Tracing (ETW) events turned into vigil's rows, as pure functions of what a
//! session delivers: compiled and tested on every platform with recorded events; the Windows
//! publisher (`crate::windows`) only feeds them.
//!
//! - `process`: Microsoft-Windows-Kernel-Process's start events joined with the kernel logger's
//!   process events (which alone carry the command line and the user), into
//!   `process_etw_events`;
//! - `file`: Microsoft-Windows-Kernel-File's create, write, delete and rename, into
//!   `etw_file_events`;
//! - `network`: Microsoft-Windows-Kernel-Network's TCP connect/accept and UDP send/receive,
//!   into `etw_socket_events`.

pub mod convert;
pub mod file;
pub mod network;
pub mod process;
pub mod record;
pub mod stored;

#[cfg(test)]
pub(crate) mod fixtures;

pub use convert::VolumeMap;
pub use record::{PropertyError, Provider, Record, Value};

/// Names of accounts by SID string (`LookupAccountSidW` on Windows), for the `username` column.
pub trait AccountNames {
    /// `DOMAIN\user` for a SID such as `S-1-5-21-...-1013`; `None` when unknown.
    fn name_of(&self, sid: &str) -> Option<String>;
}

impl<F: Fn(&str) -> Option<String>> AccountNames for F {
    fn name_of(&self, sid: &str) -> Option<String> {
        self(sid)
    }
}

/// Whether a `process_etw_events` row is a start or a stop (osquery's `type` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcessEventType {
    ProcessStart,
    ProcessStop,
}

impl ProcessEventType {
    pub fn as_str(self) -> &'static str {
        match self {
            ProcessEventType::ProcessStart => "ProcessStart",
            ProcessEventType::ProcessStop => "ProcessStop",
        }
    }
}

/// A process start or stop (`process_etw_events`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtwProcessEvent {
    pub event_type: ProcessEventType,
    /// Nanoseconds since the Unix epoch: the process's creation time for a start, the event's
    /// time for a stop.
    pub time_ns: u64,
    /// The same instant as a FILETIME (osquery's `time_windows`).
    pub time_windows: u64,
    /// The process the event header names.
    pub header_pid: u32,
    pub pid: u32,
    pub ppid: u32,
    pub session_id: u32,
    pub flags: u32,
    /// Stop: the exit status as a signed 32-bit value (NTSTATUS codes come out negative, as
    /// osquery shows them).
    pub exit_code: i32,
    /// The executable, with its drive letter (`C:\Windows\System32\cmd.exe`).
    pub path: String,
    pub cmdline: String,
    /// The user's SID string, and the account name when it could be looked up.
    pub user_sid: String,
    pub username: String,
    /// `TokenElevationTypeDefault|Full|Limited`; empty when the event does not say.
    pub token_elevation_type: String,
    pub token_elevation_status: u32,
    /// The integrity level's SID (`S-1-16-12288` for High).
    pub mandatory_label: String,
    pub process_sequence_number: u64,
    pub parent_process_sequence_number: u64,
}

/// What an `etw_file_events` row did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileOperation {
    /// A new file (Kernel-File's CreateNewFile).
    Create,
    Write,
    Delete,
    Rename,
}

impl FileOperation {
    pub fn as_str(self) -> &'static str {
        match self {
            FileOperation::Create => "create",
            FileOperation::Write => "write",
            FileOperation::Delete => "delete",
            FileOperation::Rename => "rename",
        }
    }

    pub(crate) fn code(self) -> u8 {
        match self {
            FileOperation::Create => 1,
            FileOperation::Write => 2,
            FileOperation::Delete => 3,
            FileOperation::Rename => 4,
        }
    }

    pub(crate) fn from_code(code: u8) -> Option<Self> {
        [
            FileOperation::Create,
            FileOperation::Write,
            FileOperation::Delete,
            FileOperation::Rename,
        ]
        .into_iter()
        .find(|op| op.code() == code)
    }
}

/// A file call (`etw_file_events`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtwFileEvent {
    pub operation: FileOperation,
    pub time_ns: u64,
    pub pid: u32,
    pub tid: u32,
    /// With its drive letter; empty for a write to a file whose open the session did not see
    /// (opened before it started).
    pub path: String,
    /// The kernel's file object, which ties a write to its create.
    pub file_object: u64,
    /// create: `CreateOptions` (disposition in the top byte), `CreateAttributes`, `ShareAccess`.
    pub create_options: u32,
    pub attributes: u32,
    pub share_access: u32,
    /// write: the offset and the bytes written.
    pub offset: u64,
    pub size: u32,
}

/// What an `etw_socket_events` row did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SocketAction {
    Connect,
    Accept,
    Send,
    Recv,
}

impl SocketAction {
    pub fn as_str(self) -> &'static str {
        match self {
            SocketAction::Connect => "connect",
            SocketAction::Accept => "accept",
            SocketAction::Send => "send",
            SocketAction::Recv => "recv",
        }
    }

    pub(crate) fn code(self) -> u8 {
        match self {
            SocketAction::Connect => 1,
            SocketAction::Accept => 2,
            SocketAction::Send => 3,
            SocketAction::Recv => 4,
        }
    }

    pub(crate) fn from_code(code: u8) -> Option<Self> {
        [
            SocketAction::Connect,
            SocketAction::Accept,
            SocketAction::Send,
            SocketAction::Recv,
        ]
        .into_iter()
        .find(|action| action.code() == code)
    }
}

/// A TCP connection attempted or accepted, or a UDP datagram sent or received
/// (`etw_socket_events`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtwSocketEvent {
    pub action: SocketAction,
    pub time_ns: u64,
    pub pid: u32,
    /// `AF_INET` (2) or `AF_INET6` (23, Windows' value).
    pub family: u16,
    /// 6 (TCP) or 17 (UDP).
    pub protocol: u16,
    pub local_address: String,
    pub local_port: u16,
    pub remote_address: String,
    pub remote_port: u16,
    /// Bytes sent or received (UDP); for TCP what the event's `size` says.
    pub size: u32,
    /// The provider's connection id.
    pub connection_id: u64,
}
