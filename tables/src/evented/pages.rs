//! Streaming a store range page by page, so a scan never holds a RocksDB iterator across SQLite
//! calls and never loads a whole table. A page's rows share one buffer, reused from page to page.

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use vigil_events::{
    EventStore, EventTable, StoreError, TimeRange,
    store::{PageRowRef, StoredPage},
};

use super::prefilter::StoredPrefilter;

/// A scan's first page is small, so a query that stops early (`LIMIT`) reads little; each page
/// after it is twice as large, up to `MAX_PAGE_ROWS`, so a long scan opens few RocksDB iterators
/// (each one costs a seek through every level) and keeps at most about a megabyte of rows.
const FIRST_PAGE_ROWS: usize = 256;
const MAX_PAGE_ROWS: usize = 4096;

pub struct StoredPages {
    store: Arc<EventStore>,
    table: EventTable,
    range: TimeRange,
    /// Where the next page starts; `None` once the range is read.
    next: Option<(u64, u64)>,
    page: StoredPage,
    /// The page's next row.
    cursor: usize,
    /// How many rows the next page holds at most.
    page_rows: usize,
    /// Rows read from the store, shared with the table so tests can see what a scan touched.
    visited: Arc<AtomicU64>,
    prefilter: Option<StoredPrefilter>,
    /// For each row of the page, whether it may pass `prefilter`.
    candidates: Vec<bool>,
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
            page: StoredPage::default(),
            cursor: 0,
            page_rows: FIRST_PAGE_ROWS,
            visited,
            prefilter: None,
            candidates: Vec::new(),
        }
    }

    /// Tries each page's rows against `prefilter` as the page is read (see `next_row`).
    pub fn with_prefilter(mut self, prefilter: Option<StoredPrefilter>) -> Self {
        self.prefilter = prefilter;
        self
    }

    fn refill(&mut self) -> Result<(), StoreError> {
        self.cursor = 0;
        let Some(from) = self.next.take() else {
            self.page = StoredPage::default();
            return Ok(());
        };
        let more =
            self.store
                .read_page(self.table, from, self.range, self.page_rows, &mut self.page)?;
        self.page_rows = (self.page_rows * 2).min(MAX_PAGE_ROWS);
        self.visited
            .fetch_add(self.page.len() as u64, Ordering::Relaxed);
        if let Some(prefilter) = &self.prefilter {
            prefilter.page_candidates(&self.page, &mut self.candidates);
        }
        self.next = self
            .page
            .last_key()
            .filter(|_| more)
            .and_then(vigil_events::store::key::after);
        Ok(())
    }

    /// The next row, borrowed from the page until the next call (rows are not copied out), and
    /// whether it may pass the prefilter (always true without one).
    pub fn next_row(&mut self) -> Option<Result<(PageRowRef<'_>, bool), StoreError>> {
        if self.cursor == self.page.len()
            && let Err(e) = self.refill()
        {
            self.next = None;
            self.page = StoredPage::default();
            return Some(Err(e));
        }
        let row = self.page.get(self.cursor)?;
        let candidate =
            self.prefilter.is_none() || self.candidates.get(self.cursor).copied().unwrap_or(true);
        self.cursor += 1;
        Some(Ok((row, candidate)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every row of the range once, in key order, across page boundaries: the sequence numbers a
    /// scan of `rows` stored rows sees.
    fn seqs_read(rows: usize) -> Vec<u64> {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let store = Arc::new(EventStore::open_primary(&dir.path().join("db")).expect("store"));
        let values: Vec<(u64, Vec<u8>)> = (0..rows)
            .map(|i| (1_000 + i as u64, vec![i as u8; 1 + i % 7]))
            .collect();
        if !values.is_empty() {
            store
                .append(EventTable::BpfFileEvents, &values)
                .expect("append");
        }
        let visited = Arc::new(AtomicU64::new(0));
        let mut pages = StoredPages::new(
            store,
            EventTable::BpfFileEvents,
            (0, 0),
            TimeRange::ALL,
            visited.clone(),
        );
        let mut seqs = Vec::new();
        while let Some(row) = pages.next_row() {
            let (row, candidate) = row.expect("a row");
            assert!(candidate, "no prefilter: every row is a candidate");
            let i = seqs.len();
            assert_eq!(row.time_ns, 1_000 + i as u64);
            assert_eq!(row.value, vec![i as u8; 1 + i % 7].as_slice());
            seqs.push(row.seq);
            assert!(seqs.len() <= rows, "more rows read than stored");
        }
        assert!(pages.next_row().is_none(), "the scan stays at its end");
        assert_eq!(visited.load(Ordering::Relaxed), rows as u64);
        seqs
    }

    #[test]
    fn every_row_is_read_once_across_pages() {
        // Page boundaries fall at 256, 768, 1792, ... then every 4096 rows.
        let first = FIRST_PAGE_ROWS;
        for rows in [
            0,
            1,
            first - 1,
            first,
            first + 1,
            3 * first,
            3 * first + 1,
            (FIRST_PAGE_ROWS..=MAX_PAGE_ROWS)
                .step_by(1)
                .filter(|n| n.is_power_of_two())
                .sum::<usize>()
                + 2 * MAX_PAGE_ROWS
                + 3,
        ] {
            let seqs = seqs_read(rows);
            assert_eq!(seqs.len(), rows, "{rows} rows stored");
            assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{rows} rows in order");
        }
    }
}
