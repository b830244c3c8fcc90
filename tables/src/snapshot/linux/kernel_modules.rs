//! `kernel_modules`: the loaded kernel modules, from `/proc/modules`. A kernel built without
//! module support has no such file: no rows.

use std::path::Path;

use crate::row::table_row;
use crate::snapshot::linux::bounded;
use crate::snapshot::util::rows;
use crate::table::{Column, Row, Rows, ScanRequest, Table, TableError, Value};

const NAME: &str = "kernel_modules";
const MODULES: &str = "/proc/modules";

table_row! {
    struct KernelModuleRow {
        name: Text,
        size: BigInt,
        used_by: Text,
        status: Text,
        address: Text,
    }
}

pub struct KernelModules;

impl Table for KernelModules {
    fn name(&self) -> &'static str {
        NAME
    }

    fn columns(&self) -> &'static [Column] {
        KernelModuleRow::COLUMNS
    }

    fn scan(&self, _request: &ScanRequest) -> Result<Rows, TableError> {
        let text = bounded::read_text(NAME, Path::new(MODULES), bounded::MAX_FILE_BYTES)
            .unwrap_or_default();
        Ok(rows(text.lines().filter_map(line).collect()))
    }
}

/// `name size refcount used_by state address [taint]`, e.g.
/// `nf_tables 348160 2 nft_chain_nat, Live 0xffffffffc0a00000`; `used_by` is `-` or a list
/// with a trailing comma, which osquery drops.
fn line(line: &str) -> Option<Row> {
    let fields: Vec<&str> = line.split_whitespace().collect();
    let [name, size, _refcount, used_by, status, address, ..] = fields.as_slice() else {
        return None;
    };
    Some(
        KernelModuleRow {
            name: (*name).into(),
            size: size.parse::<i64>().map_or(Value::Null, Value::Int),
            used_by: used_by.strip_suffix(',').unwrap_or(used_by).into(),
            status: (*status).into(),
            address: (*address).into(),
        }
        .into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_modules_lines() {
        let text = "\
nf_tables 348160 2 nft_chain_nat,nft_compat, Live 0xffffffffc0a00000
libcrc32c 12288 2 nf_conntrack,nf_tables, Live 0xffffffffc09f0000
virtio_net 73728 0 - Live 0xffffffffc0980000 (E)
broken line
";
        let rows: Vec<Row> = text.lines().filter_map(line).collect();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0][0], Value::from("nf_tables"));
        assert_eq!(rows[0][1], Value::Int(348_160));
        assert_eq!(rows[0][2], Value::from("nft_chain_nat,nft_compat"));
        assert_eq!(rows[0][3], Value::from("Live"));
        assert_eq!(rows[0][4], Value::from("0xffffffffc0a00000"));
        assert_eq!(rows[2][2], Value::from("-"));
    }

    #[test]
    fn the_host_answers_with_its_modules_or_none() {
        let rows: Vec<Row> = KernelModules
            .scan(&ScanRequest::default())
            .expect("scan")
            .collect::<Result<_, _>>()
            .expect("rows");
        let lines = std::fs::read_to_string(MODULES).map_or(0, |t| t.lines().count());
        // This CI kernel is built without module support: no file, no rows, no error.
        assert_eq!(rows.len(), lines);
        for row in &rows {
            assert!(row[0].as_text().is_some_and(|n| !n.is_empty()));
            assert!(row[1].as_i64().is_some_and(|s| s >= 0));
            assert!(row[4].as_text().is_some_and(|a| a.starts_with("0x")));
        }
    }
}
