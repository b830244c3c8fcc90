//! One implementation of every evented table: rows decoded from a store column family, time
//! constraints turned into a key range, damaged rows skipped and counted.

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use vigil_events::{
    Counters, EventStore, EventTable, StoreError, TableCounters, TimeRange, codec::DecodeError,
};

use super::{QueryScope, StoredPages, prefilter::StoredPrefilter};
use crate::{
    cell::CellBuffer,
    table::{CellRows, Column, Rows, ScanRequest, Table, TableError, UsedColumns},
};

/// Writes a stored value (and its sequence number, the `eid`) as a row into the buffer, filling
/// at least the columns the query reads.
pub type RowDecoder = fn(&[u8], u64, UsedColumns, &mut CellBuffer) -> Result<(), DecodeError>;

pub struct StoredTable {
    table: EventTable,
    columns: &'static [Column],
    /// Indexes of the `time` (seconds) and `ntime` (nanoseconds) columns.
    time_columns: (usize, usize),
    decode: RowDecoder,
    store: Option<Arc<EventStore>>,
    counters: Arc<TableCounters>,
    visited: Arc<AtomicU64>,
    /// Set on the scheduler's connection: scheduled queries read each event once.
    scope: Option<Arc<QueryScope>>,
    /// Text columns stored verbatim, whose `LIKE` patterns are tried on a row's stored bytes
    /// before it is decoded (see `prefilter`).
    verbatim: &'static [usize],
}

impl StoredTable {
    pub fn new(
        table: EventTable,
        columns: &'static [Column],
        decode: RowDecoder,
        store: Option<Arc<EventStore>>,
        counters: &Counters,
    ) -> Self {
        let index = |name: &str| columns.iter().position(|c| c.name == name).unwrap_or(0);
        Self {
            table,
            columns,
            time_columns: (index("time"), index("ntime")),
            decode,
            store,
            counters: counters.table(table.name()).cloned().unwrap_or_default(),
            visited: Arc::new(AtomicU64::new(0)),
            scope: None,
            verbatim: &[],
        }
    }

    /// Declares `columns` as text the store keeps verbatim (each cell is the bytes of one stored
    /// string, as the column shows them): rows that cannot match a `LIKE` on them are
    /// skipped undecoded.
    pub fn with_verbatim_columns(mut self, columns: &'static [usize]) -> Self {
        self.verbatim = columns;
        self
    }

    /// Reads within `scope` (the scheduler's connection).
    pub fn with_scope(mut self, scope: Option<Arc<QueryScope>>) -> Self {
        self.scope = scope;
        self
    }

    /// Stored rows read by scans so far (to check that time constraints narrow the scan).
    pub fn rows_visited(&self) -> u64 {
        self.visited.load(Ordering::Relaxed)
    }
}

impl Table for StoredTable {
    fn name(&self) -> &'static str {
        self.table.name()
    }

    fn columns(&self) -> &'static [Column] {
        self.columns
    }

    fn time_columns(&self) -> Option<(usize, usize)> {
        Some(self.time_columns)
    }

    fn pushdown_columns(&self) -> &'static [usize] {
        self.verbatim
    }

    fn scan(&self, request: &ScanRequest) -> Result<Rows, TableError> {
        let mut cells = self.scan_cells(request)?;
        let mut buffer = CellBuffer::default();
        Ok(Box::new(std::iter::from_fn(move || {
            cells(&mut buffer).map(|written| written.map(|()| buffer.to_row()))
        })))
    }

    fn scan_cells(&self, request: &ScanRequest) -> Result<CellRows, TableError> {
        let Some(store) = self.store.clone() else {
            return Ok(Box::new(|_| None));
        };
        let name = self.table.name();
        let fail = move |e: StoreError| TableError::Failed {
            table: name,
            message: e.to_string(),
        };
        store.catch_up().map_err(fail)?;
        let range = match request.time_ns {
            Some((start_ns, end_ns)) => TimeRange { start_ns, end_ns },
            None => TimeRange::ALL,
        };
        let scope = self.scope.clone();
        let resume = scope.as_ref().and_then(|s| s.scan_start(self.table));
        let (from, skip_up_to, budget) = match resume {
            Some((cursor, budget)) => (cursor.next_key(), cursor.seq, budget),
            None => ((range.start_ns, 0), 0, None),
        };
        let counters = self.counters.clone();
        let decode = self.decode;
        let used = request.used();
        let table = self.table;
        let prefilter = StoredPrefilter::new(&request.constraints, self.verbatim);
        let mut pages = StoredPages::new(store, self.table, from, range, self.visited.clone())
            .with_prefilter(prefilter);
        // Inside a scheduled query, a scan reads at most `budget` new rows; if one more is
        // there, the scheduler runs the query again for the rest.
        let mut left = budget;
        Ok(Box::new(move |buffer: &mut CellBuffer| {
            loop {
                let (stored, candidate) = match pages.next_row()? {
                    Ok(row) => row,
                    Err(e) => return Some(Err(fail(e))),
                };
                // Rows an earlier run read (older versions' cursors resume early).
                if stored.seq <= skip_up_to {
                    continue;
                }
                match &mut left {
                    Some(0) => {
                        if let Some(scope) = &scope {
                            scope.note_more();
                        }
                        return None;
                    }
                    Some(n) => *n -= 1,
                    None => {}
                }
                if let Some(scope) = &scope {
                    scope.record(table, stored.time_ns, stored.seq);
                }
                // The page was searched for the prefilter's literals when it was read.
                if !candidate {
                    continue;
                }
                match decode(stored.value, stored.seq, used, buffer) {
                    Ok(()) => return Some(Ok(())),
                    Err(error) => {
                        // A damaged row must not hide the others: skip it, count it, and say so
                        // now and then.
                        let before = counters.corrupt.fetch_add(1, Ordering::Relaxed);
                        if before == 0 || before.is_power_of_two() {
                            tracing::warn!(%error, table = name, seq = stored.seq,
                            "skipped a stored row that does not decode");
                        }
                    }
                }
            }
        }))
    }
}
