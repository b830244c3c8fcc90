//! Socket records: connect, accept, accept4, bind and listen, over IPv4, IPv6, UNIX and
//! netlink sockets.

use std::mem::{offset_of, size_of};

use vigil_ebpf_common::{RecordKind, SOCKADDR_CAPACITY, SocketRecord, SyscallId, socket_sources};

use super::{header, record_bytes};

const AF_UNIX: u16 = 1;
const AF_INET: u16 = 2;
const AF_INET6: u16 = 10;
const AF_NETLINK: u16 = 16;

/// The socket record's fields end 4 bytes before its size (it is 8-aligned); the others end at
/// their size.
const SOCKET_FIELDS_END: usize = offset_of!(SocketRecord, user_addr) + SOCKADDR_CAPACITY;

// Checked at compile time: the last field of the record ends where `record_bytes` stops reading.
const _: () = {
    assert!(SOCKET_FIELDS_END + 4 == size_of::<SocketRecord>());
};

fn socket(syscall: SyscallId, result: i64, fill: impl FnOnce(&mut SocketRecord)) -> Vec<u8> {
    let mut record = SocketRecord {
        header: header(RecordKind::Socket, syscall, 2004, "curl"),
        result,
        duration_ns: 25_000,
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
        user_addr: [0; SOCKADDR_CAPACITY],
    };
    fill(&mut record);
    record_bytes(&record, SOCKET_FIELDS_END)
}

fn sockaddr_in(port: u16, address: [u8; 4]) -> Vec<u8> {
    let mut raw = AF_INET.to_ne_bytes().to_vec();
    raw.extend_from_slice(&port.to_be_bytes());
    raw.extend_from_slice(&address);
    raw.resize(16, 0);
    raw
}

fn sockaddr_in6(port: u16, address: [u8; 16]) -> Vec<u8> {
    let mut raw = AF_INET6.to_ne_bytes().to_vec();
    raw.extend_from_slice(&port.to_be_bytes());
    raw.extend_from_slice(&[0; 4]); // flow info
    raw.extend_from_slice(&address);
    raw.extend_from_slice(&[0; 4]); // scope id
    raw
}

fn sockaddr_un(path: &[u8]) -> Vec<u8> {
    let mut raw = AF_UNIX.to_ne_bytes().to_vec();
    raw.extend_from_slice(path);
    raw
}

fn user_addr(record: &mut SocketRecord, raw: &[u8]) {
    record.sources |= socket_sources::USER_ADDR;
    record.user_addr[..raw.len()].copy_from_slice(raw);
    record.user_addr_len = raw.len() as u32;
}

fn sock(record: &mut SocketRecord, family: u16, sock_type: u16, protocol: u16) {
    record.sources |= socket_sources::SOCK;
    record.sock_family = family;
    record.sock_type = sock_type;
    record.sock_protocol = protocol;
}

/// Records the kernel side produces, one per kind of event and path the decoder takes.
pub(super) fn valid_records() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (
            "socket-connect-ipv4-in-progress",
            socket(SyscallId::Connect, -115, |r| {
                sock(r, AF_INET, 1, 6);
                r.sock_local_addr[..4].copy_from_slice(&[10, 0, 0, 5]);
                r.sock_local_port = 41_000;
                user_addr(r, &sockaddr_in(443, [93, 184, 215, 14]));
            }),
        ),
        (
            "socket-connect-ipv6-refused",
            socket(SyscallId::Connect, -111, |r| {
                sock(r, AF_INET6, 1, 6);
                let mut loopback = [0u8; 16];
                loopback[15] = 1;
                user_addr(r, &sockaddr_in6(8443, loopback));
            }),
        ),
        (
            "socket-accept4-ipv6",
            socket(SyscallId::Accept4, 7, |r| {
                sock(r, AF_INET6, 1, 6);
                r.sock_local_addr[15] = 1;
                r.sock_remote_addr[15] = 1;
                r.sock_local_port = 8080;
                r.sock_remote_port = 51_000u16.to_be();
            }),
        ),
        (
            "socket-bind-port-zero",
            socket(SyscallId::Bind, 0, |r| {
                sock(r, AF_INET, 2, 17);
                r.sock_local_port = 33_333;
                user_addr(r, &sockaddr_in(0, [0, 0, 0, 0]));
            }),
        ),
        (
            "socket-bind-unix-path",
            socket(SyscallId::Bind, 0, |r| {
                sock(r, AF_UNIX, 1, 0);
                user_addr(r, &sockaddr_un(b"/run/app.sock\0"));
            }),
        ),
        (
            "socket-connect-unix-abstract",
            socket(SyscallId::Connect, 0, |r| {
                sock(r, AF_UNIX, 1, 0);
                user_addr(r, &sockaddr_un(b"\0dbus-session"));
            }),
        ),
        (
            "socket-listen",
            socket(SyscallId::Listen, 0, |r| {
                sock(r, AF_INET, 1, 6);
                r.sock_local_port = 22;
            }),
        ),
        (
            "socket-connect-netlink",
            socket(SyscallId::Connect, 0, |r| {
                user_addr(r, &[AF_NETLINK as u8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            }),
        ),
    ]
}
