//! Retention: rows older than `--events_expiry` and beyond `--events_max` are deleted with range
//! deletes, never key by key, and expiry by age stops where scheduled queries have read. A chunk
//! of rows that reaches across the cut is rewritten with the rows it keeps.

use rocksdb::WriteBatch;

use super::{EventStore, StoreError, key, rows::RowKey};
use crate::EventTable;

impl EventStore {
    /// Deletes rows older than `cutoff_ns` and, beyond that, the oldest rows over `max_rows`.
    /// Returns how many rows were removed. Uses range deletes, then compacts the deleted range so
    /// the space is given back.
    pub fn enforce_retention(
        &self,
        table: EventTable,
        cutoff_ns: Option<u64>,
        max_rows: Option<u64>,
    ) -> Result<u64, StoreError> {
        self.enforce_retention_counting(table, cutoff_ns, max_rows, None)
            .map(|(removed, _)| removed)
    }

    /// Like [`enforce_retention`](Self::enforce_retention), for a table that scheduled queries
    /// have read up to the key `read_through` (included; `None`: no query holds the table).
    /// Expiry by age stops there; `max_rows` may go further, and the rows it removes past that
    /// key (events a scheduled query had not read yet) are counted: returns (removed, unread).
    pub fn enforce_retention_counting(
        &self,
        table: EventTable,
        cutoff_ns: Option<u64>,
        max_rows: Option<u64>,
        read_through: Option<(u64, u64)>,
    ) -> Result<(u64, u64), StoreError> {
        let cf = self.cf(table.name())?;
        let mut removed = 0u64;
        let mut delete_until: Option<RowKey> = None;
        let first_unread = read_through.and_then(key::after);

        if let Some(cutoff_ns) = cutoff_ns {
            let mut end = (cutoff_ns, 0);
            if let Some(first_unread) = first_unread {
                end = end.min(first_unread);
            }
            let count = self.count_rows_in(&cf, (0, 0), Some(end))?;
            if count > 0 {
                removed += count;
                delete_until = Some(end);
            }
        }

        let remaining = self.row_count(table).saturating_sub(removed);
        if let Some(max_rows) = max_rows
            && remaining > max_rows
        {
            let excess = remaining - max_rows;
            let start = delete_until.unwrap_or((0, 0));
            if let Some(boundary) = self.nth_row_key(&cf, start, excess)? {
                removed += excess;
                delete_until = Some(boundary);
            }
        }

        let unread = match (delete_until, first_unread) {
            (Some(end), Some(first_unread)) if first_unread < end => {
                self.count_rows_in(&cf, first_unread, Some(end))?
            }
            _ => 0,
        };
        if let Some(end) = delete_until {
            let begin = key::encode(0, 0);
            let end_key = key::encode(end.0, end.1);
            let mut batch = WriteBatch::default();
            batch.delete_range_cf(&cf, begin, end_key);
            // The chunk that reaches across `end` goes with the range; its later rows stay.
            if let Some((chunk_key, rest)) = self.chunk_rest_from(&cf, end)? {
                batch.put_cf(&cf, chunk_key, rest);
            }
            self.keep_key_time(&mut batch, table)?;
            self.db.write(batch).map_err(|e| self.rocks(e))?;
            self.db
                .compact_range_cf(&cf, Some(&begin[..]), Some(&end_key[..]));
            self.adjust_count(table, -(removed as i64));
        }
        Ok((removed, unread))
    }
}
