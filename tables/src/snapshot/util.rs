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
