//! `acpi_tables`: the ACPI tables the firmware gave the kernel (`/sys/firmware/acpi/tables`,
//! with the tables loaded later under `dynamic/` and `data/`), each with its size and MD5, as
//! osquery lists them: `name` is the file's name (`DSDT`, `SSDT1`). Reading them needs root; a
//! table that cannot be read has `size` -1 and no `md5`, as in osquery. A host without ACPI
//! has no rows.

use std::path::Path;

use crate::row::table_row;
use crate::snapshot::linux::bounded;
use crate::snapshot::linux::firmware::{self, Contents};
use crate::snapshot::util::rows;
use crate::table::{Column, Row, Rows, ScanRequest, Table, TableError, Value};

const NAME: &str = "acpi_tables";
const ACPI_TABLES: &str = "/sys/firmware/acpi/tables";
/// Directory levels below the root that are walked: the kernel makes one (`dynamic/`, `data/`).
const MAX_DEPTH: usize = 4;

table_row! {
    struct AcpiTableRow {
        name: Text,
        size: Integer,
        md5: Text,
    }
}

pub struct AcpiTables;

impl Table for AcpiTables {
    fn name(&self) -> &'static str {
        NAME
    }

    fn columns(&self) -> &'static [Column] {
        AcpiTableRow::COLUMNS
    }

    fn scan(&self, _request: &ScanRequest) -> Result<Rows, TableError> {
        let mut out = Vec::new();
        walk(Path::new(ACPI_TABLES), 0, &mut out);
        Ok(rows(out))
    }
}

/// The rows of the tables in `dir` and, down to [`MAX_DEPTH`], its subdirectories.
fn walk(dir: &Path, depth: usize, out: &mut Vec<Row>) {
    for path in bounded::list_dir(NAME, dir, bounded::MAX_DIR_ENTRIES) {
        let Ok(metadata) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if metadata.is_dir() {
            if depth < MAX_DEPTH {
                walk(&path, depth + 1, out);
            }
            continue;
        }
        if !metadata.is_file() {
            continue;
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (size, md5) = match firmware::read(NAME, &path, firmware::MAX_TABLE_BYTES) {
            Contents::Bytes(bytes) => (bytes.len() as i64, Value::from(firmware::md5_hex(&bytes))),
            Contents::TooLarge(length) => (i64::try_from(length).unwrap_or(i64::MAX), Value::Null),
            Contents::Unreadable => (-1, Value::Null),
        };
        out.push(
            AcpiTableRow {
                name: name.into(),
                size: Value::Int(size),
                md5,
            }
            .into(),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_and_the_dynamic_ones_below() {
        let root = tempfile::tempdir().expect("tempdir");
        std::fs::write(root.path().join("DSDT"), b"DSDT\x24\x00\x00\x00").expect("write");
        std::fs::create_dir(root.path().join("dynamic")).expect("mkdir");
        std::fs::write(root.path().join("dynamic/SSDT1"), b"test").expect("write");
        std::fs::create_dir(root.path().join("data")).expect("mkdir");
        let mut out = Vec::new();
        walk(root.path(), 0, &mut out);
        let found: Vec<(Value, Value, Value)> = out
            .iter()
            .map(|r| {
                (
                    r[AcpiTableRow::name].clone(),
                    r[AcpiTableRow::size].clone(),
                    r[AcpiTableRow::md5].clone(),
                )
            })
            .collect();
        assert_eq!(
            found,
            [
                (
                    Value::from("DSDT"),
                    Value::Int(8),
                    Value::from(firmware::md5_hex(b"DSDT\x24\x00\x00\x00"))
                ),
                (
                    Value::from("SSDT1"),
                    Value::Int(4),
                    Value::from("098f6bcd4621d373cade4e832627b4f6")
                ),
            ]
        );
    }

    #[test]
    fn the_host_answers() {
        let rows: Vec<Row> = AcpiTables
            .scan(&ScanRequest::default())
            .expect("scan")
            .collect::<Result<_, _>>()
            .expect("rows");
        // As root on an ACPI machine (this VM, CI), the firmware's tables are there and read.
        if Path::new(ACPI_TABLES).join("DSDT").exists() && is_root() {
            let dsdt = rows
                .iter()
                .find(|r| r[AcpiTableRow::name] == Value::from("DSDT"))
                .expect("a DSDT row");
            assert!(dsdt[AcpiTableRow::size].as_i64().is_some_and(|s| s >= 36));
            assert!(
                dsdt[AcpiTableRow::md5]
                    .as_text()
                    .is_some_and(|m| m.len() == 32)
            );
        }
    }

    fn is_root() -> bool {
        // SAFETY: geteuid has no preconditions and cannot fail.
        unsafe { libc::geteuid() == 0 }
    }
}
