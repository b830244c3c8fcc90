//! `interface_addresses`: the IPv4 and IPv6 addresses of each network interface, with mask and
//! broadcast or point-to-point peer, from `getifaddrs(3)`.

use std::ffi::CStr;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::snapshot::util::{failed, rows};
use crate::{
    row::table_row,
    table::{Column, Row, Rows, ScanRequest, Table, TableError, Value},
};

table_row! {
    struct AddressRow {
        interface: Text,
        address: Text,
        mask: Text,
        broadcast: Text,
        point_to_point: Text,
        r#type: Text,
    }
}

pub struct InterfaceAddresses;

impl Table for InterfaceAddresses {
    fn name(&self) -> &'static str {
        "interface_addresses"
    }

    fn columns(&self) -> &'static [Column] {
        AddressRow::COLUMNS
    }

    fn scan(&self, _request: &ScanRequest) -> Result<Rows, TableError> {
        let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
        // SAFETY: `list` is a valid place for getifaddrs to store its list head.
        if unsafe { libc::getifaddrs(&mut list) } != 0 {
            return Err(failed(
                "interface_addresses",
                format!("getifaddrs: {}", std::io::Error::last_os_error()),
            ));
        }
        let mut out: Vec<Row> = Vec::new();
        let mut entry = list;
        while !entry.is_null() {
            // SAFETY: `entry` is a non-null node of the list getifaddrs returned, freed only
            // below, after the walk.
            let ifa = unsafe { &*entry };
            entry = ifa.ifa_next;
            if let Some(row) = address_row(ifa) {
                out.push(row);
            }
        }
        // SAFETY: `list` came from a successful getifaddrs and is freed once; nothing borrowed
        // from it outlives this point (rows hold owned strings).
        unsafe { libc::freeifaddrs(list) };
        Ok(rows(out))
    }
}

fn address_row(ifa: &libc::ifaddrs) -> Option<Row> {
    if ifa.ifa_name.is_null() {
        return None;
    }
    // SAFETY: a non-null `ifa_name` is a NUL-terminated string living as long as the list.
    let interface = unsafe { CStr::from_ptr(ifa.ifa_name) }
        .to_string_lossy()
        .into_owned();
    // Link-layer (AF_PACKET) entries carry no address this table shows.
    let address = sockaddr_text(ifa.ifa_addr, &interface)?;
    let mask = sockaddr_text(ifa.ifa_netmask, &interface);
    let peer = sockaddr_text(ifa.ifa_ifu, &interface);
    let broadcast = ifa.ifa_flags & libc::IFF_BROADCAST as libc::c_uint != 0;
    let (broadcast, point_to_point) = if broadcast {
        (peer, None)
    } else {
        (None, peer)
    };
    let row = AddressRow {
        interface: interface.into(),
        address: address.into(),
        mask: mask.into(),
        broadcast: broadcast.into(),
        point_to_point: point_to_point.into(),
        // How an address was configured (DHCP, SLAAC, by hand) is not in getifaddrs; osquery
        // says "unknown" on Linux too.
        r#type: Value::from("unknown"),
    };
    Some(row.into())
}

/// An IPv4 or IPv6 socket address as `getnameinfo(NI_NUMERICHOST)` prints it: IPv6 addresses
/// with a scope (link-local) get `%interface`.
fn sockaddr_text(addr: *const libc::sockaddr, interface: &str) -> Option<String> {
    if addr.is_null() {
        return None;
    }
    // SAFETY: a non-null address in an ifaddrs entry points at a sockaddr whose family field is
    // always set.
    let family = i32::from(unsafe { (*addr).sa_family });
    match family {
        libc::AF_INET => {
            // SAFETY: getifaddrs stores a full sockaddr_in for AF_INET.
            let sin = unsafe { std::ptr::read_unaligned(addr.cast::<libc::sockaddr_in>()) };
            Some(Ipv4Addr::from(sin.sin_addr.s_addr.to_ne_bytes()).to_string())
        }
        libc::AF_INET6 => {
            // SAFETY: getifaddrs stores a full sockaddr_in6 for AF_INET6.
            let sin6 = unsafe { std::ptr::read_unaligned(addr.cast::<libc::sockaddr_in6>()) };
            let ip = Ipv6Addr::from(sin6.sin6_addr.s6_addr);
            Some(if sin6.sin6_scope_id != 0 {
                format!("{ip}%{interface}")
            } else {
                ip.to_string()
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows() -> Vec<Row> {
        InterfaceAddresses
            .scan(&ScanRequest::default())
            .expect("scan")
            .collect::<Result<Vec<_>, _>>()
            .expect("rows")
    }

    #[test]
    fn loopback_addresses() {
        let rows = rows();
        let lo4 = rows
            .iter()
            .find(|r| r[0] == Value::from("lo") && r[1] == Value::from("127.0.0.1"))
            .expect("127.0.0.1 on lo");
        assert_eq!(lo4[2], Value::from("255.0.0.0"));
        assert_eq!(lo4[5], Value::from("unknown"));

        // ::1 is there exactly when the kernel lists it on lo.
        let if_inet6 = std::fs::read_to_string("/proc/net/if_inet6").unwrap_or_default();
        let kernel_has_lo6 = if_inet6.lines().any(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            f.first() == Some(&"00000000000000000000000000000001") && f.last() == Some(&"lo")
        });
        let lo6 = rows
            .iter()
            .find(|r| r[0] == Value::from("lo") && r[1] == Value::from("::1"));
        assert_eq!(lo6.is_some(), kernel_has_lo6, "{rows:?}");
        if let Some(lo6) = lo6 {
            assert_eq!(
                lo6[2],
                Value::from("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")
            );
        }
    }

    #[test]
    fn ipv6_addresses_match_the_kernel_list() {
        // Every address of /proc/net/if_inet6 (hex, network order) is in the table, on its
        // interface.
        let if_inet6 = std::fs::read_to_string("/proc/net/if_inet6").unwrap_or_default();
        let rows = rows();
        for line in if_inet6.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            let (Some(hex), Some(name)) = (f.first(), f.last()) else {
                continue;
            };
            let bits = u128::from_str_radix(hex, 16).expect("hex address");
            let ip = Ipv6Addr::from(bits);
            let expected = if ip.is_unicast_link_local() {
                format!("{ip}%{name}")
            } else {
                ip.to_string()
            };
            assert!(
                rows.iter()
                    .any(|r| r[0] == Value::from(*name) && r[1] == Value::Text(expected.clone())),
                "{expected} on {name} not in {rows:?}"
            );
        }
    }
}
