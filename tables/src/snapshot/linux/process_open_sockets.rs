//! `process_open_sockets`: the inet and UNIX sockets each process holds, joining the
//! `socket:[inode]` links of `/proc/<pid>/fd` with the socket lists of the process's own network
//! namespace (`/proc/<pid>/net/{tcp,udp,udplite,raw,icmp}{,6}` and `unix`). Sockets no readable
//! process holds (`TIME_WAIT`, other users' processes) have pid and fd -1, as in osquery.

use std::collections::{HashMap, HashSet};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;

use super::process_open_files::{all_pids, descriptors, pid_constraint};
use crate::snapshot::util::rows;
use crate::{
    row::table_row,
    table::{Column, Row, Rows, ScanRequest, Table, TableError, Value},
};

table_row! {
    struct OpenSocketRow {
        pid: Integer,
        fd: BigInt,
        socket: BigInt,
        family: Integer,
        protocol: Integer,
        local_address: Text,
        remote_address: Text,
        local_port: Integer,
        remote_port: Integer,
        path: Text,
        state: Text,
        net_namespace: Text,
    }
}

const PID: usize = OpenSocketRow::pid;

pub(crate) const AF_UNIX: i32 = libc::AF_UNIX;
pub(crate) const AF_INET: i32 = libc::AF_INET;
pub(crate) const AF_INET6: i32 = libc::AF_INET6;

/// The kernel's `TCP_LISTEN` in the `st` column.
pub(crate) const TCP_LISTEN: u8 = 0x0A;

/// `__SO_ACCEPTCON` in the flags of `/proc/net/unix`: the socket is listening.
const UNIX_ACCEPTING: u64 = 0x0001_0000;

/// `SOCK_STREAM` in the type column of `/proc/net/unix`.
pub(crate) const UNIX_STREAM: u16 = 1;

/// The inet socket lists of a network namespace, with the protocol each holds.
const INET_LISTS: &[(&str, i32, i32)] = &[
    ("tcp", AF_INET, libc::IPPROTO_TCP),
    ("tcp6", AF_INET6, libc::IPPROTO_TCP),
    ("udp", AF_INET, libc::IPPROTO_UDP),
    ("udp6", AF_INET6, libc::IPPROTO_UDP),
    ("udplite", AF_INET, libc::IPPROTO_UDPLITE),
    ("udplite6", AF_INET6, libc::IPPROTO_UDPLITE),
    ("raw", AF_INET, libc::IPPROTO_RAW),
    ("raw6", AF_INET6, libc::IPPROTO_RAW),
    ("icmp", AF_INET, libc::IPPROTO_ICMP),
    ("icmp6", AF_INET6, libc::IPPROTO_ICMPV6),
];

/// One line of a `/proc/net` socket list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SocketInfo {
    pub inode: u64,
    pub family: i32,
    pub protocol: i32,
    pub local_address: String,
    pub local_port: u16,
    pub remote_address: String,
    pub remote_port: u16,
    /// UNIX sockets: the bound path (`@…` for abstract names), empty when unbound.
    pub path: String,
    /// The kernel's state number (`st`).
    pub state: u8,
    /// UNIX sockets: listening for connections.
    pub accepting: bool,
    /// UNIX sockets: `SOCK_STREAM`, `SOCK_DGRAM`, …
    pub unix_type: u16,
}

impl SocketInfo {
    /// The state as osquery names it: TCP states by name, none for connectionless protocols.
    pub fn state_name(&self) -> &'static str {
        if self.family == AF_UNIX {
            return match (self.accepting, self.state) {
                (true, _) => "LISTEN",
                (false, 1) => "UNCONNECTED",
                (false, 2) => "CONNECTING",
                (false, 3) => "CONNECTED",
                (false, 4) => "DISCONNECTING",
                _ => "",
            };
        }
        if self.protocol != libc::IPPROTO_TCP {
            return "";
        }
        match self.state {
            0x01 => "ESTABLISHED",
            0x02 => "SYN_SENT",
            0x03 => "SYN_RECV",
            0x04 => "FIN_WAIT1",
            0x05 => "FIN_WAIT2",
            0x06 => "TIME_WAIT",
            0x07 => "CLOSED",
            0x08 => "CLOSE_WAIT",
            0x09 => "LAST_ACK",
            TCP_LISTEN => "LISTEN",
            0x0B => "CLOSING",
            _ => "UNKNOWN",
        }
    }
}

/// A socket as a process holds it. `pid` and `fd` are -1 for a socket no readable process holds.
#[derive(Debug, Clone)]
pub(crate) struct OpenSocket {
    pub pid: i64,
    pub fd: i64,
    pub net_namespace: u64,
    pub info: SocketInfo,
}

/// Every socket `pids` hold (each process, or `None`: every process, plus the sockets none of
/// them holds), from the socket lists of each network namespace they are in.
pub(crate) fn open_sockets(pids: Option<&[u32]>) -> Vec<OpenSocket> {
    let filtered = pids.is_some();
    let all;
    let pids = match pids {
        Some(p) => p,
        None => {
            all = all_pids();
            &all
        }
    };

    // Every socket of each namespace read, and where to find it by inode.
    let mut sockets: Vec<(u64, SocketInfo)> = Vec::new();
    let mut by_inode: HashMap<u64, usize> = HashMap::new();
    let mut namespaces_read: HashSet<u64> = HashSet::new();
    // (pid, fd, socket inode), in pid and fd order.
    let mut held: Vec<(u32, u64, u64)> = Vec::new();

    for &pid in pids {
        let proc_dir = Path::new("/proc").join(pid.to_string());
        // A process that exited (or a zombie, which has no namespaces left) is skipped.
        let Some(namespace) = net_namespace(&proc_dir) else {
            continue;
        };
        if namespaces_read.insert(namespace) {
            for info in namespace_sockets(&proc_dir.join("net")) {
                if info.inode != 0 {
                    by_inode.insert(info.inode, sockets.len());
                }
                sockets.push((namespace, info));
            }
        }
        let Some(descriptors) = descriptors(pid) else {
            continue;
        };
        for (fd, target) in descriptors {
            if let Some(inode) = socket_inode(&target) {
                held.push((pid, fd, inode));
            }
        }
    }

    let mut out = Vec::new();
    let mut owned: HashSet<u64> = HashSet::new();
    for (pid, fd, inode) in held {
        // Netlink, packet and other sockets are in none of the lists read.
        let Some((namespace, info)) = by_inode.get(&inode).and_then(|&i| sockets.get(i)) else {
            continue;
        };
        owned.insert(inode);
        out.push(OpenSocket {
            pid: i64::from(pid),
            fd: i64::try_from(fd).unwrap_or(-1),
            net_namespace: *namespace,
            info: info.clone(),
        });
    }
    if !filtered {
        for (namespace, info) in sockets {
            if info.inode == 0 || !owned.contains(&info.inode) {
                out.push(OpenSocket {
                    pid: -1,
                    fd: -1,
                    net_namespace: namespace,
                    info,
                });
            }
        }
    }
    out
}

/// The pids a scan with a `pid` column at `column` reads; `None` for every process. Ownerless
/// sockets have pid -1, so a constraint naming any value below 1 needs the full scan.
pub(crate) fn socket_pids(request: &ScanRequest, column: usize) -> Option<Vec<u32>> {
    let values = pid_constraint(request, column)?;
    if values.iter().any(|&v| v < 1) {
        return None;
    }
    Some(
        values
            .into_iter()
            .filter_map(|v| u32::try_from(v).ok())
            .collect(),
    )
}

/// The inode of the network namespace a process is in, from its `ns/net` link (`net:[N]`).
fn net_namespace(proc_dir: &Path) -> Option<u64> {
    let link = std::fs::read_link(proc_dir.join("ns/net")).ok()?;
    link.to_str()?
        .strip_prefix("net:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

/// The inode a descriptor link `socket:[N]` names.
pub(crate) fn socket_inode(target: &str) -> Option<u64> {
    target
        .strip_prefix("socket:[")?
        .strip_suffix(']')?
        .parse()
        .ok()
}

/// Every inet and UNIX socket in the lists of one network namespace's `net` directory. A list
/// the kernel lacks (no IPv6, no UDP-Lite) contributes nothing.
fn namespace_sockets(net_dir: &Path) -> Vec<SocketInfo> {
    let mut out = Vec::new();
    for &(file, family, protocol) in INET_LISTS {
        if let Ok(text) = std::fs::read_to_string(net_dir.join(file)) {
            out.extend(
                text.lines()
                    .skip(1)
                    .filter_map(|line| parse_inet_line(line, family, protocol)),
            );
        }
    }
    if let Ok(text) = std::fs::read_to_string(net_dir.join("unix")) {
        out.extend(text.lines().skip(1).filter_map(parse_unix_line));
    }
    out
}

/// One line of `/proc/net/{tcp,udp,raw,…}{,6}`:
/// `sl local:port remote:port st tx:rx tr:when retrnsmt uid timeout inode …`.
pub(crate) fn parse_inet_line(line: &str, family: i32, protocol: i32) -> Option<SocketInfo> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let (local_address, local_port) = parse_endpoint(fields.get(1)?, family)?;
    let (remote_address, remote_port) = parse_endpoint(fields.get(2)?, family)?;
    let state = u8::from_str_radix(fields.get(3)?, 16).ok()?;
    let inode = fields.get(9)?.parse().ok()?;
    Some(SocketInfo {
        inode,
        family,
        protocol,
        local_address,
        local_port,
        remote_address,
        remote_port,
        path: String::new(),
        state,
        accepting: false,
        unix_type: 0,
    })
}

/// `ADDRESS:PORT` in hex, the port in host order and the address as the kernel's in-memory
/// 32-bit words printed as host-order integers (so byte-swapped on little-endian machines).
pub(crate) fn parse_endpoint(text: &str, family: i32) -> Option<(String, u16)> {
    let (address, port) = text.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    Some((decode_address(address, family)?, port))
}

/// A hex address of a `/proc/net` socket list, as `inet_ntop` would print it.
pub(crate) fn decode_address(hex: &str, family: i32) -> Option<String> {
    let word = |i: usize| -> Option<[u8; 4]> {
        let digits = hex.get(i * 8..i * 8 + 8)?;
        Some(u32::from_str_radix(digits, 16).ok()?.to_ne_bytes())
    };
    match family {
        AF_INET if hex.len() == 8 => Some(Ipv4Addr::from(word(0)?).to_string()),
        AF_INET6 if hex.len() == 32 => {
            let mut bytes = [0u8; 16];
            for (i, chunk) in bytes.chunks_exact_mut(4).enumerate() {
                chunk.copy_from_slice(&word(i)?);
            }
            Some(Ipv6Addr::from(bytes).to_string())
        }
        _ => None,
    }
}

/// One line of `/proc/net/unix`: `Num RefCount Protocol Flags Type St Inode [Path]`, the path
/// being the rest of the line (it may hold spaces).
pub(crate) fn parse_unix_line(line: &str) -> Option<SocketInfo> {
    let mut rest = line.trim_start();
    let mut fields = [""; 7];
    for field in &mut fields {
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let (token, tail) = rest.split_at(end);
        if token.is_empty() {
            return None;
        }
        *field = token;
        rest = tail.trim_start();
    }
    let [num, _refcount, protocol, flags, unix_type, state, inode] = fields;
    num.strip_suffix(':')?;
    Some(SocketInfo {
        inode: inode.parse().ok()?,
        family: AF_UNIX,
        protocol: i32::from_str_radix(protocol, 16).ok()?,
        local_address: String::new(),
        local_port: 0,
        remote_address: String::new(),
        remote_port: 0,
        path: rest.trim_end().to_owned(),
        state: u8::from_str_radix(state, 16).ok()?,
        accepting: u64::from_str_radix(flags, 16).ok()? & UNIX_ACCEPTING != 0,
        unix_type: u16::from_str_radix(unix_type, 16).ok()?,
    })
}

pub struct ProcessOpenSockets;

impl Table for ProcessOpenSockets {
    fn name(&self) -> &'static str {
        "process_open_sockets"
    }

    fn columns(&self) -> &'static [Column] {
        OpenSocketRow::COLUMNS
    }

    fn pushdown_columns(&self) -> &'static [usize] {
        &[PID]
    }

    fn scan(&self, request: &ScanRequest) -> Result<Rows, TableError> {
        let pids = socket_pids(request, PID);
        let out: Vec<Row> = open_sockets(pids.as_deref())
            .into_iter()
            .map(|s| {
                let i = &s.info;
                let unix = i.family == AF_UNIX;
                let text_or_null = |t: &str| {
                    if t.is_empty() { Value::Null } else { t.into() }
                };
                OpenSocketRow {
                    pid: s.pid.into(),
                    fd: s.fd.into(),
                    socket: i.inode.into(),
                    family: i.family.into(),
                    protocol: i.protocol.into(),
                    local_address: i.local_address.as_str().into(),
                    remote_address: i.remote_address.as_str().into(),
                    local_port: u32::from(i.local_port).into(),
                    remote_port: u32::from(i.remote_port).into(),
                    path: if unix {
                        i.path.as_str().into()
                    } else {
                        Value::Null
                    },
                    state: text_or_null(i.state_name()),
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

    #[test]
    #[cfg(target_endian = "little")]
    fn decodes_known_addresses() {
        assert_eq!(
            parse_endpoint("0100007F:1F90", AF_INET),
            Some(("127.0.0.1".to_owned(), 8080))
        );
        assert_eq!(
            parse_endpoint("00000000:0016", AF_INET),
            Some(("0.0.0.0".to_owned(), 22))
        );
        assert_eq!(
            decode_address("0101A8C0", AF_INET).as_deref(),
            Some("192.168.1.1")
        );
        assert_eq!(
            parse_endpoint("00000000000000000000000001000000:0035", AF_INET6),
            Some(("::1".to_owned(), 53))
        );
        assert_eq!(
            decode_address("00000000000000000000000000000000", AF_INET6).as_deref(),
            Some("::")
        );
        // ::ffff:127.0.0.1, an IPv4 peer of a dual-stack socket.
        assert_eq!(
            decode_address("0000000000000000FFFF00000100007F", AF_INET6).as_deref(),
            Some("::ffff:127.0.0.1")
        );
        // fe80::1:2ff:fe03:405 as the kernel prints it.
        assert_eq!(
            decode_address("000080FE00000000FF020100050403FE", AF_INET6).as_deref(),
            Some("fe80::1:2ff:fe03:405")
        );
        // 2001:db8::1
        assert_eq!(
            decode_address("B80D0120000000000000000001000000", AF_INET6).as_deref(),
            Some("2001:db8::1")
        );
    }

    #[test]
    fn rejects_malformed_addresses() {
        assert_eq!(decode_address("0100007F", AF_INET6), None);
        assert_eq!(decode_address("0100007", AF_INET), None);
        assert_eq!(decode_address("0100007G", AF_INET), None);
        assert_eq!(decode_address("é100007F", AF_INET), None);
        assert_eq!(decode_address("0100007F", AF_UNIX), None);
        assert_eq!(parse_endpoint("0100007F", AF_INET), None);
        assert_eq!(parse_endpoint("0100007F:10000", AF_INET), None);
        assert_eq!(parse_inet_line("", AF_INET, 6), None);
        assert_eq!(
            parse_inet_line(
                "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
                AF_INET,
                6
            ),
            None
        );
        assert_eq!(
            parse_inet_line("   0: 0100007F:1F90 00000000:0000 0A", AF_INET, 6),
            None
        );
    }

    #[test]
    #[cfg(target_endian = "little")]
    fn parses_socket_list_lines() {
        let line = "   1: 0100007F:1F90 0200007F:D431 01 00000000:00000000 00:00000000 00000000  1000        0 424242 1 0000000000000000 20 4 30 10 -1";
        let info = parse_inet_line(line, AF_INET, libc::IPPROTO_TCP).expect("tcp line");
        assert_eq!(info.local_address, "127.0.0.1");
        assert_eq!(info.local_port, 8080);
        assert_eq!(info.remote_address, "127.0.0.2");
        assert_eq!(info.remote_port, 0xD431);
        assert_eq!(info.inode, 424242);
        assert_eq!(info.state_name(), "ESTABLISHED");

        let line = "0000000000000000: 00000002 00000000 00010000 0001 01 31337 /run/my socket";
        let info = parse_unix_line(line).expect("unix line");
        assert_eq!(info.inode, 31337);
        assert_eq!(info.path, "/run/my socket");
        assert!(info.accepting);
        assert_eq!(info.unix_type, UNIX_STREAM);
        assert_eq!(info.state_name(), "LISTEN");

        let line = "0000000000000000: 00000003 00000000 00000000 0001 03 777";
        let info = parse_unix_line(line).expect("unnamed unix line");
        assert_eq!(info.path, "");
        assert_eq!(info.state_name(), "CONNECTED");

        assert_eq!(
            parse_unix_line("Num       RefCount Protocol Flags    Type St Inode Path"),
            None
        );
        assert_eq!(parse_unix_line("0000: 2 0 10000 1 01"), None);
    }

    #[test]
    fn socket_links() {
        assert_eq!(socket_inode("socket:[12345]"), Some(12345));
        assert_eq!(socket_inode("pipe:[12345]"), None);
        assert_eq!(socket_inode("socket:[x]"), None);
        assert_eq!(socket_inode("/tmp/socket:[1]"), None);
    }

    fn scan(request: &ScanRequest) -> Vec<Row> {
        ProcessOpenSockets
            .scan(request)
            .expect("scan")
            .collect::<Result<Vec<_>, _>>()
            .expect("rows")
    }

    fn pid_request(pid: i64) -> ScanRequest {
        ScanRequest {
            constraints: vec![Constraint {
                column: PID,
                op: ConstraintOp::Eq,
                value: Value::Int(pid),
            }],
            ..Default::default()
        }
    }

    fn column(name: &str) -> usize {
        OpenSocketRow::COLUMNS
            .iter()
            .position(|c| c.name == name)
            .expect("column exists")
    }

    #[test]
    fn finds_this_process_listener_and_connection() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = i64::from(listener.local_addr().expect("addr").port());
        let udp = UdpSocket::bind("127.0.0.1:0").expect("udp bind");
        let udp_port = i64::from(udp.local_addr().expect("addr").port());
        let client = TcpStream::connect(("127.0.0.1", listener.local_addr().expect("addr").port()))
            .expect("connect");
        let client_port = i64::from(client.local_addr().expect("addr").port());
        let (_server_side, _) = listener.accept().expect("accept");
        let pid = i64::from(std::process::id());
        let namespace = std::fs::read_link("/proc/self/ns/net")
            .expect("netns link")
            .to_string_lossy()
            .trim_start_matches("net:[")
            .trim_end_matches(']')
            .to_owned();

        let rows = scan(&pid_request(pid));
        let (p, fam, proto, laddr, lport, raddr, rport, state, ns, fd, sock) = (
            column("pid"),
            column("family"),
            column("protocol"),
            column("local_address"),
            column("local_port"),
            column("remote_address"),
            column("remote_port"),
            column("state"),
            column("net_namespace"),
            column("fd"),
            column("socket"),
        );
        assert!(rows.iter().all(|r| r[p] == Value::Int(pid)), "{rows:?}");

        let listening: Vec<&Row> = rows
            .iter()
            .filter(|r| r[lport] == Value::Int(port) && r[state] == Value::from("LISTEN"))
            .collect();
        assert_eq!(listening.len(), 1, "{rows:?}");
        let row = listening[0];
        assert_eq!(row[fam], Value::Int(2));
        assert_eq!(row[proto], Value::Int(6));
        assert_eq!(row[laddr], Value::from("127.0.0.1"));
        assert_eq!(row[rport], Value::Int(0));
        assert_eq!(row[ns], Value::Text(namespace));
        // The fd is the listener's own: its link names the reported socket inode.
        let link = std::fs::read_link(format!("/proc/self/fd/{}", row[fd].as_i64().expect("fd")))
            .expect("fd link");
        assert_eq!(
            socket_inode(&link.to_string_lossy())
                .map(|i| Value::Int(i64::try_from(i).expect("inode"))),
            Some(row[sock].clone())
        );

        // The client end: its remote port is the listener's.
        let client_row = rows
            .iter()
            .find(|r| r[lport] == Value::Int(client_port) && r[rport] == Value::Int(port))
            .expect("client row");
        assert_eq!(client_row[state], Value::from("ESTABLISHED"));
        assert_eq!(client_row[raddr], Value::from("127.0.0.1"));
        // The accepted end: remote port is the client's.
        assert!(
            rows.iter()
                .any(|r| r[lport] == Value::Int(port) && r[rport] == Value::Int(client_port))
        );
        // UDP: no state.
        let udp_row = rows
            .iter()
            .find(|r| r[lport] == Value::Int(udp_port) && r[proto] == Value::Int(17))
            .expect("udp row");
        assert_eq!(udp_row[state], Value::Null);
    }

    #[test]
    fn finds_ipv6_and_unix_sockets() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("vigil-test.sock");
        let _unix = std::os::unix::net::UnixListener::bind(&path).expect("unix bind");
        let v6 = TcpListener::bind("[::1]:0").ok();
        let pid = i64::from(std::process::id());
        let rows = scan(&ScanRequest::default());

        let path = path.to_string_lossy().into_owned();
        let unix_row = rows
            .iter()
            .find(|r| r[column("path")] == Value::Text(path.clone()))
            .expect("unix socket row");
        assert_eq!(unix_row[column("pid")], Value::Int(pid));
        assert_eq!(unix_row[column("family")], Value::Int(1));
        assert_eq!(unix_row[column("state")], Value::from("LISTEN"));

        // Without IPv6 in the kernel there is no [::1] to listen on.
        if let Some(v6) = v6 {
            let port = i64::from(v6.local_addr().expect("addr").port());
            let row = rows
                .iter()
                .find(|r| {
                    r[column("local_port")] == Value::Int(port)
                        && r[column("family")] == Value::Int(10)
                })
                .expect("ipv6 listener row");
            assert_eq!(row[column("pid")], Value::Int(pid));
            assert_eq!(row[column("local_address")], Value::from("::1"));
        }
    }
}
