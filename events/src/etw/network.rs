//! `etw_socket_events` from Microsoft-Windows-Kernel-Network: TCP connections attempted (events
//! 12, 28) and accepted (15, 31), UDP datagrams sent (42, 58) and received (43, 59), IPv4 and
//! IPv6. Every event names the local end `saddr`/`sport` and the remote end `daddr`/`dport`,
//! addresses and ports in network byte order.

use super::{
    EtwSocketEvent, PropertyError, Provider, Record, SocketAction,
    convert::{filetime_to_unix_ns, ipv4_from_etw, ipv6_from_etw, port_from_etw},
};

const AF_INET: u16 = 2;
/// Windows' `AF_INET6`.
const AF_INET6: u16 = 23;
const TCP: u16 = 6;
const UDP: u16 = 17;

/// The action, protocol and family of a Kernel-Network event id vigil keeps.
fn kind(event_id: u16) -> Option<(SocketAction, u16, u16)> {
    Some(match event_id {
        12 => (SocketAction::Connect, TCP, AF_INET),
        15 => (SocketAction::Accept, TCP, AF_INET),
        28 => (SocketAction::Connect, TCP, AF_INET6),
        31 => (SocketAction::Accept, TCP, AF_INET6),
        42 => (SocketAction::Send, UDP, AF_INET),
        43 => (SocketAction::Recv, UDP, AF_INET),
        58 => (SocketAction::Send, UDP, AF_INET6),
        59 => (SocketAction::Recv, UDP, AF_INET6),
        _ => return None,
    })
}

/// One Kernel-Network event as a row; nothing for the kinds vigil does not keep (data sent or
/// received over TCP, retransmits, disconnects).
pub fn socket_event(record: &Record) -> Result<Option<EtwSocketEvent>, PropertyError> {
    if record.provider != Provider::KernelNetwork {
        return Ok(None);
    }
    let Some((action, protocol, family)) = kind(record.event_id) else {
        return Ok(None);
    };
    let (local_address, remote_address) = if family == AF_INET {
        (
            ipv4_from_etw(record.u32("saddr")?).to_string(),
            ipv4_from_etw(record.u32("daddr")?).to_string(),
        )
    } else {
        let address = |name: &'static str| {
            ipv6_from_etw(record.bytes(name)?)
                .map(|address| address.to_string())
                .ok_or(PropertyError::Type {
                    provider: record.provider.name(),
                    event_id: record.event_id,
                    name,
                    expected: "a 16-byte IPv6 address",
                })
        };
        (address("saddr")?, address("daddr")?)
    };
    Ok(Some(EtwSocketEvent {
        action,
        time_ns: filetime_to_unix_ns(record.timestamp),
        pid: record.u32("PID")?,
        family,
        protocol,
        local_address,
        local_port: port_from_etw(record.u16("sport")?),
        remote_address,
        remote_port: port_from_etw(record.u16("dport")?),
        size: record.u32("size")?,
        connection_id: record.u64("connid")?,
    }))
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;

    #[test]
    fn a_tcp_connect_over_ipv4_names_both_ends() {
        let row = socket_event(&tcp_connect_v4()).expect("maps").expect("row");
        assert_eq!(row.action, SocketAction::Connect);
        assert_eq!((row.protocol, row.family), (6, 2));
        assert_eq!(row.pid, 7464);
        assert_eq!(row.local_address, "192.168.1.23");
        assert_eq!(row.local_port, 49978);
        assert_eq!(row.remote_address, "93.184.215.14");
        assert_eq!(row.remote_port, 443);
        assert_eq!(row.connection_id, 0);
        assert_eq!(row.time_ns, 1_700_000_001_500_000_000);
    }

    #[test]
    fn an_accept_and_udp_over_ipv6() {
        let accept = socket_event(&tcp_accept_v6()).expect("maps").expect("row");
        assert_eq!(accept.action, SocketAction::Accept);
        assert_eq!((accept.protocol, accept.family), (6, 23));
        assert_eq!(accept.local_address, "fe80::1c2d:3e4f:5a6b:7c8d");
        assert_eq!(accept.local_port, 3389);
        assert_eq!(accept.remote_address, "fe80::a00:27ff:fe4e:66a1");
        assert_eq!(accept.remote_port, 52144);
        let send = socket_event(&udp_send_v4()).expect("maps").expect("row");
        assert_eq!(send.action, SocketAction::Send);
        assert_eq!((send.protocol, send.family), (17, 2));
        assert_eq!(send.remote_address, "8.8.8.8");
        assert_eq!(send.remote_port, 53);
        assert_eq!(send.size, 41);
    }

    #[test]
    fn other_events_are_no_rows_and_bad_addresses_are_errors() {
        let mut sent = tcp_connect_v4();
        sent.event_id = 10;
        assert_eq!(socket_event(&sent), Ok(None));
        let mut accept = tcp_accept_v6();
        accept
            .properties
            .insert("daddr".into(), vec![0u8; 4].into());
        let error = socket_event(&accept).expect_err("short address");
        assert_eq!(
            error.to_string(),
            "Microsoft-Windows-Kernel-Network event 31: property `daddr` is not a 16-byte IPv6 address"
        );
    }
}
