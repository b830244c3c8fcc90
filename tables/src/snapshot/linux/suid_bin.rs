//! `suid_bin`: set-user-id and set-group-id files under the usual binary directories (osquery's
//! list: `/bin`, `/sbin`, `/usr/bin`, `/usr/sbin`, `/usr/local/bin`, `/usr/local/sbin`,
//! `/tmp`), walked without following symlinks below each, at most 32 levels deep and 1,000,000
//! entries in all. Owners are named from `/etc/passwd` and `/etc/group` (read as files), or
//! given as numbers.

use std::collections::HashMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::row::table_row;
use crate::snapshot::linux::bounded;
use crate::snapshot::linux::namespace::{NamespaceColumns, scan_in_namespaces};
use crate::snapshot::util::rows;
use crate::table::{Column, Row, Rows, ScanRequest, Table, TableError, Value};

const NAME: &str = "suid_bin";
const SEARCH_PATHS: &[&str] = &[
    "/bin",
    "/sbin",
    "/usr/bin",
    "/usr/sbin",
    "/usr/local/bin",
    "/usr/local/sbin",
    "/tmp",
];
const MAX_DEPTH: usize = 32;
const MAX_ENTRIES: usize = 1_000_000;

table_row! {
    struct SuidBinRow {
        path: Text,
        username: Text,
        groupname: Text,
        permissions: Text,
        #[hidden]
        pid_with_namespace: Integer,
    }
}

const NAMESPACE: NamespaceColumns = NamespaceColumns {
    pid_with_namespace: SuidBinRow::pid_with_namespace,
    mount_namespace_id: None,
};

pub struct SuidBin;

impl Table for SuidBin {
    fn name(&self) -> &'static str {
        NAME
    }

    fn columns(&self) -> &'static [Column] {
        SuidBinRow::COLUMNS
    }

    fn pushdown_columns(&self) -> &'static [usize] {
        &[SuidBinRow::pid_with_namespace]
    }

    fn scan(&self, request: &ScanRequest) -> Result<Rows, TableError> {
        Ok(rows(scan_in_namespaces(NAME, request, NAMESPACE, || {
            let roots: Vec<PathBuf> = SEARCH_PATHS.iter().map(PathBuf::from).collect();
            Ok(walk(&roots))
        })?))
    }
}

fn walk(roots: &[PathBuf]) -> Vec<Row> {
    let users = names("/etc/passwd");
    let groups = names("/etc/group");
    let mut out = Vec::new();
    let mut seen = 0usize;
    for root in roots {
        // Each search path itself may be a symlink (`/bin` → `usr/bin`), followed as osquery
        // does; nothing below it is.
        let mut stack: Vec<(PathBuf, usize)> = vec![(root.clone(), 0)];
        while let Some((dir, depth)) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                seen += 1;
                if seen > MAX_ENTRIES {
                    tracing::warn!(
                        table = NAME,
                        max_entries = MAX_ENTRIES,
                        "more files than the table walks: the rest are left out"
                    );
                    return out;
                }
                let Ok(metadata) = entry.metadata() else {
                    continue;
                };
                let path = entry.path();
                if metadata.is_dir() {
                    if depth + 1 < MAX_DEPTH {
                        stack.push((path, depth + 1));
                    }
                } else if metadata.is_file() {
                    let mode = metadata.permissions().mode();
                    if mode & 0o6000 != 0 {
                        out.push(row(&path, &metadata, mode, &users, &groups));
                    }
                }
            }
        }
    }
    out
}

fn row(
    path: &Path,
    metadata: &std::fs::Metadata,
    mode: u32,
    users: &HashMap<u32, String>,
    groups: &HashMap<u32, String>,
) -> Row {
    let name = |names: &HashMap<u32, String>, id: u32| {
        names.get(&id).cloned().unwrap_or_else(|| id.to_string())
    };
    let mut permissions = String::new();
    if mode & 0o4000 != 0 {
        permissions.push('S');
    }
    if mode & 0o2000 != 0 {
        permissions.push('G');
    }
    SuidBinRow {
        path: path.to_string_lossy().into_owned().into(),
        username: name(users, metadata.uid()).into(),
        groupname: name(groups, metadata.gid()).into(),
        permissions: permissions.into(),
        pid_with_namespace: Value::Int(0),
    }
    .into()
}

/// id → name from a passwd or group file (`name:x:id:...`); the first name of an id wins.
fn names(file: &str) -> HashMap<u32, String> {
    let text =
        bounded::read_text(NAME, Path::new(file), bounded::MAX_FILE_BYTES).unwrap_or_default();
    let mut out = HashMap::new();
    for line in text.lines() {
        let mut fields = line.split(':');
        if let (Some(name), Some(_), Some(id)) = (fields.next(), fields.next(), fields.next())
            && let Ok(id) = id.parse()
        {
            out.entry(id).or_insert_with(|| name.to_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn finds_setuid_and_setgid_files_without_following_links() {
        let root = tempfile::tempdir().expect("tempdir");
        let bin = root.path().join("bin");
        let deep = bin.join("sub");
        std::fs::create_dir_all(&deep).expect("mkdir");
        let set = |path: &Path, mode: u32| {
            std::fs::write(path, "#!/bin/sh\n").expect("write");
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
        };
        set(&bin.join("both"), 0o6755);
        set(&deep.join("uid"), 0o4755);
        set(&bin.join("plain"), 0o755);
        std::os::unix::fs::symlink(&deep, bin.join("loop")).expect("symlink");
        std::os::unix::fs::symlink(bin.join("both"), bin.join("link-to-both")).expect("symlink");
        let mut rows = walk(std::slice::from_ref(&bin));
        rows.sort_by_key(|r| r[0].as_text().map(str::to_owned));
        let found: Vec<_> = rows.iter().map(|r| (r[0].clone(), r[3].clone())).collect();
        assert_eq!(
            found,
            [
                (
                    Value::Text(bin.join("both").to_string_lossy().into_owned()),
                    Value::from("SG")
                ),
                (
                    Value::Text(deep.join("uid").to_string_lossy().into_owned()),
                    Value::from("S")
                ),
            ]
        );
        assert_eq!(rows[0][1], Value::from("root"));
    }

    #[test]
    fn newgrp_is_setuid_root_on_this_host() {
        let rows: Vec<Row> = SuidBin
            .scan(&ScanRequest::default())
            .expect("scan")
            .collect::<Result<_, _>>()
            .expect("rows");
        let newgrp = rows
            .iter()
            .find(|r| r[0] == Value::from("/usr/bin/newgrp"))
            .expect("/usr/bin/newgrp is setuid on Debian");
        assert_eq!(newgrp[1], Value::from("root"));
        assert!(newgrp[3].as_text().is_some_and(|p| p.contains('S')));
        for row in &rows {
            assert!(
                row[3]
                    .as_text()
                    .is_some_and(|p| p == "S" || p == "G" || p == "SG")
            );
        }
    }
}
