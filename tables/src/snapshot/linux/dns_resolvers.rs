//! `dns_resolvers`: the resolvers `/etc/resolv.conf` gives glibc: nameservers, the search list
//! and the sortlist, each row with the resolver's option bits (`_res.options`).

use std::path::Path;

use vigil_formats::resolv_conf;

use crate::row::table_row;
use crate::snapshot::linux::bounded;
use crate::snapshot::linux::namespace::{NamespaceColumns, scan_in_namespaces};
use crate::snapshot::util::rows;
use crate::table::{Column, Row, Rows, ScanRequest, Table, TableError, Value};

const NAME: &str = "dns_resolvers";
const RESOLV_CONF: &str = "/etc/resolv.conf";

table_row! {
    struct DnsResolverRow {
        id: Integer,
        r#type: Text,
        address: Text,
        netmask: Text,
        options: BigInt,
        #[hidden]
        pid_with_namespace: Integer,
    }
}

const NAMESPACE: NamespaceColumns = NamespaceColumns {
    pid_with_namespace: DnsResolverRow::pid_with_namespace,
    mount_namespace_id: None,
};

pub struct DnsResolvers;

impl Table for DnsResolvers {
    fn name(&self) -> &'static str {
        NAME
    }

    fn columns(&self) -> &'static [Column] {
        DnsResolverRow::COLUMNS
    }

    fn pushdown_columns(&self) -> &'static [usize] {
        &[DnsResolverRow::pid_with_namespace]
    }

    fn scan(&self, request: &ScanRequest) -> Result<Rows, TableError> {
        Ok(rows(scan_in_namespaces(NAME, request, NAMESPACE, || {
            let text = bounded::read_text(NAME, Path::new(RESOLV_CONF), bounded::MAX_FILE_BYTES);
            Ok(text.map(|t| resolver_rows(&t)).unwrap_or_default())
        })?))
    }
}

fn resolver_rows(text: &str) -> Vec<Row> {
    let resolver = resolv_conf::parse(text);
    let row = |id: usize, kind: &str, address: &str, netmask: Value| -> Row {
        DnsResolverRow {
            id: Value::Int(i64::try_from(id).unwrap_or(i64::MAX)),
            r#type: kind.into(),
            address: address.into(),
            netmask,
            options: Value::Int(resolver.options),
            pid_with_namespace: Value::Int(0),
        }
        .into()
    };
    let mut out = Vec::new();
    for (id, address) in resolver.nameservers.iter().enumerate() {
        // osquery reports "32" for every nameserver.
        out.push(row(id, "nameserver", address, Value::from("32")));
    }
    for (id, (address, mask)) in resolver.sortlist.iter().enumerate() {
        let netmask = mask
            .as_deref()
            .map_or(Value::Null, |m| netmask_length(m).into());
        out.push(row(id, "sortlist", address, netmask));
    }
    for (id, domain) in resolver.search.iter().enumerate() {
        out.push(row(id, "search", domain, Value::Null));
    }
    out
}

/// A sortlist mask as a prefix length: `255.255.0.0` → `16`; a length stays as written.
fn netmask_length(mask: &str) -> String {
    match mask.parse::<std::net::Ipv4Addr>() {
        Ok(ip) => u32::from(ip).count_ones().to_string(),
        Err(_) => mask.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_of_each_type() {
        let rows = resolver_rows(
            "nameserver 10.0.0.2\nnameserver fd00::53\nsearch corp.example\nsortlist 10.0.0.0/255.0.0.0\noptions rotate\n",
        );
        let summary: Vec<_> = rows
            .iter()
            .map(|r| (r[0].clone(), r[1].clone(), r[2].clone(), r[3].clone()))
            .collect();
        assert_eq!(
            summary,
            [
                (
                    Value::Int(0),
                    "nameserver".into(),
                    "10.0.0.2".into(),
                    "32".into()
                ),
                (
                    Value::Int(1),
                    "nameserver".into(),
                    "fd00::53".into(),
                    "32".into()
                ),
                (
                    Value::Int(0),
                    "sortlist".into(),
                    "10.0.0.0".into(),
                    "8".into()
                ),
                (
                    Value::Int(0),
                    "search".into(),
                    "corp.example".into(),
                    Value::Null
                ),
            ]
        );
        let options = resolv_conf::DEFAULT_OPTIONS | 0x4000;
        assert!(rows.iter().all(|r| r[4] == Value::Int(options)));
    }

    #[test]
    fn the_host_resolvers_match_resolv_conf() {
        let rows: Vec<Row> = DnsResolvers
            .scan(&ScanRequest::default())
            .expect("scan")
            .collect::<Result<_, _>>()
            .expect("rows");
        let nameservers = std::fs::read_to_string(RESOLV_CONF)
            .map(|t| {
                t.lines()
                    .filter(|l| l.split_whitespace().next() == Some("nameserver"))
                    .count()
                    .min(3)
            })
            .unwrap_or(0);
        let found = rows
            .iter()
            .filter(|r| r[1] == Value::from("nameserver"))
            .count();
        assert_eq!(found, nameservers);
        for row in rows.iter().filter(|r| r[1] == Value::from("nameserver")) {
            let address = row[2].as_text().expect("an address");
            assert!(address.parse::<std::net::IpAddr>().is_ok(), "{address}");
        }
    }
}
