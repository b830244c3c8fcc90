//! `smbios_tables`: the SMBIOS (DMI) structures the firmware describes the machine with (BIOS,
//! system, board, chassis, processors, memory...), one row each with its type, handle, sizes
//! and MD5, as osquery lists them, from the table the kernel exposes
//! (`/sys/firmware/dmi/tables/DMI`, root only). osquery falls back to reading physical memory
//! (`/dev/mem`) where sysfs lacks the table; vigil does not: a host without the sysfs table (a
//! VM without SMBIOS, like this project's CI host) has no rows.

use std::path::Path;

use vigil_formats::smbios;

use crate::row::table_row;
use crate::snapshot::linux::firmware::{self, Contents};
use crate::snapshot::util::rows;
use crate::table::{Column, Row, Rows, ScanRequest, Table, TableError, Value};

const NAME: &str = "smbios_tables";
const DMI_TABLE: &str = "/sys/firmware/dmi/tables/DMI";

table_row! {
    struct SmbiosTableRow {
        number: Integer,
        r#type: Integer,
        description: Text,
        handle: Integer,
        header_size: Integer,
        size: Integer,
        md5: Text,
    }
}

pub struct SmbiosTables;

impl Table for SmbiosTables {
    fn name(&self) -> &'static str {
        NAME
    }

    fn columns(&self) -> &'static [Column] {
        SmbiosTableRow::COLUMNS
    }

    fn scan(&self, _request: &ScanRequest) -> Result<Rows, TableError> {
        match firmware::read(NAME, Path::new(DMI_TABLE), firmware::MAX_TABLE_BYTES) {
            Contents::Bytes(table) => Ok(rows(table_rows(&table))),
            Contents::TooLarge(_) | Contents::Unreadable => Ok(rows(Vec::new())),
        }
    }
}

fn table_rows(table: &[u8]) -> Vec<Row> {
    smbios::structures(table)
        .iter()
        .map(|s| {
            let bytes = table.get(s.offset..s.offset + s.size).unwrap_or_default();
            SmbiosTableRow {
                number: Value::from(s.number as u64),
                r#type: Value::from(u32::from(s.kind)),
                description: smbios::description(s.kind).into(),
                handle: Value::from(u32::from(s.handle)),
                header_size: Value::from(u32::from(s.header_size)),
                size: Value::from(s.size as u64),
                md5: firmware::md5_hex(bytes).into(),
            }
            .into()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_per_structure() {
        // BIOS Information with two strings, then End-of-Table, then padding.
        let mut table = vec![0u8, 8, 0, 0, 1, 2, 0, 0];
        table.extend_from_slice(b"Vendor\0Version\0\0");
        let bios_size = table.len();
        table.extend_from_slice(&[127, 4, 0xff, 0xfe, 0, 0]);
        table.extend_from_slice(&[0; 8]);
        let rows = table_rows(&table);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0][SmbiosTableRow::number], Value::Int(0));
        assert_eq!(rows[0][SmbiosTableRow::r#type], Value::Int(0));
        assert_eq!(
            rows[0][SmbiosTableRow::description],
            Value::from("BIOS Information")
        );
        assert_eq!(rows[0][SmbiosTableRow::header_size], Value::Int(8));
        assert_eq!(rows[0][SmbiosTableRow::size], Value::Int(bios_size as i64));
        assert_eq!(
            rows[0][SmbiosTableRow::md5],
            Value::from(firmware::md5_hex(&table[..bios_size]))
        );
        assert_eq!(rows[1][SmbiosTableRow::number], Value::Int(1));
        assert_eq!(rows[1][SmbiosTableRow::handle], Value::Int(0xfeff));
        assert_eq!(rows[1][SmbiosTableRow::size], Value::Int(6));
    }

    #[test]
    fn the_host_answers() {
        let rows: Vec<Row> = SmbiosTables
            .scan(&ScanRequest::default())
            .expect("scan")
            .collect::<Result<_, _>>()
            .expect("rows");
        if !Path::new(DMI_TABLE).exists() {
            assert!(rows.is_empty());
        }
        for (i, row) in rows.iter().enumerate() {
            assert_eq!(row[SmbiosTableRow::number], Value::Int(i as i64));
        }
    }
}
