//! Bounds on one ad-hoc (shell, `vigil query`) or distributed query: how long it may run and
//! how much it may return. A query past a bound is stopped with an error that names the flag,
//! instead of holding the shell, the distributed thread or the worker's memory without end.

use std::{
    sync::{
        Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use rusqlite::ffi;

use super::Cell;
use crate::cli::QueryLimitArgs;

/// What one run of SQL may take; `None` is no bound.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    pub timeout: Option<Duration>,
    pub max_rows: Option<u64>,
    pub max_bytes: Option<u64>,
}

impl Limits {
    /// No bounds (scheduled queries: the watchdog bounds those).
    pub const NONE: Limits = Limits {
        timeout: None,
        max_rows: None,
        max_bytes: None,
    };

    /// `--query_timeout`, `--query_max_rows`, `--query_max_bytes` (0: no bound).
    pub fn from_flags(flags: &QueryLimitArgs) -> Self {
        let bound = |value: u64| (value > 0).then_some(value);
        Self {
            timeout: bound(flags.query_timeout).map(Duration::from_secs),
            max_rows: bound(flags.query_max_rows),
            max_bytes: bound(flags.query_max_bytes),
        }
    }
}

/// A failure with SQLite's result code `code` and vigil's message.
pub(super) fn failure(code: i32, message: String) -> rusqlite::Error {
    rusqlite::Error::SqliteFailure(ffi::Error::new(code), Some(message))
}

/// Rows and bytes a result has taken so far, against the limits.
pub(super) struct Budget {
    limits: Limits,
    rows: u64,
    bytes: u64,
}

/// Bytes a cell holds, as counted against `--query_max_bytes`: its text or blob, or 8.
fn cell_bytes(cell: &Cell) -> u64 {
    match cell {
        Cell::Text(text) => text.len() as u64,
        Cell::Blob(blob) => blob.len() as u64,
        Cell::Null | Cell::Integer(_) | Cell::Real(_) => 8,
    }
}

impl Budget {
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            rows: 0,
            bytes: 0,
        }
    }

    /// Counts one more row; an error once the result is over a bound.
    pub fn take(&mut self, row: &[Cell]) -> rusqlite::Result<()> {
        self.rows += 1;
        self.bytes += row.iter().map(cell_bytes).sum::<u64>();
        if let Some(max) = self.limits.max_rows
            && self.rows > max
        {
            return Err(failure(
                ffi::SQLITE_TOOBIG,
                format!(
                    "the result has more than {max} rows (--query_max_rows); narrow the query \
                     (WHERE, LIMIT) or raise --query_max_rows (0: no limit)"
                ),
            ));
        }
        if let Some(max) = self.limits.max_bytes
            && self.bytes > max
        {
            return Err(failure(
                ffi::SQLITE_TOOBIG,
                format!(
                    "the result is larger than {max} bytes (--query_max_bytes); narrow the query \
                     (fewer columns, WHERE, LIMIT) or raise --query_max_bytes (0: no limit)"
                ),
            ));
        }
        Ok(())
    }
}

/// The running query's deadline, shared with the progress handler SQLite calls while it runs.
#[derive(Debug, Default)]
pub(super) struct Deadline {
    at: Mutex<Option<Instant>>,
    /// The handler stopped the query because the deadline passed.
    passed: AtomicBool,
}

impl Deadline {
    /// Starts the clock for one run.
    pub fn start(&self, timeout: Option<Duration>) {
        self.passed.store(false, Ordering::Relaxed);
        if let Ok(mut at) = self.at.lock() {
            *at = timeout.map(|t| Instant::now() + t);
        }
    }

    /// No deadline until the next run.
    pub fn clear(&self) {
        if let Ok(mut at) = self.at.lock() {
            *at = None;
        }
    }

    /// For the progress handler: true (stop the query) once the deadline has passed.
    pub fn expired(&self) -> bool {
        let expired = self
            .at
            .lock()
            .map(|at| at.is_some_and(|at| Instant::now() >= at))
            .unwrap_or(false);
        if expired {
            self.passed.store(true, Ordering::Relaxed);
        }
        expired
    }

    /// Whether this run was stopped by its deadline (not by an interrupt from elsewhere).
    pub fn passed(&self) -> bool {
        self.passed.load(Ordering::Relaxed)
    }
}

/// The error for a run its deadline stopped.
pub(super) fn timed_out(timeout: Option<Duration>) -> rusqlite::Error {
    let seconds = timeout.map_or(0, |t| t.as_secs());
    failure(
        ffi::SQLITE_ABORT,
        format!(
            "the query ran longer than {seconds} s (--query_timeout) and was stopped; narrow it \
             (a time range on event tables, fewer files, a LIMIT) or raise --query_timeout \
             (0: no limit)"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(error: rusqlite::Error) -> String {
        super::super::message(&error)
    }

    #[test]
    fn rows_and_bytes_are_counted_against_their_bounds() {
        let mut rows = Budget::new(Limits {
            max_rows: Some(2),
            ..Limits::NONE
        });
        assert!(rows.take(&[Cell::Integer(1)]).is_ok());
        assert!(rows.take(&[Cell::Integer(2)]).is_ok());
        let text = rows
            .take(&[Cell::Integer(3)])
            .err()
            .map(message)
            .unwrap_or_default();
        assert!(
            text.contains("more than 2 rows (--query_max_rows)"),
            "{text}"
        );

        let mut bytes = Budget::new(Limits {
            max_bytes: Some(10),
            ..Limits::NONE
        });
        assert!(bytes.take(&[Cell::Text("12345".into())]).is_ok());
        let text = bytes
            .take(&[Cell::Text("123456".into())])
            .err()
            .map(message)
            .unwrap_or_default();
        assert!(
            text.contains("larger than 10 bytes (--query_max_bytes)"),
            "{text}"
        );

        let mut none = Budget::new(Limits::NONE);
        for _ in 0..10_000 {
            assert!(none.take(&[Cell::Text("x".repeat(100))]).is_ok());
        }
    }

    #[test]
    fn zero_flags_mean_no_bound() {
        let limits = Limits::from_flags(&QueryLimitArgs {
            query_timeout: 0,
            query_max_rows: 5,
            query_max_bytes: 0,
        });
        assert_eq!(
            limits,
            Limits {
                timeout: None,
                max_rows: Some(5),
                max_bytes: None
            }
        );
    }

    #[test]
    fn a_deadline_expires_only_when_set_and_passed() {
        let deadline = Deadline::default();
        assert!(!deadline.expired(), "no deadline, no expiry");
        deadline.start(Some(Duration::ZERO));
        assert!(deadline.expired());
        assert!(deadline.passed());
        deadline.start(Some(Duration::from_secs(3600)));
        assert!(!deadline.expired());
        assert!(!deadline.passed(), "a new run starts unexpired");
        deadline.clear();
        assert!(!deadline.expired());
    }
}
