//! `listening_ports`: TCP sockets in `LISTEN`, bound unconnected UDP and UDP-Lite sockets, and
//! named UNIX sockets that accept connections or datagrams, with the processes holding them
//! (pid -1 when no readable process does). Built on [`super::process_open_sockets`].

use super::process_open_sockets::{
    AF_UNIX, OpenSocket, TCP_LISTEN, UNIX_STREAM, open_sockets, socket_pids,
};
use crate::snapshot::util::rows;
use crate::{
    row::table_row,
    table::{Column, Row, Rows, ScanRequest, Table, TableError, Value},
};

table_row! {
    struct ListeningPortRow {
        pid: Integer,
        port: Integer,
        protocol: Integer,
        family: Integer,
        address: Text,
        fd: BigInt,
        socket: BigInt,
        path: Text,
        net_namespace: Text,
    }
}

const PID: usize = ListeningPortRow::pid;

pub struct ListeningPorts;

/// Whether a socket waits for others to reach it.
fn is_listening(socket: &OpenSocket) -> bool {
    let info = &socket.info;
    if info.family == AF_UNIX {
        // An accepted stream socket carries its listener's path too; only the listener counts.
        return !info.path.is_empty() && (info.accepting || info.unix_type != UNIX_STREAM);
    }
    match info.protocol {
        libc::IPPROTO_TCP => info.state == TCP_LISTEN,
        // A connected UDP socket only hears its peer; port 0 is not bound yet.
        libc::IPPROTO_UDP | libc::IPPROTO_UDPLITE => info.remote_port == 0 && info.local_port != 0,
        // Raw and ping sockets have no port to listen on.
        _ => false,
    }
}

impl Table for ListeningPorts {
    fn name(&self) -> &'static str {
        "listening_ports"
    }

    fn columns(&self) -> &'static [Column] {
        ListeningPortRow::COLUMNS
    }

    fn pushdown_columns(&self) -> &'static [usize] {
        &[PID]
    }

    fn scan(&self, request: &ScanRequest) -> Result<Rows, TableError> {
        let pids = socket_pids(request, PID);
        let out: Vec<Row> = open_sockets(pids.as_deref())
            .into_iter()
            .filter(is_listening)
            .map(|s| {
                let i = &s.info;
                let unix = i.family == AF_UNIX;
                ListeningPortRow {
                    pid: s.pid.into(),
                    port: u32::from(i.local_port).into(),
                    protocol: i.protocol.into(),
                    family: i.family.into(),
                    address: if unix {
                        Value::Null
                    } else {
                        i.local_address.as_str().into()
                    },
                    fd: s.fd.into(),
                    socket: i.inode.into(),
                    path: if unix {
                        i.path.as_str().into()
                    } else {
                        Value::Null
                    },
                    net_namespace: s.net_namespace.to_string().into(),
                }
                .into()
            })
            .collect();
        Ok(rows(out))
    }
}

#[cfg(test)]
mod tests {
    use std::net::{TcpListener, TcpStream, UdpSocket};

    use super::*;
    use crate::table::{Constraint, ConstraintOp};

    fn scan(request: &ScanRequest) -> Vec<Row> {
        ListeningPorts
            .scan(request)
            .expect("scan")
            .collect::<Result<Vec<_>, _>>()
            .expect("rows")
    }

    /// The rows for `port` and `protocol`.
    fn find(rows: &[Row], port: u16, protocol: i64) -> Vec<Row> {
        rows.iter()
            .filter(|r| r[1] == Value::Int(i64::from(port)) && r[2] == Value::Int(protocol))
            .cloned()
            .collect()
    }

    #[test]
    fn lists_this_process_listeners() {
        let tcp4 = TcpListener::bind("127.0.0.1:0").expect("bind tcp4");
        let tcp4_port = tcp4.local_addr().expect("addr").port();
        // Without IPv6 in the kernel there is no [::1] to listen on.
        let tcp6 = TcpListener::bind("[::1]:0").ok();
        let udp = UdpSocket::bind("127.0.0.1:0").expect("bind udp");
        let udp_port = udp.local_addr().expect("addr").port();
        // A connected client and the accepted end are not listening.
        let client = TcpStream::connect(("127.0.0.1", tcp4_port)).expect("connect");
        let client_port = client.local_addr().expect("addr").port();
        let (_accepted, _) = tcp4.accept().expect("accept");
        let pid = i64::from(std::process::id());

        for request in [
            ScanRequest::default(),
            ScanRequest {
                constraints: vec![Constraint {
                    column: PID,
                    op: ConstraintOp::Eq,
                    value: Value::Int(pid),
                }],
                ..Default::default()
            },
        ] {
            let rows = scan(&request);

            let found = find(&rows, tcp4_port, 6);
            assert_eq!(found.len(), 1, "tcp4 {tcp4_port} in {rows:?}");
            let row = &found[0];
            assert_eq!(row[0], Value::Int(pid));
            assert_eq!(row[3], Value::Int(2));
            assert_eq!(row[4], Value::from("127.0.0.1"));
            assert_eq!(row[7], Value::Null);

            let found = find(&rows, udp_port, 17);
            assert_eq!(found.len(), 1, "udp {udp_port} in {rows:?}");
            assert_eq!(found[0][0], Value::Int(pid));
            assert_eq!(found[0][3], Value::Int(2));
            assert_eq!(found[0][4], Value::from("127.0.0.1"));

            if let Some(tcp6) = &tcp6 {
                let port = tcp6.local_addr().expect("addr").port();
                let found = find(&rows, port, 6);
                assert_eq!(found.len(), 1, "tcp6 {port} in {rows:?}");
                assert_eq!(found[0][0], Value::Int(pid));
                assert_eq!(found[0][3], Value::Int(10));
                assert_eq!(found[0][4], Value::from("::1"));
            }

            assert!(find(&rows, client_port, 6).is_empty());
            if !request.constraints.is_empty() {
                assert!(rows.iter().all(|r| r[0] == Value::Int(pid)));
            }
        }
    }

    #[test]
    fn a_closed_listener_is_gone() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        drop(listener);
        let pid = i64::from(std::process::id());
        let rows = scan(&ScanRequest {
            constraints: vec![Constraint {
                column: PID,
                op: ConstraintOp::Eq,
                value: Value::Int(pid),
            }],
            ..Default::default()
        });
        assert!(find(&rows, port, 6).is_empty());
    }
}
