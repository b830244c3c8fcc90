//! `certificates`: the system's trusted CA certificates, from the PEM bundles osquery reads on
//! Linux (`/etc/pki/tls/certs/ca-bundle.crt` on Red Hat's family,
//! `/etc/ssl/certs/ca-certificates.crt` on Debian's), or the bundles `path = ...` names. Each
//! certificate is parsed by vigil-formats' `certificates`; a bundle that is missing gives no
//! rows, and one larger than [`MAX_BUNDLE_BYTES`] is read up to it.

use std::path::Path;

use vigil_formats::certificates;

use crate::row::table_row;
use crate::snapshot::linux::bounded;
use crate::snapshot::util::rows;
use crate::table::{Column, Row, Rows, ScanRequest, Table, TableError, Value};

const NAME: &str = "certificates";
/// osquery's bundles on Linux (its `kDefaultBundlePathList`).
const DEFAULT_BUNDLES: &[&str] = &[
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/certs/ca-certificates.crt",
];
/// The most read of one bundle: Debian's, with ~150 certificates, is about 220 KiB.
const MAX_BUNDLE_BYTES: u64 = 16 * 1024 * 1024;

table_row! {
    struct CertificateRow {
        common_name: Text,
        subject: Text,
        subject2: Text,
        issuer: Text,
        issuer2: Text,
        ca: Integer,
        self_signed: Integer,
        not_valid_before: Integer,
        not_valid_after: Integer,
        signing_algorithm: Text,
        key_algorithm: Text,
        key_strength: Text,
        key_usage: Text,
        subject_key_id: Text,
        authority_key_id: Text,
        sha1: Text,
        path: Text,
        serial: Text,
    }
}

pub struct Certificates;

impl Table for Certificates {
    fn name(&self) -> &'static str {
        NAME
    }

    fn columns(&self) -> &'static [Column] {
        CertificateRow::COLUMNS
    }

    fn pushdown_columns(&self) -> &'static [usize] {
        &[CertificateRow::path]
    }

    fn scan(&self, request: &ScanRequest) -> Result<Rows, TableError> {
        let mut bundles: Vec<String> = request
            .equal_values(CertificateRow::path)
            .filter_map(Value::as_text)
            .map(str::to_owned)
            .collect();
        if bundles.is_empty() {
            bundles = DEFAULT_BUNDLES.iter().map(|p| (*p).to_owned()).collect();
        }
        Ok(rows(bundles.iter().flat_map(|b| read(b)).collect()))
    }
}

fn read(bundle: &str) -> Vec<Row> {
    let Some(bytes) = bounded::read_bytes(NAME, Path::new(bundle), MAX_BUNDLE_BYTES) else {
        return Vec::new();
    };
    certificates::parse_bundle(&bytes)
        .into_iter()
        .map(|c| {
            CertificateRow {
                common_name: c.common_name.into(),
                subject: c.subject.into(),
                subject2: c.subject2.into(),
                issuer: c.issuer.into(),
                issuer2: c.issuer2.into(),
                ca: Value::Int(i64::from(c.ca)),
                self_signed: Value::Int(i64::from(c.self_signed)),
                not_valid_before: Value::Int(c.not_valid_before),
                not_valid_after: Value::Int(c.not_valid_after),
                signing_algorithm: c.signing_algorithm.into(),
                key_algorithm: c.key_algorithm.into(),
                key_strength: c.key_strength.into(),
                key_usage: c.key_usage.into(),
                subject_key_id: c.subject_key_id.into(),
                authority_key_id: c.authority_key_id.into(),
                sha1: c.sha1.into(),
                path: bundle.into(),
                serial: c.serial.into(),
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
        Certificates
            .scan(request)
            .expect("scan")
            .collect::<Result<_, _>>()
            .expect("rows")
    }

    fn path_is(path: &str) -> ScanRequest {
        ScanRequest {
            constraints: vec![Constraint {
                column: CertificateRow::path,
                op: ConstraintOp::Eq,
                value: Value::from(path),
            }],
            ..ScanRequest::default()
        }
    }

    #[test]
    fn the_hosts_bundle_gives_its_certificates() {
        let rows = scan(&ScanRequest::default());
        let Some(bundle) = DEFAULT_BUNDLES.iter().find(|p| Path::new(p).exists()) else {
            assert!(rows.is_empty());
            return;
        };
        let text = std::fs::read_to_string(bundle).expect("the bundle");
        assert_eq!(
            rows.len(),
            text.matches("-----BEGIN CERTIFICATE-----").count()
        );
        for row in &rows {
            assert_eq!(row[CertificateRow::path], Value::from(*bundle));
            assert_eq!(row[CertificateRow::ca], Value::Int(1), "{row:?}");
            assert!(
                row[CertificateRow::sha1]
                    .as_text()
                    .is_some_and(|s| s.len() == 40)
            );
        }
    }

    #[test]
    fn path_names_another_bundle_and_a_missing_one_gives_no_rows() {
        assert!(scan(&path_is("/nonexistent/bundle.crt")).is_empty());
        let dir = tempfile::tempdir().expect("tempdir");
        let bundle = dir.path().join("bundle.crt");
        std::fs::write(&bundle, b"not a certificate\n").expect("write");
        assert!(scan(&path_is(&bundle.to_string_lossy())).is_empty());
        if let Some(host) = DEFAULT_BUNDLES.iter().find(|p| Path::new(p).exists()) {
            std::fs::copy(host, &bundle).expect("copy");
            let rows = scan(&path_is(&bundle.to_string_lossy()));
            assert!(!rows.is_empty());
            let expected = Value::from(&*bundle.to_string_lossy());
            assert!(rows.iter().all(|r| r[CertificateRow::path] == expected));
        }
    }
}
