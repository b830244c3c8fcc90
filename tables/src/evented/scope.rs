//! Exactly-once reads of evented tables for scheduled queries. The scheduler opens a scope before
//! a query runs, naming where each table's previous run stopped; scans skip what was already read
//! and note how far they got; the scheduler persists that with the query's results.
//!
//! The store keys rows in arrival order (see `vigil_events::store`), so "how far" is one row key:
//! everything up to it was read, everything after it was not.

use std::{collections::HashMap, sync::Mutex};

use vigil_events::EventTable;
// How far a query read is part of its state, which keeps it.
pub use vigil_state::schedule::Cursor;

/// What a scheduled query's run read.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ScopeOutcome {
    /// Each evented table the query read, and how far.
    pub reached: HashMap<EventTable, Cursor>,
    /// A scan stopped at the row budget with rows left: the query should run again at once to
    /// read the rest.
    pub more: bool,
}

#[derive(Debug, Default)]
struct Active {
    start: HashMap<EventTable, Cursor>,
    outcome: ScopeOutcome,
}

/// The scheduled query a connection is running, if any.
#[derive(Debug, Default)]
pub struct QueryScope {
    active: Mutex<Option<Active>>,
    /// Rows one scan of an evented table reads at most in a scheduled query (`None`: no limit).
    /// Bounds the memory a run over a large backlog takes: the rest is read by the next run.
    row_budget: Option<usize>,
}

impl QueryScope {
    /// A scope whose scans read at most `row_budget` new rows each.
    pub fn with_row_budget(row_budget: usize) -> Self {
        Self {
            active: Mutex::new(None),
            row_budget: Some(row_budget.max(1)),
        }
    }

    /// A scheduled query starts, resuming each table after `start` (tables not named start from
    /// the beginning of what is buffered).
    pub fn begin(&self, start: HashMap<EventTable, Cursor>) {
        if let Ok(mut active) = self.active.lock() {
            *active = Some(Active {
                start,
                outcome: ScopeOutcome::default(),
            });
        }
    }

    /// The query ended: each evented table it read, how far, and whether rows were left.
    pub fn finish(&self) -> ScopeOutcome {
        self.active
            .lock()
            .ok()
            .and_then(|mut a| a.take())
            .map(|a| a.outcome)
            .unwrap_or_default()
    }

    /// For a scan of `table`: `Some((cursor, budget))` inside a scheduled query (rows up to the
    /// cursor were read by earlier runs; the cursor may be the start of the table), `None` for
    /// ad-hoc queries, which see all history.
    pub(crate) fn scan_start(&self, table: EventTable) -> Option<(Cursor, Option<usize>)> {
        let mut active = self.active.lock().ok()?;
        let active = active.as_mut()?;
        let start = active.start.get(&table).copied().unwrap_or_default();
        active.outcome.reached.entry(table).or_insert(start);
        Some((start, self.row_budget))
    }

    pub(crate) fn record(&self, table: EventTable, time_ns: u64, seq: u64) {
        if let Ok(mut active) = self.active.lock()
            && let Some(active) = active.as_mut()
        {
            let reached = active.outcome.reached.entry(table).or_default();
            reached.seq = reached.seq.max(seq);
            reached.time_ns = reached.time_ns.max(time_ns);
        }
    }

    /// A scan stopped at its budget with rows left.
    pub(crate) fn note_more(&self) {
        if let Ok(mut active) = self.active.lock()
            && let Some(active) = active.as_mut()
        {
            active.outcome.more = true;
        }
    }
}
