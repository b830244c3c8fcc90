//! `etc_hosts` (alias `hosts`): the lines of `/etc/hosts` that map an address to names.

use std::path::Path;

use vigil_formats::hosts;

use crate::row::table_row;
use crate::snapshot::linux::bounded;
use crate::snapshot::linux::namespace::{NamespaceColumns, scan_in_namespaces};
use crate::snapshot::util::rows;
use crate::table::{Column, Row, Rows, ScanRequest, Table, TableError, Value};

const NAME: &str = "etc_hosts";
const HOSTS: &str = "/etc/hosts";

table_row! {
    struct EtcHostsRow {
        address: Text,
        hostnames: Text,
        #[hidden]
        pid_with_namespace: Integer,
    }
}

const NAMESPACE: NamespaceColumns = NamespaceColumns {
    pid_with_namespace: EtcHostsRow::pid_with_namespace,
    mount_namespace_id: None,
};

pub struct EtcHosts;

impl Table for EtcHosts {
    fn name(&self) -> &'static str {
        NAME
    }

    fn aliases(&self) -> &'static [&'static str] {
        &["hosts"]
    }

    fn columns(&self) -> &'static [Column] {
        EtcHostsRow::COLUMNS
    }

    fn pushdown_columns(&self) -> &'static [usize] {
        &[EtcHostsRow::pid_with_namespace]
    }

    fn scan(&self, request: &ScanRequest) -> Result<Rows, TableError> {
        Ok(rows(scan_in_namespaces(NAME, request, NAMESPACE, || {
            Ok(read(Path::new(HOSTS)))
        })?))
    }
}

fn read(path: &Path) -> Vec<Row> {
    let text = bounded::read_text(NAME, path, bounded::MAX_FILE_BYTES).unwrap_or_default();
    text.lines()
        .filter_map(hosts::line)
        .map(|entry| {
            EtcHostsRow {
                address: entry.address.into(),
                hostnames: entry.hostnames.into(),
                pid_with_namespace: Value::Int(0),
            }
            .into()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hosts_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("hosts");
        std::fs::write(
            &path,
            "127.0.0.1\tlocalhost\n# comment\n::1 localhost ip6-localhost ip6-loopback\n\n10.1.2.3 db db.internal # pinned\n",
        )
        .expect("write");
        let rows = read(&path);
        let pairs: Vec<_> = rows.iter().map(|r| (r[0].clone(), r[1].clone())).collect();
        assert_eq!(
            pairs,
            [
                (Value::from("127.0.0.1"), Value::from("localhost")),
                (
                    Value::from("::1"),
                    Value::from("localhost ip6-localhost ip6-loopback")
                ),
                (Value::from("10.1.2.3"), Value::from("db db.internal")),
            ]
        );
    }

    #[test]
    fn the_host_file_maps_localhost() {
        let rows: Vec<Row> = EtcHosts
            .scan(&ScanRequest::default())
            .expect("scan")
            .collect::<Result<_, _>>()
            .expect("rows");
        assert!(rows.iter().any(|r| {
            r[1].as_text()
                .is_some_and(|names| names.split(' ').any(|n| n == "localhost"))
        }));
        for row in &rows {
            let address = row[0].as_text().expect("an address");
            assert!(address.parse::<std::net::IpAddr>().is_ok(), "{address}");
            assert_eq!(row[2], Value::Int(0));
        }
    }
}
