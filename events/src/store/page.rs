//! Reading a table a page of rows at a time into one reusable buffer: a scan of a million rows
//! then costs a copy of each value, not two allocations per row (the key and the value boxes of
//! RocksDB's iterator items), and no RocksDB iterator is held between pages. A page may end inside
//! a chunk (see [`super::chunk`]): the next one starts there.

use super::{EventStore, StoreError, TimeRange};
use crate::event_table::EventTable;

/// Rows of one page: their keys, and their values one after another in one buffer.
#[derive(Debug, Default)]
pub struct StoredPage {
    rows: Vec<PageRow>,
    values: Vec<u8>,
}

#[derive(Debug, Clone, Copy)]
struct PageRow {
    time_ns: u64,
    seq: u64,
    end: usize,
}

/// One row of a [`StoredPage`], value still encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRowRef<'a> {
    pub time_ns: u64,
    pub seq: u64,
    pub value: &'a [u8],
}

impl StoredPage {
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The `index`th row of the page.
    pub fn get(&self, index: usize) -> Option<PageRowRef<'_>> {
        let row = self.rows.get(index)?;
        let start = match index.checked_sub(1) {
            Some(previous) => self.rows.get(previous)?.end,
            None => 0,
        };
        Some(PageRowRef {
            time_ns: row.time_ns,
            seq: row.seq,
            value: self.values.get(start..row.end)?,
        })
    }

    /// Every row's value, one after another (row `i` is `get(i)`'s value).
    pub fn values(&self) -> &[u8] {
        &self.values
    }

    /// The row whose value holds byte `offset` of [`StoredPage::values`].
    pub fn row_at(&self, offset: usize) -> Option<usize> {
        let row = self.rows.partition_point(|row| row.end <= offset);
        (row < self.rows.len()).then_some(row)
    }

    /// The key of the last row, if any.
    pub fn last_key(&self) -> Option<(u64, u64)> {
        self.rows.last().map(|row| (row.time_ns, row.seq))
    }

    fn clear(&mut self) {
        self.rows.clear();
        self.values.clear();
    }

    fn push(&mut self, time_ns: u64, seq: u64, value: &[u8]) {
        self.values.extend_from_slice(value);
        self.rows.push(PageRow {
            time_ns,
            seq,
            end: self.values.len(),
        });
    }
}

impl EventStore {
    /// Replaces `page` with at most `max_rows` rows of `table`, in key order, from the key `from`
    /// (included) on, within `range` as [`EventStore::scan_from`] reads it. `true` when it stopped
    /// at `max_rows` (more rows may follow the page's last key), `false` at the end of the range.
    pub fn read_page(
        &self,
        table: EventTable,
        from: (u64, u64),
        range: TimeRange,
        max_rows: usize,
        page: &mut StoredPage,
    ) -> Result<bool, StoreError> {
        page.clear();
        if range.is_empty() || max_rows == 0 {
            return Ok(false);
        }
        let Some(cf) = self.cf_if_made(table.name())? else {
            return Ok(false);
        };
        let start = from.max((range.start_ns, 0));
        let lag = if range.end_ns == u64::MAX {
            0
        } else {
            self.time_lag(table)?
        };
        let until = range
            .end_ns
            .checked_add(lag)
            .and_then(|e| e.checked_add(1))
            .map(|end| (end, 0));
        let mut full = false;
        self.visit_rows(&cf, start, until, |(time_ns, seq, value)| {
            if page.len() == max_rows {
                full = true;
                return false;
            }
            page.push(time_ns, seq, value);
            true
        })?;
        Ok(full)
    }
}
