//! Socket records: connect, accept, accept4, bind and listen, with the addresses the kernel's
//! socket holds and those the caller passed.

use std::net::{Ipv4Addr, Ipv6Addr};

use vigil_ebpf_common::{RecordKind, SocketRecord, socket_sources};

use super::SocketEvent;
use crate::{
    event_table::ebpf::{EbpfKind, RecordError, actor, clock::BootClock, read, syscall, text},
    model::Syscall,
};

const AF_UNIX: u16 = 1;
const AF_INET: u16 = 2;
const AF_INET6: u16 = 10;

/// A socket address as the kernel's `struct sockaddr_*` lays it out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SockAddr {
    Inet {
        address: String,
        port: u16,
    },
    Unix {
        path: String,
    },
    /// A family vigil does not parse (netlink, packet, ...): only its number is reported.
    Other,
}

/// Parses the first `len` bytes of a `struct sockaddr`: family, then the family's fields.
pub fn parse_sockaddr(bytes: &[u8]) -> Option<(u16, SockAddr)> {
    let family = u16::from_ne_bytes(bytes.get(..2)?.try_into().ok()?);
    let port = || bytes.get(2..4).map(|p| u16::from_be_bytes([p[0], p[1]]));
    let parsed = match family {
        AF_INET => {
            let a: [u8; 4] = bytes.get(4..8)?.try_into().ok()?;
            SockAddr::Inet {
                address: Ipv4Addr::from(a).to_string(),
                port: port()?,
            }
        }
        AF_INET6 => {
            let a: [u8; 16] = bytes.get(8..24)?.try_into().ok()?;
            SockAddr::Inet {
                address: Ipv6Addr::from(a).to_string(),
                port: port()?,
            }
        }
        AF_UNIX => {
            let raw = bytes.get(2..).unwrap_or(&[]);
            let path = match raw.split_first() {
                // Abstract names start with a NUL; show them the way ss(8) does.
                Some((0, rest)) if !rest.is_empty() => {
                    format!("@{}", String::from_utf8_lossy(rest).trim_end_matches('\0'))
                }
                _ => text(raw),
            };
            SockAddr::Unix { path }
        }
        _ => SockAddr::Other,
    };
    Some((family, parsed))
}

fn sock_address(family: u16, raw: &[u8; 16]) -> String {
    if family == AF_INET6 {
        Ipv6Addr::from(*raw).to_string()
    } else {
        Ipv4Addr::new(raw[0], raw[1], raw[2], raw[3]).to_string()
    }
}

pub(super) fn decode_socket(bytes: &[u8], clock: &BootClock) -> Result<SocketEvent, RecordError> {
    let r: SocketRecord = read(bytes)?;
    let h = &r.header;
    let mut event = SocketEvent {
        syscall: syscall(h.syscall),
        time_ns: clock.wall_ns(h.boot_ns),
        actor: actor(h),
        fd: r.fd,
        result: r.result,
        family: 0,
        sock_type: 0,
        protocol: 0,
        local_address: String::new(),
        local_port: 0,
        remote_address: String::new(),
        remote_port: 0,
        socket_path: String::new(),
        duration_ns: r.duration_ns,
        probe_error: h.probe_error,
    };
    let from_sock = r.sources & socket_sources::SOCK != 0;
    let user = if r.sources & socket_sources::USER_ADDR != 0 {
        let len = (r.user_addr_len as usize).min(r.user_addr.len());
        parse_sockaddr(&r.user_addr[..len])
    } else {
        None
    };
    if from_sock {
        event.family = r.sock_family;
        event.sock_type = r.sock_type;
        event.protocol = r.sock_protocol;
    } else if let Some((family, _)) = &user {
        event.family = *family;
    }
    // What the kernel's socket says, for IP sockets (its address fields mean nothing otherwise).
    let sock_inet = from_sock && matches!(r.sock_family, AF_INET | AF_INET6);
    let sock_local = sock_inet.then(|| {
        (
            sock_address(r.sock_family, &r.sock_local_addr),
            r.sock_local_port,
        )
    });
    let sock_remote = sock_inet.then(|| {
        (
            sock_address(r.sock_family, &r.sock_remote_addr),
            u16::from_be(r.sock_remote_port),
        )
    });
    let user_inet = match &user {
        Some((_, SockAddr::Inet { address, port })) => Some((address.clone(), *port)),
        _ => None,
    };
    if let Some((_, SockAddr::Unix { path })) = &user {
        event.socket_path.clone_from(path);
    }
    let (local, remote) = match event.syscall {
        // Where the caller asked to go; the local end the kernel picked for it.
        Syscall::Connect => (sock_local, user_inet.or(sock_remote)),
        // What the caller asked for, with the port the kernel chose when it asked for port 0.
        Syscall::Bind => {
            let local = match (user_inet, sock_local) {
                (Some((addr, 0)), Some((_, port))) if event.result == 0 => Some((addr, port)),
                (Some(user), _) => Some(user),
                (None, sock) => sock,
            };
            (local, None)
        }
        Syscall::Accept | Syscall::Accept4 => (sock_local, sock_remote.or(user_inet)),
        _ => (sock_local, None),
    };
    if let Some((address, port)) = local {
        event.local_address = address;
        event.local_port = port;
    }
    if let Some((address, port)) = remote {
        event.remote_address = address;
        event.remote_port = port;
    }
    if !event.socket_path.is_empty() {
        match event.syscall {
            Syscall::Bind => event.local_address.clone_from(&event.socket_path),
            Syscall::Connect => event.remote_address.clone_from(&event.socket_path),
            _ => {}
        }
    }
    Ok(event)
}

impl EbpfKind for SocketEvent {
    const WITHOUT_BTF: &'static str = "parent, effective ids and the addresses read from sockets";

    fn decode(_kind: RecordKind, bytes: &[u8], clock: &BootClock) -> Result<Self, RecordError> {
        decode_socket(bytes, clock)
    }
}

#[cfg(test)]
mod tests {
    use vigil_ebpf_common::{RecordKind, SyscallId};

    use super::*;
    use crate::event_table::ebpf::test_records::*;
    use crate::event_table::{Event, ebpf::decode_record};

    fn socket_record(syscall: SyscallId, result: i64) -> SocketRecord {
        SocketRecord {
            header: header(RecordKind::Socket, syscall),
            result,
            duration_ns: 5,
            fd: 3,
            sources: 0,
            sock_family: 0,
            sock_type: 0,
            sock_protocol: 0,
            sock_local_port: 0,
            sock_remote_port: 0,
            _pad: 0,
            sock_local_addr: [0; 16],
            sock_remote_addr: [0; 16],
            user_addr_len: 0,
            _pad2: 0,
            user_addr: [0; vigil_ebpf_common::SOCKADDR_CAPACITY],
        }
    }

    fn decode_socket_record(record: &SocketRecord) -> SocketEvent {
        match decode_record(&as_bytes(record), &BootClock::with_offset(0)) {
            Ok(Event::Socket(event)) => event,
            other => panic!("a socket record decodes to a socket event: {other:?}"),
        }
    }

    #[test]
    fn a_connect_reports_the_asked_destination_and_the_local_end() {
        let mut r = socket_record(SyscallId::Connect, -115);
        r.sources = socket_sources::SOCK | socket_sources::USER_ADDR;
        r.sock_family = AF_INET;
        r.sock_type = 1;
        r.sock_protocol = 6;
        r.sock_local_addr[..4].copy_from_slice(&[127, 0, 0, 1]);
        r.sock_local_port = 40_000;
        // sockaddr_in { AF_INET, port 8080 (network order), 127.0.0.2 }
        r.user_addr[..8].copy_from_slice(&[2, 0, 0x1f, 0x90, 127, 0, 0, 2]);
        r.user_addr_len = 16;
        let e = decode_socket_record(&r);
        assert_eq!(
            (e.local_address.as_str(), e.local_port),
            ("127.0.0.1", 40_000)
        );
        assert_eq!(
            (e.remote_address.as_str(), e.remote_port),
            ("127.0.0.2", 8080)
        );
        assert_eq!((e.family, e.sock_type, e.protocol), (2, 1, 6));
        assert_eq!(e.status(), crate::SocketStatus::InProgress);
    }

    #[test]
    fn an_accept_reports_the_peer_from_the_new_socket_and_ipv6_is_formatted() {
        let mut r = socket_record(SyscallId::Accept4, 7);
        r.sources = socket_sources::SOCK;
        r.sock_family = AF_INET6;
        r.sock_local_addr[15] = 1;
        r.sock_remote_addr[15] = 1;
        r.sock_local_port = 8080;
        r.sock_remote_port = 51_000u16.to_be();
        let e = decode_socket_record(&r);
        assert_eq!((e.local_address.as_str(), e.local_port), ("::1", 8080));
        assert_eq!((e.remote_address.as_str(), e.remote_port), ("::1", 51_000));
        assert_eq!(e.status(), crate::SocketStatus::Succeeded);
    }

    #[test]
    fn a_bind_to_port_zero_reports_the_port_the_kernel_chose() {
        let mut r = socket_record(SyscallId::Bind, 0);
        r.sources = socket_sources::SOCK | socket_sources::USER_ADDR;
        r.sock_family = AF_INET;
        r.sock_local_port = 33_333;
        r.user_addr[..8].copy_from_slice(&[2, 0, 0, 0, 0, 0, 0, 0]);
        r.user_addr_len = 16;
        let e = decode_socket_record(&r);
        assert_eq!(
            (e.local_address.as_str(), e.local_port),
            ("0.0.0.0", 33_333)
        );
    }

    #[test]
    fn unix_socket_paths_plain_and_abstract() {
        let mut plain = vec![1u8, 0];
        plain.extend_from_slice(b"/run/x.sock\0");
        assert_eq!(
            parse_sockaddr(&plain),
            Some((
                1,
                SockAddr::Unix {
                    path: "/run/x.sock".into()
                }
            ))
        );
        let mut abstract_name = vec![1u8, 0, 0];
        abstract_name.extend_from_slice(b"hidden");
        assert_eq!(
            parse_sockaddr(&abstract_name),
            Some((
                1,
                SockAddr::Unix {
                    path: "@hidden".into()
                }
            ))
        );
        assert_eq!(
            parse_sockaddr(&[2, 0, 1]),
            None,
            "a short sockaddr_in is not guessed"
        );
        assert_eq!(parse_sockaddr(&[16, 0]), Some((16, SockAddr::Other)));
    }
}
