//! osquery's `in_cidr_block(cidr, address)` (`osquery/sql/sqlite_network.cpp`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use rusqlite::{Connection, functions::Context, types::ValueRef};

use super::{error, flags};

pub fn register(conn: &Connection) -> rusqlite::Result<()> {
    conn.create_scalar_function("in_cidr_block", 2, flags(), |ctx| in_cidr_block(ctx))
}

/// 1 when `address` is one of the hosts of the network `cidr`, 0 when not. As in osquery
/// (boost's `hosts()`), an IPv4 network's own address and its broadcast address are not hosts
/// (but for a `/32`); every address of an IPv6 network is.
fn in_cidr_block(ctx: &Context<'_>) -> rusqlite::Result<bool> {
    let ValueRef::Text(cidr) = ctx.get_raw(0) else {
        return Err(error("in_cidr_block", "CIDR must be a string"));
    };
    let ValueRef::Text(address) = ctx.get_raw(1) else {
        return Err(error("in_cidr_block", "IP address must be a string"));
    };
    let cidr = String::from_utf8_lossy(cidr);
    let address: IpAddr = String::from_utf8_lossy(address)
        .parse()
        .map_err(|_| error("in_cidr_block", "IP address cannot be parsed"))?;
    let (network, prefix) = cidr
        .split_once('/')
        .and_then(|(network, prefix)| Some((network, prefix.parse::<u32>().ok()?)))
        .unwrap_or(("", u32::MAX));
    match address {
        IpAddr::V4(ip) => {
            let parsed = network.parse::<Ipv4Addr>().ok().filter(|_| prefix <= 32);
            let Some(network) = parsed else {
                return Err(error(
                    "in_cidr_block",
                    format_args!("CIDR for IP address v4 cannot be parsed: '{cidr}'"),
                ));
            };
            Ok(v4_host(u32::from(network), prefix, u32::from(ip)))
        }
        IpAddr::V6(ip) => {
            let parsed = network.parse::<Ipv6Addr>().ok().filter(|_| prefix <= 128);
            let Some(network) = parsed else {
                return Err(error(
                    "in_cidr_block",
                    format_args!("CIDR for IP address v6 cannot be parsed: '{cidr}'"),
                ));
            };
            let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
            Ok(u128::from(network) & mask == u128::from(ip) & mask)
        }
    }
}

fn v4_host(address: u32, prefix: u32, ip: u32) -> bool {
    if prefix == 32 {
        return ip == address;
    }
    let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
    let network = address & mask;
    let broadcast = network | !mask;
    ip > network && ip < broadcast
}

#[cfg(test)]
mod tests {
    use rusqlite::types::Value;

    use crate::sql_functions::testing::{error_of, eval};

    /// osquery's own cases (`osquery/sql/tests/sqlite_network_tests.cpp`) and the edges.
    #[test]
    fn membership() {
        for (call, expected) in [
            ("'10.0.0.0/26', '10.0.0.24'", 1),
            ("'198.51.100.14/24', '198.51.100.14'", 1),
            (
                "'2a00:a040:019e:f12a:0000:0000:0000:0000/64', \
                 '2a00:a040:19e:f12a:658b:3589:b2ba:71a3'",
                1,
            ),
            ("'2001:db8::/48', '2001:db8:0:ffff:ffff:ffff:ffff:ffff'", 1),
            ("'10.0.0.0/26', '10.0.0.64'", 0),
            ("'10.0.0.0/24', '10.0.0.0'", 0),
            ("'10.0.0.0/24', '10.0.0.255'", 0),
            ("'10.0.0.7/32', '10.0.0.7'", 1),
            ("'2001:db8::/48', '2001:db9::1'", 0),
        ] {
            assert_eq!(
                eval(&format!("in_cidr_block({call})")),
                Value::Integer(expected),
                "{call}"
            );
        }
    }

    #[test]
    fn errors_name_the_bad_argument() {
        assert!(error_of("in_cidr_block(NULL, '1.2.3.4')").contains("CIDR must be a string"));
        assert!(error_of("in_cidr_block('10.0.0.0/8', NULL)").contains("must be a string"));
        assert!(error_of("in_cidr_block('10.0.0.0/8', 'x')").contains("cannot be parsed"));
        assert!(error_of("in_cidr_block('10.0.0.0', '10.0.0.1')").contains("v4 cannot"));
        assert!(error_of("in_cidr_block('10.0.0.0/33', '10.0.0.1')").contains("v4 cannot"));
        assert!(error_of("in_cidr_block('::/0', '10.0.0.1')").contains("v4 cannot"));
    }
}
