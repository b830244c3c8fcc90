//! `routes`: every route of every routing table the kernel has (main, local, others; IPv4 and
//! IPv6), asked over rtnetlink (`RTM_GETROUTE` dump) as osquery does. `type = 'local'` rows are
//! the addresses of this host.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use crate::row::table_row;
use crate::snapshot::util::{failed, rows};
use crate::table::{Column, Row, Rows, ScanRequest, Table, TableError, Value};

const NAME: &str = "routes";
/// Bounds a dump (a full-table BGP router holds about a million routes).
const MAX_ROUTES: usize = 2_000_000;
/// A kernel that stops answering a dump does not hold the query forever.
const RECEIVE_TIMEOUT_SECONDS: libc::time_t = 5;

// rtnetlink's constants (linux/netlink.h, linux/rtnetlink.h).
const NLMSG_HEADER: usize = 16;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const RTM_NEWROUTE: u16 = 24;
const RTM_GETROUTE: u16 = 26;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_DUMP: u16 = 0x300;
const RTMSG: usize = 12;
const RTA_DST: u16 = 1;
const RTA_OIF: u16 = 4;
const RTA_GATEWAY: u16 = 5;
const RTA_PRIORITY: u16 = 6;
const RTA_PREFSRC: u16 = 7;
const RTA_METRICS: u16 = 8;
const RTAX_MTU: u16 = 2;
const RTAX_HOPLIMIT: u16 = 10;

table_row! {
    struct RouteRow {
        destination: Text,
        netmask: Integer,
        gateway: Text,
        source: Text,
        flags: Integer,
        interface: Text,
        mtu: Integer,
        metric: Integer,
        r#type: Text,
        hopcount: Integer,
    }
}

pub struct Routes;

impl Table for Routes {
    fn name(&self) -> &'static str {
        NAME
    }

    fn columns(&self) -> &'static [Column] {
        RouteRow::COLUMNS
    }

    fn scan(&self, _request: &ScanRequest) -> Result<Rows, TableError> {
        let messages = dump().map_err(|e| failed(NAME, format!("rtnetlink route dump: {e}")))?;
        Ok(rows(messages.iter().filter_map(|m| route(m)).collect()))
    }
}

/// The payloads (after the netlink header) of every `RTM_NEWROUTE` message of a dump.
fn dump() -> std::io::Result<Vec<Vec<u8>>> {
    // SAFETY: plain socket creation; the fd is owned right after.
    let raw = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            libc::NETLINK_ROUTE,
        )
    };
    if raw < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `raw` is a new fd nobody else owns.
    let socket = unsafe { OwnedFd::from_raw_fd(raw) };
    let timeout = libc::timeval {
        tv_sec: RECEIVE_TIMEOUT_SECONDS,
        tv_usec: 0,
    };
    // SAFETY: a timeval we own, its size given.
    unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&raw const timeout).cast(),
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        );
    }
    let mut request = Vec::with_capacity(NLMSG_HEADER + RTMSG);
    request.extend_from_slice(&((NLMSG_HEADER + RTMSG) as u32).to_ne_bytes());
    request.extend_from_slice(&RTM_GETROUTE.to_ne_bytes());
    request.extend_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    request.extend_from_slice(&1u32.to_ne_bytes()); // sequence
    request.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel assigns it
    request.extend_from_slice(&[0u8; RTMSG]); // AF_UNSPEC: both families, every table
    // SAFETY: sending a buffer we own, its length given.
    let sent = unsafe {
        libc::send(
            socket.as_raw_fd(),
            request.as_ptr().cast(),
            request.len(),
            0,
        )
    };
    if sent < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let mut out = Vec::new();
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        // SAFETY: receiving into a buffer we own, its length given.
        let received = unsafe {
            libc::recv(
                socket.as_raw_fd(),
                buffer.as_mut_ptr().cast(),
                buffer.len(),
                0,
            )
        };
        if received < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let received = usize::try_from(received).unwrap_or(0);
        let Some(data) = buffer.get(..received) else {
            break;
        };
        if received == 0 {
            break;
        }
        match messages(data, &mut out)? {
            Flow::Done => break,
            Flow::More if out.len() >= MAX_ROUTES => {
                tracing::warn!(
                    table = NAME,
                    max_routes = MAX_ROUTES,
                    "more routes than the table reads: the rest are left out"
                );
                break;
            }
            Flow::More => {}
        }
    }
    Ok(out)
}

enum Flow {
    More,
    Done,
}

/// Splits one datagram into netlink messages, keeping route payloads.
fn messages(mut data: &[u8], out: &mut Vec<Vec<u8>>) -> std::io::Result<Flow> {
    while data.len() >= NLMSG_HEADER {
        let length = u32_at(data, 0).unwrap_or(0) as usize;
        let kind = u16_at(data, 4).unwrap_or(0);
        if length < NLMSG_HEADER || length > data.len() {
            break;
        }
        let payload = data.get(NLMSG_HEADER..length).unwrap_or(&[]);
        match kind {
            NLMSG_DONE => return Ok(Flow::Done),
            NLMSG_ERROR => {
                let errno = payload
                    .get(..4)
                    .and_then(|b| b.try_into().ok())
                    .map_or(0, i32::from_ne_bytes);
                if errno != 0 {
                    return Err(std::io::Error::from_raw_os_error(-errno));
                }
            }
            RTM_NEWROUTE => out.push(payload.to_vec()),
            _ => {}
        }
        data = data.get(align(length)..).unwrap_or(&[]);
    }
    Ok(Flow::More)
}

/// The row of one `RTM_NEWROUTE` payload: an `rtmsg` then attributes.
fn route(payload: &[u8]) -> Option<Row> {
    let family = *payload.first()?;
    let dst_len = *payload.get(1)?;
    let route_type = *payload.get(7)?;
    let flags = u32_at(payload, 8)?;
    let mut destination = None;
    let mut gateway = None;
    let mut source = None;
    let mut interface = None;
    let mut metric = 0i64;
    let mut mtu = 0i64;
    let mut hopcount = 0i64;
    for (kind, data) in attributes(payload.get(RTMSG..)?) {
        match kind {
            RTA_DST => destination = address(family, data),
            RTA_GATEWAY => gateway = address(family, data),
            RTA_PREFSRC => source = address(family, data),
            RTA_OIF => interface = u32_at(data, 0).and_then(interface_name),
            RTA_PRIORITY => metric = u32_at(data, 0).map_or(0, i64::from),
            RTA_METRICS => {
                for (metric_kind, value) in attributes(data) {
                    let value = u32_at(value, 0).map_or(0, i64::from);
                    match metric_kind {
                        RTAX_MTU => mtu = value,
                        RTAX_HOPLIMIT => hopcount = value,
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    // No destination attribute: the default route of its family.
    let destination = destination.or_else(|| match i32::from(family) {
        libc::AF_INET => Some(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
        libc::AF_INET6 => Some(IpAddr::V6(Ipv6Addr::UNSPECIFIED)),
        _ => None,
    })?;
    let kind = match route_type {
        1 => "gateway",
        2 => "local",
        3 => "broadcast",
        4 => "anycast",
        _ => "other",
    };
    let text = |a: Option<IpAddr>| Value::Text(a.map(|a| a.to_string()).unwrap_or_default());
    Some(
        RouteRow {
            destination: destination.to_string().into(),
            netmask: i64::from(dst_len).into(),
            gateway: text(gateway),
            source: text(source),
            flags: i64::from(flags).into(),
            interface: interface.unwrap_or_default().into(),
            mtu: mtu.into(),
            metric: metric.into(),
            r#type: kind.into(),
            hopcount: hopcount.into(),
        }
        .into(),
    )
}

/// `rtattr`s: a 4-byte header (length, type), the value, padding to 4 bytes.
fn attributes(mut data: &[u8]) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    while data.len() >= 4 {
        let length = usize::from(u16_at(data, 0).unwrap_or(0));
        let kind = u16_at(data, 2).unwrap_or(0);
        if length < 4 || length > data.len() {
            break;
        }
        out.push((kind, data.get(4..length).unwrap_or(&[])));
        data = data.get(align(length)..).unwrap_or(&[]);
    }
    out
}

fn address(family: u8, data: &[u8]) -> Option<IpAddr> {
    match i32::from(family) {
        libc::AF_INET => Some(IpAddr::V4(Ipv4Addr::from(
            <[u8; 4]>::try_from(data.get(..4)?).ok()?,
        ))),
        libc::AF_INET6 => Some(IpAddr::V6(Ipv6Addr::from(
            <[u8; 16]>::try_from(data.get(..16)?).ok()?,
        ))),
        _ => None,
    }
}

fn interface_name(index: u32) -> Option<String> {
    let mut name = [0 as libc::c_char; libc::IF_NAMESIZE];
    // SAFETY: a buffer of IF_NAMESIZE bytes, as if_indextoname requires.
    let found = unsafe { libc::if_indextoname(index, name.as_mut_ptr()) };
    if found.is_null() {
        return None;
    }
    // SAFETY: if_indextoname wrote a NUL-terminated name into `name`.
    let name = unsafe { std::ffi::CStr::from_ptr(name.as_ptr()) };
    Some(name.to_string_lossy().into_owned())
}

fn align(length: usize) -> usize {
    length.saturating_add(3) & !3
}

fn u16_at(data: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(data.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(data.get(at..at + 4)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attribute(kind: u16, value: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&((4 + value.len()) as u16).to_ne_bytes());
        out.extend_from_slice(&kind.to_ne_bytes());
        out.extend_from_slice(value);
        while !out.len().is_multiple_of(4) {
            out.push(0);
        }
        out
    }

    #[test]
    fn a_route_message() {
        // 10.1.0.0/16 via 10.0.0.1, metric 100, MTU 1400 and hop limit 64 in its metrics.
        let mut payload = vec![libc::AF_INET as u8, 16, 0, 0, 254, 3, 0, 1, 0, 0, 0, 0];
        payload.extend(attribute(RTA_DST, &[10, 1, 0, 0]));
        payload.extend(attribute(RTA_GATEWAY, &[10, 0, 0, 1]));
        payload.extend(attribute(RTA_PRIORITY, &100u32.to_ne_bytes()));
        let metrics = [
            attribute(RTAX_MTU, &1400u32.to_ne_bytes()),
            attribute(RTAX_HOPLIMIT, &64u32.to_ne_bytes()),
        ]
        .concat();
        payload.extend(attribute(RTA_METRICS, &metrics));
        let row = route(&payload).expect("a route");
        assert_eq!(row[RouteRow::destination], Value::from("10.1.0.0"));
        assert_eq!(row[RouteRow::netmask], Value::Int(16));
        assert_eq!(row[RouteRow::gateway], Value::from("10.0.0.1"));
        assert_eq!(row[RouteRow::source], Value::from(""));
        assert_eq!(row[RouteRow::metric], Value::Int(100));
        assert_eq!(row[RouteRow::mtu], Value::Int(1400));
        assert_eq!(row[RouteRow::hopcount], Value::Int(64));
        assert_eq!(row[RouteRow::r#type], Value::from("gateway"));

        // An IPv6 default route has no destination attribute.
        let default = [libc::AF_INET6 as u8, 0, 0, 0, 254, 3, 0, 1, 0, 0, 0, 0];
        let row = route(&default).expect("a default route");
        assert_eq!(row[RouteRow::destination], Value::from("::"));
        // Truncated and odd messages give nothing, never a panic.
        assert_eq!(route(&[2, 0]), None);
        assert!(attributes(&[200, 0, 1, 0, 5]).is_empty());
    }

    #[test]
    fn the_host_routes_include_its_local_addresses_and_main_table() {
        let rows: Vec<Row> = Routes
            .scan(&ScanRequest::default())
            .expect("scan")
            .collect::<Result<_, _>>()
            .expect("rows");
        let local = |destination: &str| {
            rows.iter().any(|r| {
                r[RouteRow::r#type] == Value::from("local")
                    && r[RouteRow::destination] == Value::from(destination)
            })
        };
        assert!(local("127.0.0.1"), "loopback is a local route");
        // A second source: every IPv4 main-table route of /proc/net/route is a row.
        let proc_route = std::fs::read_to_string("/proc/net/route").expect("/proc/net/route");
        for line in proc_route.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let (Some(iface), Some(dest), Some(mask)) =
                (fields.first(), fields.get(1), fields.get(7))
            else {
                continue;
            };
            let hex = |h: &str| u32::from_str_radix(h, 16).map(|v| Ipv4Addr::from(v.to_le_bytes()));
            let destination = hex(dest).expect("hex").to_string();
            let netmask = i64::from(hex(mask).expect("hex").to_bits().count_ones());
            assert!(
                rows.iter().any(
                    |r| r[RouteRow::destination] == Value::Text(destination.clone())
                        && r[RouteRow::netmask] == Value::Int(netmask)
                        && r[RouteRow::interface] == Value::from(*iface)
                ),
                "{destination}/{netmask} dev {iface} is missing"
            );
        }
        for row in &rows {
            let destination = row[RouteRow::destination].as_text().expect("destination");
            assert!(destination.parse::<IpAddr>().is_ok(), "{destination}");
            assert!(
                row[RouteRow::netmask]
                    .as_i64()
                    .is_some_and(|n| (0..=128).contains(&n))
            );
            let source = row[RouteRow::source].as_text().expect("source");
            assert!(source.is_empty() || source.parse::<IpAddr>().is_ok());
            assert!(
                row[RouteRow::hopcount]
                    .as_i64()
                    .is_some_and(|h| (0..=255).contains(&h))
            );
        }
    }
}
