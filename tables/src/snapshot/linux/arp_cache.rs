//! `arp_cache`: the kernel's IPv4 neighbour table, from `/proc/net/arp`.

use std::path::Path;

use crate::row::table_row;
use crate::snapshot::linux::bounded;
use crate::snapshot::util::rows;
use crate::table::{Column, Row, Rows, ScanRequest, Table, TableError};

const NAME: &str = "arp_cache";
const ARP: &str = "/proc/net/arp";
/// `ATF_COM | ATF_PERM`: a complete, permanent (static) entry.
const FLAGS_PERMANENT: &str = "0x6";

table_row! {
    struct ArpRow {
        address: Text,
        mac: Text,
        interface: Text,
        permanent: Text,
    }
}

pub struct ArpCache;

impl Table for ArpCache {
    fn name(&self) -> &'static str {
        NAME
    }

    fn columns(&self) -> &'static [Column] {
        ArpRow::COLUMNS
    }

    fn scan(&self, _request: &ScanRequest) -> Result<Rows, TableError> {
        let text =
            bounded::read_text(NAME, Path::new(ARP), bounded::MAX_FILE_BYTES).unwrap_or_default();
        Ok(rows(text.lines().skip(1).filter_map(line).collect()))
    }
}

/// `IP address  HW type  Flags  HW address  Mask  Device`.
fn line(line: &str) -> Option<Row> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let [address, _hw_type, flags, mac, _mask, device] = fields.as_slice() else {
        return None;
    };
    Some(
        ArpRow {
            address: (*address).into(),
            mac: (*mac).into(),
            interface: (*device).into(),
            permanent: if *flags == FLAGS_PERMANENT { "1" } else { "0" }.into(),
        }
        .into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::Value;

    #[test]
    fn proc_net_arp_lines() {
        let dynamic =
            line("192.0.2.1        0x1         0x2         02:fc:00:00:00:05     *        eth0")
                .expect("an entry");
        assert_eq!(dynamic[0], Value::from("192.0.2.1"));
        assert_eq!(dynamic[1], Value::from("02:fc:00:00:00:05"));
        assert_eq!(dynamic[2], Value::from("eth0"));
        assert_eq!(dynamic[3], Value::from("0"));
        let fixed = line("10.0.0.9 0x1 0x6 aa:bb:cc:dd:ee:ff * br0").expect("an entry");
        assert_eq!(fixed[3], Value::from("1"));
        assert_eq!(
            line("IP address HW type Flags HW address Mask Device"),
            None
        );
    }

    #[test]
    fn host_entries_are_well_formed() {
        let rows: Vec<Row> = ArpCache
            .scan(&ScanRequest::default())
            .expect("scan")
            .collect::<Result<_, _>>()
            .expect("rows");
        let lines = std::fs::read_to_string(ARP).map_or(0, |t| t.lines().count().saturating_sub(1));
        assert_eq!(rows.len(), lines);
        for row in &rows {
            let address = row[0].as_text().expect("address");
            assert!(address.parse::<std::net::Ipv4Addr>().is_ok(), "{address}");
            let mac = row[1].as_text().expect("mac");
            assert_eq!(mac.split(':').count(), 6, "{mac}");
            assert!(row[2].as_text().is_some_and(|i| !i.is_empty()));
            assert!(matches!(row[3].as_text(), Some("0" | "1")));
        }
    }
}
