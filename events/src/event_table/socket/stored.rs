//! How a socket event is stored.

use super::{SocketEvent, view::SocketEventView};
use crate::{
    codec::{
        DecodeError,
        caller::{read_actor_view, write_actor},
        wire::{Reader, Writer},
    },
    model::Syscall,
};

const SOCKET_EVENT_V1: u8 = 1;

pub fn encode_socket_event(event: &SocketEvent) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(96 + event.actor.cmdline.len()));
    w.0.push(SOCKET_EVENT_V1);
    w.0.push(event.syscall.code());
    w.uint(event.time_ns);
    write_actor(&mut w, &event.actor);
    w.int(event.fd.into());
    w.int(event.result);
    w.uint(event.family.into());
    w.uint(event.sock_type.into());
    w.uint(event.protocol.into());
    w.str(&event.local_address);
    w.uint(event.local_port.into());
    w.str(&event.remote_address);
    w.uint(event.remote_port.into());
    w.str(&event.socket_path);
    w.uint(event.duration_ns);
    w.uint(event.probe_error.into());
    w.0
}

pub fn decode_socket_event(bytes: &[u8]) -> Result<SocketEvent, DecodeError> {
    decode_socket_event_view(bytes).and_then(|view| view.to_event())
}

/// Reads a stored socket event in place (see [`SocketEventView`]); the same checks as
/// [`decode_socket_event`] but UTF-8, which is checked where a string is read.
pub fn decode_socket_event_view(bytes: &[u8]) -> Result<SocketEventView<'_>, DecodeError> {
    let mut r = Reader(bytes);
    let version = r.byte()?;
    if version != SOCKET_EVENT_V1 {
        return Err(DecodeError::Version(version));
    }
    let syscall = Syscall::from_code(r.byte()?).ok_or(DecodeError::Invalid("syscall"))?;
    let time_ns = r.uint()?;
    let actor = read_actor_view(&mut r)?;
    let fd = i32::try_from(r.int()?).map_err(|_| DecodeError::Invalid("fd"))?;
    let event = SocketEventView {
        syscall,
        time_ns,
        actor,
        fd,
        result: r.int()?,
        family: r.u16("family")?,
        sock_type: r.u16("type")?,
        protocol: r.u16("protocol")?,
        local_address: r.text_ref("local_address")?,
        local_port: r.u16("local_port")?,
        remote_address: r.text_ref("remote_address")?,
        remote_port: r.u16("remote_port")?,
        socket_path: r.text_ref("socket_path")?,
        duration_ns: r.uint()?,
        probe_error: r.u32("probe_error")?,
    };
    r.finish()?;
    Ok(event)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::{Actor, Task};

    pub(crate) fn sample_socket_event(time_ns: u64) -> SocketEvent {
        SocketEvent {
            syscall: Syscall::Connect,
            time_ns,
            actor: Actor {
                task: Task {
                    pid: 7,
                    tid: 8,
                    parent: 1,
                    uid: 1000,
                    gid: 1000,
                    euid: 1000,
                    egid: 1000,
                    cgroup_id: 3,
                    comm: "curl".into(),
                },
                path: "/usr/bin/curl".into(),
                cmdline: "curl https://example.com".into(),
            },
            fd: 5,
            result: -115,
            family: 10,
            sock_type: 1,
            protocol: 6,
            local_address: "::1".into(),
            local_port: 40000,
            remote_address: "::1".into(),
            remote_port: 443,
            socket_path: String::new(),
            duration_ns: 99,
            probe_error: 0,
        }
    }

    #[test]
    fn socket_events_round_trip_and_reject_truncation() {
        let event = sample_socket_event(5);
        let bytes = encode_socket_event(&event);
        assert_eq!(decode_socket_event(&bytes), Ok(event));
        for len in 0..bytes.len() {
            assert!(decode_socket_event(&bytes[..len]).is_err(), "prefix {len}");
        }
    }
}
