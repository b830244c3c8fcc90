//! vigil's SQL layer: the connection every query runs on (read-only, bounded), running SQL text
//! (one or more statements) and collecting results.

mod authorizer;
mod connection;
mod limits;
#[cfg(test)]
mod tests;

use rusqlite::{Batch, fallible_iterator::FallibleIterator as _, types::ValueRef};

pub use self::{connection::Connection, limits::Limits};

/// A cell as SQLite returned it.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl Cell {
    fn from_ref(value: ValueRef<'_>) -> Self {
        match value {
            ValueRef::Null => Cell::Null,
            ValueRef::Integer(i) => Cell::Integer(i),
            ValueRef::Real(r) => Cell::Real(r),
            ValueRef::Text(t) => Cell::Text(String::from_utf8_lossy(t).into_owned()),
            ValueRef::Blob(b) => Cell::Blob(b.to_vec()),
        }
    }

    /// The text osquery prints for a value: NULL as the empty string.
    pub fn text(&self) -> String {
        match self {
            Cell::Null => String::new(),
            Cell::Integer(i) => i.to_string(),
            Cell::Real(r) => r.to_string(),
            Cell::Text(t) => t.clone(),
            Cell::Blob(b) => String::from_utf8_lossy(b).into_owned(),
        }
    }
}

/// The result of one statement.
#[derive(Debug, Clone, Default)]
pub struct ResultSet {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

/// Runs every statement in `sql`; returns the result of each that produces columns. Stops at the
/// first error with SQLite's own message, or vigil's when a statement would write or the run goes
/// past the connection's limits.
pub fn run(conn: &Connection, sql: &str) -> rusqlite::Result<Vec<ResultSet>> {
    let _clock = conn.start_run();
    let mut budget = limits::Budget::new(conn.limits());
    let mut results = Vec::new();
    let mut batch = Batch::new(conn, sql);
    loop {
        conn.forget_refusal();
        let Some(mut stmt) = batch.next().map_err(|e| conn.explain(e))? else {
            break;
        };
        connection::only_reading(&stmt)?;
        let columns: Vec<String> = stmt.column_names().map(str::to_owned).collect();
        let width = columns.len();
        let mut rows = Vec::new();
        let mut cursor = stmt.raw_query();
        while let Some(row) = cursor.next().map_err(|e| conn.explain(e))? {
            let mut cells = Vec::with_capacity(width);
            for i in 0..width {
                cells.push(Cell::from_ref(row.get_ref(i)?));
            }
            budget.take(&cells)?;
            rows.push(cells);
        }
        if width > 0 {
            results.push(ResultSet { columns, rows });
        }
    }
    Ok(results)
}

/// Prepares every statement in `sql` without running any: the errors [`run`] would stop at
/// before reading anything (unknown tables and columns, syntax, statements that would write).
pub fn prepare_all(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    let mut batch = Batch::new(conn, sql);
    loop {
        conn.forget_refusal();
        let Some(stmt) = batch.next().map_err(|e| conn.explain(e))? else {
            return Ok(());
        };
        connection::only_reading(&stmt)?;
    }
}

/// SQLite's message for an error, without rusqlite's decoration.
pub fn message(error: &rusqlite::Error) -> String {
    match error {
        rusqlite::Error::SqliteFailure(_, Some(msg)) => msg.clone(),
        rusqlite::Error::SqlInputError { msg, .. } => msg.clone(),
        rusqlite::Error::ModuleError(msg) => msg.clone(),
        other => other.to_string(),
    }
}
