//! Small helpers shared by snapshot tables.

use crate::table::{Row, Rows, TableError};

/// Rows already built, as a scan result.
pub fn rows(rows: Vec<Row>) -> Rows {
    Box::new(rows.into_iter().map(Ok))
}

/// A scan failure naming the table and what went wrong.
pub fn failed(table: &'static str, message: impl Into<String>) -> TableError {
    TableError::Failed {
        table,
        message: message.into(),
    }
}

/// Reads a small text file, trimmed; `None` when it cannot be read.
pub fn read_trimmed(path: impl AsRef<std::path::Path>) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_owned())
}

/// The firmware's system UUID; without DMI (VMs without SMBIOS, non-x86 boards) the systemd
/// machine id, which is as stable, shaped as a UUID.
pub fn host_uuid() -> Option<String> {
    read_trimmed("/sys/class/dmi/id/product_uuid")
        .filter(|u| !u.is_empty())
        .or_else(|| read_trimmed("/etc/machine-id").and_then(|id| machine_id_uuid(&id)))
}

pub(crate) fn machine_id_uuid(id: &str) -> Option<String> {
    if id.len() != 32 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some(format!(
        "{}-{}-{}-{}-{}",
        id.get(0..8)?,
        id.get(8..12)?,
        id.get(12..16)?,
        id.get(16..20)?,
        id.get(20..32)?
    ))
}
