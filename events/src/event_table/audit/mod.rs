//! The audit publisher's events: `process_events`, `socket_events` and `user_events`, made from
//! the kernel's audit records by `crate::linux::audit`.

pub(crate) mod stored;

pub use stored::{
    decode_audit_process_event, decode_audit_socket_event, decode_user_event,
    encode_audit_process_event, encode_audit_socket_event, encode_user_event,
};

use super::TableEvent;
use crate::{codec::DecodeError, model::Syscall};

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

impl TableEvent for AuditProcessEvent {
    fn time_ns(&self) -> u64 {
        self.time_ns
    }

    fn encode(&self) -> Vec<u8> {
        stored::encode_audit_process_event(self)
    }

    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        stored::decode_audit_process_event(bytes)
    }
}

impl TableEvent for AuditSocketEvent {
    fn time_ns(&self) -> u64 {
        self.time_ns
    }

    fn encode(&self) -> Vec<u8> {
        stored::encode_audit_socket_event(self)
    }

    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        stored::decode_audit_socket_event(bytes)
    }
}

impl TableEvent for UserEvent {
    fn time_ns(&self) -> u64 {
        self.time_ns
    }

    fn encode(&self) -> Vec<u8> {
        stored::encode_user_event(self)
    }

    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        stored::decode_user_event(bytes)
    }
}
