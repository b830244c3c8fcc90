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

/// The host's UUID: the firmware's (`product_uuid`), else the machine id shaped as a UUID.
pub fn host_uuid() -> String {
    if let Some(uuid) = read_trimmed("/sys/class/dmi/id/product_uuid").filter(|u| !u.is_empty()) {
        return uuid.to_uppercase();
    }
    match read_trimmed("/etc/machine-id").filter(|id| id.len() == 32) {
        Some(id) => format!(
            "{}-{}-{}-{}-{}",
            &id[0..8],
            &id[8..12],
            &id[12..16],
            &id[16..20],
            &id[20..32]
        )
        .to_uppercase(),
        None => String::new(),
    }
}
