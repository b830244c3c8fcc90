//! A socket event read in place, as `ProcessEventView` reads a process event: its strings
//! borrowed from where it is stored and checked as UTF-8 only when read.

use super::{SocketEvent, SocketStatus, status_of};
use crate::{
    codec::DecodeError,
    model::{ActorView, StoredText, Syscall},
};

#[derive(Debug, Clone, Copy)]
pub struct SocketEventView<'a> {
    pub syscall: Syscall,
    pub time_ns: u64,
    pub actor: ActorView<'a>,
    pub fd: i32,
    pub result: i64,
    pub family: u16,
    pub sock_type: u16,
    pub protocol: u16,
    pub local_address: StoredText<'a>,
    pub local_port: u16,
    pub remote_address: StoredText<'a>,
    pub remote_port: u16,
    pub socket_path: StoredText<'a>,
    pub duration_ns: u64,
    pub probe_error: u32,
}

impl SocketEventView<'_> {
    pub fn status(&self) -> SocketStatus {
        status_of(self.syscall, self.result)
    }

    /// The owned event; a string that is not UTF-8 (a damaged row) is an error naming its field.
    pub fn to_event(&self) -> Result<SocketEvent, DecodeError> {
        Ok(SocketEvent {
            syscall: self.syscall,
            time_ns: self.time_ns,
            actor: self.actor.to_actor()?,
            fd: self.fd,
            result: self.result,
            family: self.family,
            sock_type: self.sock_type,
            protocol: self.protocol,
            local_address: self.local_address.to_str()?.to_owned(),
            local_port: self.local_port,
            remote_address: self.remote_address.to_str()?.to_owned(),
            remote_port: self.remote_port,
            socket_path: self.socket_path.to_str()?.to_owned(),
            duration_ns: self.duration_ns,
            probe_error: self.probe_error,
        })
    }
}

impl SocketEvent {
    pub fn view(&self) -> SocketEventView<'_> {
        SocketEventView {
            syscall: self.syscall,
            time_ns: self.time_ns,
            actor: self.actor.view(),
            fd: self.fd,
            result: self.result,
            family: self.family,
            sock_type: self.sock_type,
            protocol: self.protocol,
            local_address: StoredText::of(&self.local_address),
            local_port: self.local_port,
            remote_address: StoredText::of(&self.remote_address),
            remote_port: self.remote_port,
            socket_path: StoredText::of(&self.socket_path),
            duration_ns: self.duration_ns,
            probe_error: self.probe_error,
        }
    }
}
