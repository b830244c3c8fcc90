//! Rows in key order, whether stored a chunk per key or (by an older vigil) one per key: the one
//! way every reader of an event table walks it.

use std::sync::Arc;

use rocksdb::{BoundColumnFamily, ReadOptions};

use super::{
    EventStore, StoreError,
    chunk::{self, ChunkRow},
    key,
};

/// A row key, `(key time ns, seq)`.
pub type RowKey = (u64, u64);

impl EventStore {
    /// Calls `on_row` with each row of `cf` whose key lies in `[from, until)`, in key order, until
    /// it returns false.
    pub(super) fn visit_rows(
        &self,
        cf: &Arc<BoundColumnFamily<'_>>,
        from: RowKey,
        until: Option<RowKey>,
        mut on_row: impl FnMut(ChunkRow<'_>) -> bool,
    ) -> Result<(), StoreError> {
        let mut opts = ReadOptions::default();
        if let Some((time, seq)) = until {
            // Chunks that start before `until` and reach past it are read, and cut below.
            opts.set_iterate_upper_bound(key::encode(time, seq).to_vec());
        }
        let mut iter = self.db.raw_iterator_cf_opt(cf, opts);
        let from_key = key::encode(from.0, from.1);
        // The chunk holding `from` starts at or before it.
        iter.seek_for_prev(from_key);
        if !iter.valid() {
            iter.seek(from_key);
        }
        while let (Some(stored_key), Some(value)) = (iter.key(), iter.value()) {
            for row @ (time, seq, _) in chunk::rows(stored_key, value) {
                if (time, seq) < from {
                    continue;
                }
                if until.is_some_and(|until| (time, seq) >= until) || !on_row(row) {
                    return Ok(());
                }
            }
            iter.next();
        }
        iter.status().map_err(|e| self.rocks(e))
    }

    /// How many rows lie in `[from, until)`.
    pub(super) fn count_rows_in(
        &self,
        cf: &Arc<BoundColumnFamily<'_>>,
        from: RowKey,
        until: Option<RowKey>,
    ) -> Result<u64, StoreError> {
        let mut count = 0u64;
        self.visit_rows(cf, from, until, |_| {
            count += 1;
            true
        })?;
        Ok(count)
    }

    /// The key of the row `n` rows after the first at or after `from` (`n == 0`: that row).
    pub(super) fn nth_row_key(
        &self,
        cf: &Arc<BoundColumnFamily<'_>>,
        from: RowKey,
        n: u64,
    ) -> Result<Option<RowKey>, StoreError> {
        let mut seen = 0u64;
        let mut found = None;
        self.visit_rows(cf, from, None, |(time, seq, _)| {
            if seen == n {
                found = Some((time, seq));
                return false;
            }
            seen += 1;
            true
        })?;
        Ok(found)
    }

    /// The newest row's key in `cf`, if it has rows.
    pub(super) fn last_row_key(
        &self,
        cf: &Arc<BoundColumnFamily<'_>>,
    ) -> Result<Option<RowKey>, StoreError> {
        let mut iter = self.db.raw_iterator_cf(cf);
        iter.seek_to_last();
        let last = match (iter.key(), iter.value()) {
            (Some(stored_key), Some(value)) => chunk::rows(stored_key, value)
                .last()
                .map(|(time, seq, _)| (time, seq)),
            _ => None,
        };
        iter.status().map_err(|e| self.rocks(e))?;
        Ok(last)
    }

    /// The chunk that starts before `at` and holds rows at or after it: its rows from `at` on,
    /// re-chunked under the first one's key. A range delete up to `at` removes the whole chunk;
    /// writing this in the same batch keeps its later rows.
    pub(super) fn chunk_rest_from(
        &self,
        cf: &Arc<BoundColumnFamily<'_>>,
        at: RowKey,
    ) -> Result<Option<chunk::EncodedChunk>, StoreError> {
        let mut iter = self.db.raw_iterator_cf(cf);
        iter.seek_for_prev(key::encode(at.0, at.1));
        let rest = match (iter.key(), iter.value()) {
            (Some(stored_key), Some(value)) if stored_key.len() == chunk::CHUNK_KEY_LEN => {
                let kept: Vec<ChunkRow<'_>> = chunk::rows(stored_key, value)
                    .filter(|(time, seq, _)| (*time, *seq) >= at)
                    .collect();
                chunk::encode(&kept)
            }
            _ => None,
        };
        iter.status().map_err(|e| self.rocks(e))?;
        Ok(rest)
    }
}
