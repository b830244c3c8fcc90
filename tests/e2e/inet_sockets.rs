//! The TCP and UDP sockets a process holds, as the kernel lists them: the process's socket fds
//! (`/proc/<pid>/fd`, `socket:[inode]`) matched against its network namespace's tables
//! (`/proc/<pid>/net/{tcp,tcp6,udp,udp6,raw,raw6}`).

use std::{
    collections::HashSet,
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
};

/// TCP's LISTEN state in `/proc/net/tcp`.
const TCP_LISTEN: u8 = 0x0A;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InetSocket {
    /// `tcp`, `tcp6`, `udp`, `udp6`, `raw` or `raw6`: the table it was found in.
    pub table: &'static str,
    pub local: SocketAddr,
    pub remote: SocketAddr,
    pub state: u8,
}

impl InetSocket {
    /// Why this socket breaks "never listens": it listens, or is bound with no peer (a UDP
    /// socket with a port and no peer receives from anyone), or is raw.
    pub fn listening(&self) -> Option<String> {
        let unconnected = self.remote.port() == 0;
        match self.table {
            "tcp" | "tcp6" if self.state == TCP_LISTEN => {
                Some(format!("listens on TCP {}", self.local))
            }
            "tcp" | "tcp6" if unconnected && self.local.port() != 0 => Some(format!(
                "holds TCP {} bound without a peer (state {:#x})",
                self.local, self.state
            )),
            "udp" | "udp6" if unconnected && self.local.port() != 0 => {
                Some(format!("holds UDP {} bound without a peer", self.local))
            }
            "raw" | "raw6" => Some(format!("holds a raw socket on {}", self.local)),
            _ => None,
        }
    }
}

/// The inodes of the sockets among `pid`'s open files (empty once it is gone).
fn socket_inodes(pid: u32) -> HashSet<u64> {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return HashSet::new();
    };
    fds.flatten()
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .filter_map(|target| {
            target
                .to_str()?
                .strip_prefix("socket:[")?
                .strip_suffix(']')?
                .parse()
                .ok()
        })
        .collect()
}

/// An address as `/proc/net/*` prints it: `0100007F:1F90` (IPv4, the 32-bit word in host
/// order), or 32 hex digits for IPv6 (four such words).
fn parse_address(text: &str) -> Option<SocketAddr> {
    let (ip, port) = text.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let words = (0..ip.len() / 8)
        .map(|i| u32::from_str_radix(&ip[i * 8..i * 8 + 8], 16))
        .collect::<Result<Vec<_>, _>>()
        .ok()?;
    let ip = match words.as_slice() {
        [word] => IpAddr::V4(Ipv4Addr::from(word.to_ne_bytes())),
        [a, b, c, d] => {
            let mut bytes = [0u8; 16];
            for (chunk, word) in bytes.chunks_exact_mut(4).zip([a, b, c, d]) {
                chunk.copy_from_slice(&word.to_ne_bytes());
            }
            IpAddr::V6(Ipv6Addr::from(bytes))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

/// The TCP, UDP and raw sockets `pid` holds now.
pub fn inet_sockets_of(pid: u32) -> Vec<InetSocket> {
    let inodes = socket_inodes(pid);
    if inodes.is_empty() {
        return Vec::new();
    }
    let mut found = Vec::new();
    for table in ["tcp", "tcp6", "udp", "udp6", "raw", "raw6"] {
        let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(remote), Some(state), Some(inode)) =
                (fields.get(1), fields.get(2), fields.get(3), fields.get(9))
            else {
                continue;
            };
            let Ok(inode) = inode.parse::<u64>() else {
                continue;
            };
            if !inodes.contains(&inode) {
                continue;
            }
            let (Some(local), Some(remote), Ok(state)) = (
                parse_address(local),
                parse_address(remote),
                u8::from_str_radix(state, 16),
            ) else {
                panic!("a line of /proc/{pid}/net/{table} does not parse: {line}");
            };
            found.push(InetSocket {
                table,
                local,
                remote,
                state,
            });
        }
    }
    found
}

#[test]
fn addresses_read_as_the_kernel_prints_them() {
    assert_eq!(
        parse_address("0100007F:1F90"),
        Some("127.0.0.1:8080".parse().expect("v4"))
    );
    assert_eq!(
        parse_address("00000000000000000000000001000000:0050"),
        Some("[::1]:80".parse().expect("v6"))
    );
    assert_eq!(parse_address("0100007F"), None);
}

#[test]
fn a_listening_socket_of_this_process_is_seen() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listen");
    let port = listener.local_addr().expect("addr").port();
    let mine = inet_sockets_of(std::process::id());
    let reasons: Vec<String> = mine.iter().filter_map(InetSocket::listening).collect();
    assert!(
        reasons.contains(&format!("listens on TCP 127.0.0.1:{port}")),
        "{mine:?}"
    );
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp");
    let udp_port = udp.local_addr().expect("addr").port();
    let reasons: Vec<String> = inet_sockets_of(std::process::id())
        .iter()
        .filter_map(InetSocket::listening)
        .collect();
    assert!(
        reasons.contains(&format!(
            "holds UDP 127.0.0.1:{udp_port} bound without a peer"
        )),
        "{reasons:?}"
    );
}
