//! `sudoers`: the rules of `/etc/sudoers` and of the files it includes (`@include`,
//! `@includedir`, and their `#` forms), each include a row itself, then the included file's
//! rules. Includes nest at most 128 deep, as sudo allows, so a file that includes itself ends.
//! A host without sudo has no rows.

use std::path::{Path, PathBuf};

use vigil_formats::sudoers::{self, Include};

use crate::row::table_row;
use crate::snapshot::linux::bounded;
use crate::snapshot::util::rows;
use crate::table::{Column, Row, Rows, ScanRequest, Table, TableError};

const NAME: &str = "sudoers";
const SUDOERS: &str = "/etc/sudoers";
/// sudoers(5): no more than 128 files may be nested.
const MAX_NESTING: usize = 128;
/// Bounds the rows of a tree of includes (128 levels of large files would be a lot).
const MAX_RULES: usize = 100_000;
const MAX_SUDOERS_BYTES: u64 = 4 * 1024 * 1024;

table_row! {
    struct SudoersRow {
        source: Text,
        header: Text,
        rule_details: Text,
    }
}

pub struct Sudoers;

impl Table for Sudoers {
    fn name(&self) -> &'static str {
        NAME
    }

    fn columns(&self) -> &'static [Column] {
        SudoersRow::COLUMNS
    }

    fn scan(&self, _request: &ScanRequest) -> Result<Rows, TableError> {
        let mut out = Vec::new();
        read_file(Path::new(SUDOERS), 1, &mut out);
        Ok(rows(out))
    }
}

fn read_file(file: &Path, level: usize, out: &mut Vec<Row>) {
    if level > MAX_NESTING {
        tracing::warn!(table = NAME, file = %file.display(), "sudoers includes nest deeper than 128 files: the rest is not read");
        return;
    }
    let Some(text) = bounded::read_text(NAME, file, MAX_SUDOERS_BYTES) else {
        return;
    };
    let source = file.to_string_lossy().into_owned();
    for rule in sudoers::rules(&text) {
        if out.len() >= MAX_RULES {
            tracing::warn!(
                table = NAME,
                max_rules = MAX_RULES,
                "too many sudoers rules: the rest are left out"
            );
            return;
        }
        out.push(
            SudoersRow {
                source: source.clone().into(),
                header: rule.header.into(),
                rule_details: rule.details.into(),
            }
            .into(),
        );
        let relative_to = |target: &str| -> PathBuf {
            let target = Path::new(target);
            match file.parent() {
                Some(dir) if target.is_relative() => dir.join(target),
                _ => target.to_owned(),
            }
        };
        match rule.include {
            Some(Include::File(target)) => read_file(&relative_to(&target), level + 1, out),
            Some(Include::Directory(target)) => {
                let dir = relative_to(&target);
                for entry in bounded::list_dir(NAME, &dir, bounded::MAX_DIR_ENTRIES) {
                    let name = entry.file_name().map(|n| n.to_string_lossy().into_owned());
                    if name
                        .as_deref()
                        .is_some_and(sudoers::included_from_directory)
                    {
                        read_file(&entry, level + 1, out);
                    }
                }
            }
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::Value;

    #[test]
    fn includes_relative_and_absolute_and_a_loop_that_ends() {
        let root = tempfile::tempdir().expect("tempdir");
        let main = root.path().join("sudoers");
        let dropins = root.path().join("sudoers.d");
        std::fs::create_dir(&dropins).expect("mkdir");
        std::fs::write(
            &main,
            "Defaults\tenv_reset\nroot\tALL=(ALL:ALL) ALL\n@includedir sudoers.d\n#include extra\n",
        )
        .expect("write");
        std::fs::write(
            dropins.join("90-admins"),
            "%admins ALL=(ALL) NOPASSWD: ALL\n",
        )
        .expect("write");
        std::fs::write(dropins.join("README.txt"), "ignored ALL=(ALL) ALL\n").expect("write");
        std::fs::write(dropins.join("old~"), "ignored ALL=(ALL) ALL\n").expect("write");
        let extra = root.path().join("extra");
        std::fs::write(
            &extra,
            format!(
                "deploy ALL=/usr/bin/systemctl\n@include {}\n",
                extra.display()
            ),
        )
        .expect("write");

        let mut out = Vec::new();
        read_file(&main, 1, &mut out);
        let headers: Vec<_> = out.iter().map(|r| r[1].clone()).collect();
        assert_eq!(
            &headers[..6],
            &[
                Value::from("Defaults"),
                Value::from("root"),
                Value::from("@includedir"),
                Value::from("%admins"),
                Value::from("#include"),
                Value::from("deploy"),
            ]
        );
        assert_eq!(
            out[3][0],
            Value::Text(dropins.join("90-admins").to_string_lossy().into_owned())
        );
        assert_eq!(out[3][2], Value::from("ALL=(ALL) NOPASSWD: ALL"));
        // `extra` includes itself: read again at each level until the nesting bound.
        let deploy = out.iter().filter(|r| r[1] == Value::from("deploy")).count();
        assert_eq!(deploy, MAX_NESTING - 1);
        assert!(!out.iter().any(|r| r[1] == Value::from("ignored")));
    }

    #[test]
    fn the_host_rules_are_well_formed() {
        let rows: Vec<Row> = Sudoers
            .scan(&ScanRequest::default())
            .expect("scan")
            .collect::<Result<_, _>>()
            .expect("rows");
        // No sudo on this host: no rows, no error; with sudo, every cell has text.
        if !Path::new(SUDOERS).exists() {
            assert!(rows.is_empty());
        }
        for row in &rows {
            assert!(
                row.iter()
                    .all(|v| v.as_text().is_some_and(|t| !t.is_empty())),
                "{row:?}"
            );
        }
    }
}
