//! `deb_packages`: the packages dpkg has installed, from its `status` file
//! (`<admindir>/status`, admindir `/var/lib/dpkg` unless `admindir = ...` names others). A host
//! without dpkg has no rows.

use std::path::Path;

use vigil_formats::dpkg;

use crate::row::table_row;
use crate::snapshot::linux::bounded;
use crate::snapshot::linux::namespace::{NamespaceColumns, scan_in_namespaces};
use crate::snapshot::util::rows;
use crate::table::{Column, Row, Rows, ScanRequest, Table, TableError, Value};

const NAME: &str = "deb_packages";
const DEFAULT_ADMINDIR: &str = "/var/lib/dpkg";

table_row! {
    struct DebPackageRow {
        name: Text,
        version: Text,
        source: Text,
        size: BigInt,
        arch: Text,
        revision: Text,
        status: Text,
        maintainer: Text,
        section: Text,
        priority: Text,
        admindir: Text,
        #[hidden]
        pid_with_namespace: Integer,
        #[hidden]
        mount_namespace_id: Text,
    }
}

const NAMESPACE: NamespaceColumns = NamespaceColumns {
    pid_with_namespace: DebPackageRow::pid_with_namespace,
    mount_namespace_id: Some(DebPackageRow::mount_namespace_id),
};

pub struct DebPackages;

impl Table for DebPackages {
    fn name(&self) -> &'static str {
        NAME
    }

    fn columns(&self) -> &'static [Column] {
        DebPackageRow::COLUMNS
    }

    fn pushdown_columns(&self) -> &'static [usize] {
        &[DebPackageRow::admindir, DebPackageRow::pid_with_namespace]
    }

    fn scan(&self, request: &ScanRequest) -> Result<Rows, TableError> {
        let mut admindirs: Vec<String> = request
            .equal_values(DebPackageRow::admindir)
            .filter_map(Value::as_text)
            .map(str::to_owned)
            .collect();
        if admindirs.is_empty() {
            admindirs.push(DEFAULT_ADMINDIR.to_owned());
        }
        Ok(rows(scan_in_namespaces(NAME, request, NAMESPACE, || {
            Ok(admindirs.iter().flat_map(|dir| read(dir)).collect())
        })?))
    }
}

fn read(admindir: &str) -> Vec<Row> {
    let status = Path::new(admindir).join("status");
    let Some(text) = bounded::read_text(NAME, &status, bounded::MAX_FILE_BYTES) else {
        return Vec::new();
    };
    dpkg::installed_packages(&text)
        .into_iter()
        .map(|p| {
            DebPackageRow {
                name: p.name.into(),
                version: p.version.into(),
                source: p.source.into(),
                size: p.installed_size.map_or(Value::Null, Value::Int),
                arch: p.arch.into(),
                revision: p.revision.into(),
                status: p.status.into(),
                maintainer: p.maintainer.into(),
                section: p.section.into(),
                priority: p.priority.into(),
                admindir: admindir.into(),
                pid_with_namespace: Value::Int(0),
                mount_namespace_id: Value::from(""),
            }
            .into()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::{Constraint, ConstraintOp};

    fn scan(request: &ScanRequest) -> Vec<Row> {
        DebPackages
            .scan(request)
            .expect("scan")
            .collect::<Result<_, _>>()
            .expect("rows")
    }

    #[test]
    fn this_debian_host_has_dpkg_and_well_formed_rows() {
        let rows = scan(&ScanRequest::default());
        assert!(
            rows.iter()
                .any(|r| r[DebPackageRow::name] == Value::from("dpkg")),
            "dpkg is installed on Debian"
        );
        let dpkg_query = std::process::Command::new("dpkg-query")
            .args(["-W", "-f", "${Package} ${Version} ${db:Status-Abbrev}\n"])
            .output()
            .expect("dpkg-query runs");
        // A second source: every package dpkg-query lists as installed is a row, same version.
        let listed = String::from_utf8_lossy(&dpkg_query.stdout).into_owned();
        for line in listed.lines().filter(|l| l.ends_with("ii ")) {
            let mut words = line.split(' ');
            let (name, version) = (words.next().expect("name"), words.next().expect("version"));
            let name = name.split(':').next().unwrap_or(name);
            assert!(
                rows.iter()
                    .any(|r| r[DebPackageRow::name] == Value::from(name)
                        && r[DebPackageRow::version] == Value::from(version)),
                "{name} {version} is missing"
            );
        }
        for row in &rows {
            for column in [
                DebPackageRow::name,
                DebPackageRow::version,
                DebPackageRow::arch,
                DebPackageRow::status,
                DebPackageRow::admindir,
            ] {
                assert!(
                    row[column].as_text().is_some_and(|t| !t.is_empty()),
                    "column {column} of {row:?}"
                );
            }
            assert!(row[DebPackageRow::size].as_i64().is_none_or(|s| s >= 0));
        }
    }

    #[test]
    fn another_admindir_is_read_when_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            dir.path().join("status"),
            "Package: only-here\nStatus: install ok installed\nVersion: 2:1.0-3\nArchitecture: all\nMaintainer: Someone <s@example.org>\nInstalled-Size: 12\n",
        )
        .expect("write");
        let admindir = dir.path().to_string_lossy().into_owned();
        let rows = scan(&ScanRequest {
            constraints: vec![Constraint {
                column: DebPackageRow::admindir,
                op: ConstraintOp::Eq,
                value: Value::Text(admindir.clone()),
            }],
            ..ScanRequest::default()
        });
        assert_eq!(rows.len(), 1);
        let row = &rows[0];
        assert_eq!(row[DebPackageRow::name], Value::from("only-here"));
        assert_eq!(row[DebPackageRow::revision], Value::from("3"));
        assert_eq!(row[DebPackageRow::size], Value::Int(12));
        assert_eq!(row[DebPackageRow::admindir], Value::Text(admindir));
        assert_eq!(row[DebPackageRow::pid_with_namespace], Value::Int(0));
    }

    #[test]
    fn a_missing_admindir_is_no_rows() {
        let rows = scan(&ScanRequest {
            constraints: vec![Constraint {
                column: DebPackageRow::admindir,
                op: ConstraintOp::Eq,
                value: Value::from("/nonexistent/vigil-dpkg"),
            }],
            ..ScanRequest::default()
        });
        assert!(rows.is_empty());
    }
}
