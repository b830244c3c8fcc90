//! `interface_details`: each network interface with its link settings and 64-bit counters, read
//! from `/sys/class/net/<interface>/`.

use std::path::Path;

use crate::snapshot::util::{failed, read_trimmed, rows};
use crate::{
    row::table_row,
    table::{Column, Row, Rows, ScanRequest, Table, TableError, Value},
};

table_row! {
    struct InterfaceRow {
        interface: Text,
        mac: Text,
        r#type: Integer,
        mtu: Integer,
        metric: Integer,
        flags: Integer,
        ipackets: BigInt,
        opackets: BigInt,
        ibytes: BigInt,
        obytes: BigInt,
        ierrors: BigInt,
        oerrors: BigInt,
        idrops: BigInt,
        odrops: BigInt,
        collisions: BigInt,
        last_change: BigInt,
        link_speed: BigInt,
        pci_slot: Text,
    }
}

const SYS_CLASS_NET: &str = "/sys/class/net";

pub struct InterfaceDetails;

impl Table for InterfaceDetails {
    fn name(&self) -> &'static str {
        "interface_details"
    }

    fn columns(&self) -> &'static [Column] {
        InterfaceRow::COLUMNS
    }

    fn scan(&self, _request: &ScanRequest) -> Result<Rows, TableError> {
        let entries = std::fs::read_dir(SYS_CLASS_NET)
            .map_err(|e| failed("interface_details", format!("{SYS_CLASS_NET}: {e}")))?;
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .collect();
        names.sort();
        let out = names
            .into_iter()
            .filter_map(|name| {
                let dir = Path::new(SYS_CLASS_NET).join(&name);
                // An interface removed during the scan has no directory left.
                dir.join("type").exists().then(|| interface_row(name, &dir))
            })
            .collect();
        Ok(rows(out))
    }
}

fn read_number<T: std::str::FromStr>(path: impl AsRef<Path>) -> Option<T> {
    read_trimmed(path)?.parse().ok()
}

fn number_or_null<T: std::str::FromStr + Into<Value>>(path: impl AsRef<Path>) -> Value {
    read_number::<T>(path).map_or(Value::Null, Into::into)
}

fn interface_row(name: String, dir: &Path) -> Row {
    let statistics = dir.join("statistics");
    let counter = |file: &str| number_or_null::<u64>(statistics.join(file));
    InterfaceRow {
        interface: name.into(),
        mac: read_trimmed(dir.join("address")).into(),
        r#type: number_or_null::<u32>(dir.join("type")),
        mtu: number_or_null::<u32>(dir.join("mtu")),
        // Linux keeps no per-device metric (SIOCGIFMETRIC always answers 0).
        metric: 0i64.into(),
        flags: flags(dir).map_or(Value::Null, Value::from),
        ipackets: counter("rx_packets"),
        opackets: counter("tx_packets"),
        ibytes: counter("rx_bytes"),
        obytes: counter("tx_bytes"),
        ierrors: counter("rx_errors"),
        oerrors: counter("tx_errors"),
        idrops: counter("rx_dropped"),
        odrops: counter("tx_dropped"),
        collisions: counter("collisions"),
        // The kernel does not record when a device last changed; osquery reports -1 too.
        last_change: (-1i64).into(),
        // `speed` fails to read for virtual and down links and is -1 when unknown: osquery
        // says 0.
        link_speed: read_number::<i64>(dir.join("speed"))
            .filter(|&s| s > 0)
            .unwrap_or(0)
            .into(),
        pci_slot: pci_slot(dir).into(),
    }
    .into()
}

/// The flags `SIOCGIFFLAGS` and `getifaddrs` report: the configured flags in `flags` plus the
/// operational ones the kernel derives for an up device.
fn flags(dir: &Path) -> Option<i64> {
    let text = read_trimmed(dir.join("flags"))?;
    let mut flags = i64::from_str_radix(text.strip_prefix("0x")?, 16).ok()?;
    if flags & i64::from(libc::IFF_UP) != 0 {
        let operstate = read_trimmed(dir.join("operstate")).unwrap_or_default();
        if operstate == "up" || operstate == "unknown" {
            flags |= i64::from(libc::IFF_RUNNING);
        }
        if operstate == "dormant" {
            flags |= i64::from(libc::IFF_DORMANT);
        }
        if read_trimmed(dir.join("carrier")).as_deref() == Some("1") {
            flags |= i64::from(libc::IFF_LOWER_UP);
        }
    }
    Some(flags)
}

/// The PCI address of a PCI network device (`0000:00:1f.6`), none for other buses and virtual
/// devices.
fn pci_slot(dir: &Path) -> Option<String> {
    let device = dir.join("device");
    let subsystem = std::fs::read_link(device.join("subsystem")).ok()?;
    if subsystem.file_name()? != "pci" {
        return None;
    }
    let target = std::fs::read_link(&device).ok()?;
    Some(target.file_name()?.to_string_lossy().into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows() -> Vec<Row> {
        InterfaceDetails
            .scan(&ScanRequest::default())
            .expect("scan")
            .collect::<Result<Vec<_>, _>>()
            .expect("rows")
    }

    fn column(name: &str) -> usize {
        InterfaceRow::COLUMNS
            .iter()
            .position(|c| c.name == name)
            .expect("column exists")
    }

    #[test]
    fn loopback_matches_sysfs() {
        let mtu: i64 = std::fs::read_to_string("/sys/class/net/lo/mtu")
            .expect("lo mtu")
            .trim()
            .parse()
            .expect("mtu number");
        let rows = rows();
        let lo = rows
            .iter()
            .find(|r| r[0] == Value::from("lo"))
            .expect("lo row");
        assert_eq!(lo.len(), InterfaceRow::COLUMNS.len());
        assert_eq!(lo[column("mtu")], Value::Int(mtu));
        // ARPHRD_LOOPBACK.
        assert_eq!(lo[column("type")], Value::Int(772));
        assert_eq!(lo[column("mac")], Value::from("00:00:00:00:00:00"));
        let flags = lo[column("flags")].as_i64().expect("flags");
        assert_ne!(flags & i64::from(libc::IFF_LOOPBACK), 0);
        assert_ne!(flags & i64::from(libc::IFF_UP), 0);
        assert_ne!(flags & i64::from(libc::IFF_RUNNING), 0);
        for counter in ["ipackets", "opackets", "ibytes", "obytes", "collisions"] {
            assert!(
                lo[column(counter)].as_i64().is_some_and(|v| v >= 0),
                "{counter}: {lo:?}"
            );
        }
        assert_eq!(lo[column("link_speed")], Value::Int(0));
        assert_eq!(lo[column("pci_slot")], Value::Null);
    }

    #[test]
    fn every_interface_in_sysfs_is_listed() {
        let mut expected: Vec<String> = std::fs::read_dir(SYS_CLASS_NET)
            .expect("sysfs")
            .map(|e| {
                e.expect("entry")
                    .file_name()
                    .into_string()
                    .expect("utf-8 name")
            })
            .collect();
        expected.sort();
        let names: Vec<String> = rows()
            .iter()
            .filter_map(|r| r[0].as_text().map(str::to_owned))
            .collect();
        assert_eq!(names, expected);
    }

    #[test]
    fn loopback_traffic_counts() {
        let before = rows();
        let lo_packets = |rows: &[Row]| {
            rows.iter()
                .find(|r| r[0] == Value::from("lo"))
                .and_then(|r| r[column("opackets")].as_i64())
                .expect("lo opackets")
        };
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind");
        let target = socket.local_addr().expect("addr");
        for _ in 0..3 {
            socket.send_to(b"ping", target).expect("send");
        }
        assert!(lo_packets(&rows()) >= lo_packets(&before) + 3);
    }
}
