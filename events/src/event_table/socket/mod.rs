//! `bpf_socket_events`: socket calls, from the eBPF publisher's socket records.

#[cfg(target_os = "linux")]
pub(crate) mod ebpf;
pub(crate) mod stored;
mod view;

#[cfg(target_os = "linux")]
pub use ebpf::{SockAddr, parse_sockaddr};
pub use stored::{decode_socket_event, decode_socket_event_view, encode_socket_event};
pub use view::SocketEventView;

use super::TableEvent;
use crate::{
    codec::DecodeError,
    model::{Actor, Syscall},
};

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
    pub fn status(&self) -> SocketStatus {
        status_of(self.syscall, self.result)
    }
}

/// A call's outcome from its return value: a non-blocking connect still under way is not a
/// failure.
fn status_of(syscall: Syscall, result: i64) -> SocketStatus {
    const EINPROGRESS: i64 = 115;
    if result >= 0 {
        SocketStatus::Succeeded
    } else if syscall == Syscall::Connect && result == -EINPROGRESS {
        SocketStatus::InProgress
    } else {
        SocketStatus::Failed
    }
}

impl TableEvent for SocketEvent {
    fn time_ns(&self) -> u64 {
        self.time_ns
    }

    fn actor_mut(&mut self) -> Option<&mut Actor> {
        Some(&mut self.actor)
    }

    fn encode(&self) -> Vec<u8> {
        stored::encode_socket_event(self)
    }

    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        stored::decode_socket_event(bytes)
    }
}
