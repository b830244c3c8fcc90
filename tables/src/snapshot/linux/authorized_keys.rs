//! `authorized_keys`: the keys in each local user's `~/.ssh/authorized_keys` and
//! `~/.ssh/authorized_keys2`. `uid = N` reads one user's files.

use std::path::Path;

use vigil_formats::authorized_keys;

use crate::row::table_row;
use crate::snapshot::linux::accounts::accounts;
use crate::snapshot::linux::bounded;
use crate::snapshot::linux::namespace::{NamespaceColumns, scan_in_namespaces};
use crate::snapshot::util::rows;
use crate::table::{Column, Row, Rows, ScanRequest, Table, TableError, Value};

const NAME: &str = "authorized_keys";
const KEY_FILES: &[&str] = &[".ssh/authorized_keys", ".ssh/authorized_keys2"];
const MAX_KEYS_BYTES: u64 = 4 * 1024 * 1024;

table_row! {
    struct AuthorizedKeyRow {
        uid: BigInt,
        algorithm: Text,
        key: Text,
        options: Text,
        comment: Text,
        key_file: Text,
        #[hidden]
        pid_with_namespace: Integer,
    }
}

const NAMESPACE: NamespaceColumns = NamespaceColumns {
    pid_with_namespace: AuthorizedKeyRow::pid_with_namespace,
    mount_namespace_id: None,
};

pub struct AuthorizedKeys;

impl Table for AuthorizedKeys {
    fn name(&self) -> &'static str {
        NAME
    }

    fn columns(&self) -> &'static [Column] {
        AuthorizedKeyRow::COLUMNS
    }

    fn pushdown_columns(&self) -> &'static [usize] {
        &[AuthorizedKeyRow::uid, AuthorizedKeyRow::pid_with_namespace]
    }

    fn scan(&self, request: &ScanRequest) -> Result<Rows, TableError> {
        Ok(rows(scan_in_namespaces(NAME, request, NAMESPACE, || {
            Ok(accounts(NAME, request, AuthorizedKeyRow::uid)
                .iter()
                .flat_map(|a| {
                    KEY_FILES
                        .iter()
                        .flat_map(move |f| read(a.uid, &a.home.join(f)))
                })
                .collect())
        })?))
    }
}

fn read(uid: u32, file: &Path) -> Vec<Row> {
    let Some(text) = bounded::read_text(NAME, file, MAX_KEYS_BYTES) else {
        return Vec::new();
    };
    let key_file = file.to_string_lossy().into_owned();
    text.lines()
        .filter_map(authorized_keys::line)
        .map(|k| {
            AuthorizedKeyRow {
                uid: Value::from(uid),
                algorithm: k.algorithm.into(),
                key: k.key.into(),
                options: k.options.into(),
                comment: k.comment.into(),
                key_file: key_file.clone().into(),
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
    fn a_keys_file_with_options_and_comments() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("authorized_keys");
        std::fs::write(
            &file,
            "# managed by config management\n\
             ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMq alice@laptop\n\
             from=\"10.0.0.0/8\",command=\"/usr/local/bin/backup --serve\" ssh-rsa AAAAB3NzaC1yc2E backup\n\
             \n\
             not a key line\n",
        )
        .expect("write");
        let rows = read(1000, &file);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0][AuthorizedKeyRow::uid], Value::Int(1000));
        assert_eq!(
            rows[0][AuthorizedKeyRow::algorithm],
            Value::from("ssh-ed25519")
        );
        assert_eq!(rows[0][AuthorizedKeyRow::options], Value::from(""));
        assert_eq!(
            rows[0][AuthorizedKeyRow::comment],
            Value::from("alice@laptop")
        );
        assert_eq!(
            rows[1][AuthorizedKeyRow::options],
            Value::from("from=\"10.0.0.0/8\",command=\"/usr/local/bin/backup --serve\"")
        );
        assert_eq!(
            rows[1][AuthorizedKeyRow::key],
            Value::from("AAAAB3NzaC1yc2E")
        );
        assert_eq!(
            rows[1][AuthorizedKeyRow::key_file],
            Value::Text(file.to_string_lossy().into_owned())
        );
    }

    #[test]
    fn the_host_keys_are_well_formed() {
        let rows: Vec<Row> = AuthorizedKeys
            .scan(&ScanRequest::default())
            .expect("scan")
            .collect::<Result<_, _>>()
            .expect("rows");
        for row in &rows {
            assert!(row[AuthorizedKeyRow::uid].as_i64().is_some_and(|u| u >= 0));
            assert!(
                row[AuthorizedKeyRow::key]
                    .as_text()
                    .is_some_and(|k| !k.is_empty())
            );
            let file = row[AuthorizedKeyRow::key_file].as_text().expect("file");
            assert!(Path::new(file).is_file());
        }
    }
}
