//! Retention: rows older than `--events_expiry` and beyond `--events_max` are deleted with range
//! deletes, never key by key, and expiry by age stops where scheduled queries have read.

use rocksdb::{Direction, IteratorMode, ReadOptions};

use super::{EventStore, StoreError, key};
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
        let mut delete_until: Option<[u8; key::KEY_LEN]> = None;
        let first_unread = read_through.map(|(time, seq)| match seq.checked_add(1) {
            Some(next) => key::encode(time, next),
            None => key::encode(time.saturating_add(1), 0),
        });

        if let Some(cutoff_ns) = cutoff_ns {
            let mut end = key::encode(cutoff_ns, 0);
            if let Some(first_unread) = first_unread {
                end = end.min(first_unread);
            }
            let count = self.count_keys(&cf, None, Some(end));
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
            let start = delete_until.unwrap_or(key::encode(0, 0));
            let mut iter = self
                .db
                .iterator_cf(&cf, IteratorMode::From(&start, Direction::Forward))
                .skip(excess as usize);
            let boundary = match iter.next() {
                Some(Ok((key, _))) => <[u8; key::KEY_LEN]>::try_from(&key[..]).ok(),
                _ => None,
            };
            if let Some(boundary) = boundary {
                removed += excess;
                delete_until = Some(boundary);
            }
        }

        let unread = match (delete_until, first_unread) {
            (Some(end), Some(first_unread)) if first_unread < end => {
                self.count_keys(&cf, Some(first_unread), Some(end))
            }
            _ => 0,
        };
        if let Some(end) = delete_until {
            let begin = key::encode(0, 0);
            self.db
                .delete_range_cf(&cf, begin, end)
                .map_err(|e| self.rocks(e))?;
            self.db
                .compact_range_cf(&cf, Some(&begin[..]), Some(&end[..]));
            self.adjust_count(table, -(removed as i64));
        }
        Ok((removed, unread))
    }

    /// How many keys lie in `[from, until)`.
    fn count_keys(
        &self,
        cf: &std::sync::Arc<rocksdb::BoundColumnFamily<'_>>,
        from: Option<[u8; key::KEY_LEN]>,
        until: Option<[u8; key::KEY_LEN]>,
    ) -> u64 {
        let mut opts = ReadOptions::default();
        if let Some(until) = until {
            opts.set_iterate_upper_bound(until.to_vec());
        }
        let mode = match &from {
            Some(from) => IteratorMode::From(from, Direction::Forward),
            None => IteratorMode::Start,
        };
        self.db
            .iterator_cf_opt(cf, opts, mode)
            .take_while(Result::is_ok)
            .count() as u64
    }
}
