//! Streaming a store range page by page, so a scan never holds a RocksDB iterator across SQLite
//! calls and never loads a whole table.

use std::{
    collections::VecDeque,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use vigil_events::{EventStore, EventTable, StoreError, TimeRange, store::StoredRow};

const PAGE_ROWS: usize = 512;

pub struct StoredPages {
    store: Arc<EventStore>,
    table: EventTable,
    range: TimeRange,
    next: Option<(u64, u64)>,
    page: VecDeque<StoredRow>,
    /// Rows read from the store, shared with the table so tests can see what a scan touched.
    visited: Arc<AtomicU64>,
}

impl StoredPages {
    /// Pages through the rows of `range`, from the key `from` (included) on.
    pub fn new(
        store: Arc<EventStore>,
        table: EventTable,
        from: (u64, u64),
        range: TimeRange,
        visited: Arc<AtomicU64>,
    ) -> Self {
        Self {
            store,
            table,
            range,
            next: Some(from),
            page: VecDeque::new(),
            visited,
        }
    }

    fn refill(&mut self) -> Result<(), StoreError> {
        let Some(from) = self.next else {
            return Ok(());
        };
        let rows: Vec<StoredRow> = self
            .store
            .scan_from(self.table, from, self.range)?
            .take(PAGE_ROWS)
            .collect::<Result<_, _>>()?;
        self.visited.fetch_add(rows.len() as u64, Ordering::Relaxed);
        self.next = match rows.last() {
            Some(last) if rows.len() == PAGE_ROWS => match last.seq.checked_add(1) {
                Some(seq) => Some((last.time_ns, seq)),
                None => last.time_ns.checked_add(1).map(|t| (t, 0)),
            },
            _ => None,
        };
        self.page.extend(rows);
        Ok(())
    }
}

impl Iterator for StoredPages {
    type Item = Result<StoredRow, StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.page.is_empty()
            && let Err(e) = self.refill()
        {
            self.next = None;
            return Some(Err(e));
        }
        self.page.pop_front().map(Ok)
    }
}
