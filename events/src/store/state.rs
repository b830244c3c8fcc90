//! The state area: durable state of whoever runs on the store, kept in the same database as the
//! events so that it changes atomically with the lines it produces. Two parts:
//!
//! - a key-value area (the `vigil_state` column family);
//! - a queue of lines (the `vigil_logs` column family), one copy of each line per reader, keyed
//!   `[reader][seq]`: each reader forgets its copy once it has handled it.
//!
//! A [`StateBatch`] changes both in one RocksDB write: a crash leaves all of it or none. Line
//! sequence numbers are taken and written under one lock, so the persisted last number only
//! grows and no two commits interleave, and the next number is rebuilt at open from the
//! persisted one and the lines still queued (a new line never overwrites a waiting one).
//!
//! The store gives keys, values, readers and line tags no meaning: the agent's `vigil-state`
//! crate owns them.

use std::sync::{
    Mutex, PoisonError, RwLock,
    atomic::{AtomicU64, Ordering},
};

use rocksdb::{DB, IteratorMode, ReadOptions, WriteBatch};

use super::{EventStore, META_CF, StoreError};

/// The key-value area.
pub(super) const STATE_CF: &str = "vigil_state";
/// The line queue, in the order lines were committed.
pub(super) const LINES_CF: &str = "vigil_logs";
/// In the meta column family: the last line sequence number used.
pub(super) const META_LINE_SEQ: &[u8] = b"log_seq";

/// The reader new lines are queued for until [`EventStore::set_line_readers`] names others.
pub const DEFAULT_LINE_READER: u8 = 1;

/// A queued line's key: its reader, then its sequence number (big-endian, so keys sort in
/// order).
pub type LineKey = [u8; 9];

fn line_key(reader: u8, seq: u64) -> LineKey {
    let mut key = [0u8; 9];
    key[0] = reader;
    key[1..].copy_from_slice(&seq.to_be_bytes());
    key
}

/// Changes to the key-value area and the lines they produced, written in one atomic batch.
#[derive(Debug, Default)]
pub struct StateBatch {
    pub puts: Vec<(Vec<u8>, Vec<u8>)>,
    pub deletes: Vec<Vec<u8>>,
    /// (tag, line): the tag is kept with the line, for its readers.
    pub lines: Vec<(u8, String)>,
}

/// A key of the key-value area and its value.
pub type StateEntry = (Vec<u8>, Vec<u8>);

/// A line waiting for a reader.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedLine {
    pub key: LineKey,
    pub tag: u8,
    pub line: String,
}

/// What the store keeps in memory about the line queue.
pub(super) struct LineQueue {
    /// Held while sequence numbers are taken and their lines written.
    commit: Mutex<()>,
    next_seq: AtomicU64,
    /// The readers each new line is queued for.
    readers: RwLock<Vec<u8>>,
}

impl LineQueue {
    /// The queue of a primary, whose next line takes `next_seq`.
    pub(super) fn primary(next_seq: u64) -> Self {
        Self {
            commit: Mutex::new(()),
            next_seq: AtomicU64::new(next_seq),
            readers: RwLock::new(vec![DEFAULT_LINE_READER]),
        }
    }

    /// A secondary reads lines, never queues any.
    pub(super) fn secondary() -> Self {
        Self {
            commit: Mutex::new(()),
            next_seq: AtomicU64::new(0),
            readers: RwLock::new(Vec::new()),
        }
    }
}

impl EventStore {
    /// The last line sequence number used: the persisted one, or a queued line's if one is
    /// higher (lines are the ground truth: a new line must never overwrite a waiting one).
    pub(super) fn last_line_seq(&self) -> Result<u64, StoreError> {
        let meta = self.cf(META_CF)?;
        let mut last = self
            .db
            .get_cf(&meta, META_LINE_SEQ)
            .map_err(|e| self.rocks(e))?
            .and_then(|v| <[u8; 8]>::try_from(v.as_slice()).ok())
            .map_or(0, u64::from_be_bytes);
        drop(meta);
        let lines = self.cf(LINES_CF)?;
        for reader in 0..=u8::MAX {
            let mut options = ReadOptions::default();
            options.set_iterate_lower_bound(vec![reader]);
            if let Some(next) = reader.checked_add(1) {
                options.set_iterate_upper_bound(vec![next]);
            }
            let newest = self
                .db
                .iterator_cf_opt(&lines, options, IteratorMode::End)
                .next();
            if let Some(item) = newest {
                let (key, _) = item.map_err(|e| self.rocks(e))?;
                if let Some(seq) = key.get(1..9).and_then(|b| <[u8; 8]>::try_from(b).ok()) {
                    last = last.max(u64::from_be_bytes(seq));
                }
            }
        }
        Ok(last)
    }

    /// A value of the key-value area.
    pub fn get_state(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let cf = self.cf(STATE_CF)?;
        self.db.get_cf(&cf, key).map_err(|e| self.rocks(e))
    }

    /// Every entry of the key-value area whose key starts with `prefix`, in key order.
    pub fn state_with_prefix(&self, prefix: &[u8]) -> Result<Vec<StateEntry>, StoreError> {
        let cf = self.cf(STATE_CF)?;
        let mut out = Vec::new();
        for item in self
            .db
            .iterator_cf(&cf, IteratorMode::From(prefix, rocksdb::Direction::Forward))
        {
            let (key, value) = item.map_err(|e| self.rocks(e))?;
            if !key.starts_with(prefix) {
                break;
            }
            out.push((key.to_vec(), value.to_vec()));
        }
        Ok(out)
    }

    /// Applies the batch's changes and queues its lines for every reader, atomically.
    pub fn commit_state(&self, batch: StateBatch) -> Result<(), StoreError> {
        let _commit = self
            .lines
            .commit
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let state = self.cf(STATE_CF)?;
        let lines = self.cf(LINES_CF)?;
        let meta = self.cf(META_CF)?;
        let mut write = WriteBatch::default();
        for (key, value) in &batch.puts {
            write.put_cf(&state, key, value);
        }
        for key in &batch.deletes {
            write.delete_cf(&state, key);
        }
        let mut last = None;
        let readers = self
            .lines
            .readers
            .read()
            .map(|r| r.clone())
            .unwrap_or_default();
        for (tag, line) in &batch.lines {
            let seq = self.lines.next_seq.fetch_add(1, Ordering::Relaxed);
            let mut value = Vec::with_capacity(line.len() + 1);
            value.push(*tag);
            value.extend_from_slice(line.as_bytes());
            for &reader in &readers {
                write.put_cf(&lines, line_key(reader, seq), &value);
            }
            last = Some(seq);
        }
        if let Some(last) = last {
            write.put_cf(&meta, META_LINE_SEQ, last.to_be_bytes());
        }
        self.db.write(write).map_err(|e| self.rocks(e))
    }

    /// From now on, new lines are queued for these readers.
    pub fn set_line_readers(&self, readers: &[u8]) {
        if let Ok(mut current) = self.lines.readers.write() {
            *current = readers.to_vec();
        }
    }

    fn reader_lines(
        &self,
        reader: u8,
    ) -> Result<rocksdb::DBIteratorWithThreadMode<'_, DB>, StoreError> {
        let cf = self.cf(LINES_CF)?;
        let mut options = ReadOptions::default();
        options.set_iterate_lower_bound(vec![reader]);
        options.set_iterate_upper_bound(vec![reader.wrapping_add(1)]);
        Ok(self.db.iterator_cf_opt(&cf, options, IteratorMode::Start))
    }

    /// Up to `limit` lines queued for `reader`, oldest first.
    pub fn queued_lines(&self, reader: u8, limit: usize) -> Result<Vec<QueuedLine>, StoreError> {
        let mut out = Vec::new();
        for item in self.reader_lines(reader)?.take(limit) {
            let (key, value) = item.map_err(|e| self.rocks(e))?;
            let (Ok(key), Some((&tag, line))) = (LineKey::try_from(&key[..]), value.split_first())
            else {
                continue;
            };
            out.push(QueuedLine {
                key,
                tag,
                line: String::from_utf8_lossy(line).into_owned(),
            });
        }
        Ok(out)
    }

    /// How many lines wait for `reader`.
    pub fn queued_count(&self, reader: u8) -> Result<u64, StoreError> {
        let mut count = 0;
        for item in self.reader_lines(reader)? {
            item.map_err(|e| self.rocks(e))?;
            count += 1;
        }
        Ok(count)
    }

    /// Forgets the `n` oldest lines waiting for `reader`; returns how many there were.
    pub fn drop_oldest_lines(&self, reader: u8, n: u64) -> Result<u64, StoreError> {
        let mut keys = Vec::new();
        for item in self.reader_lines(reader)?.take(n as usize) {
            let (key, _) = item.map_err(|e| self.rocks(e))?;
            if let Ok(key) = LineKey::try_from(&key[..]) {
                keys.push(key);
            }
        }
        self.delete_lines(&keys)?;
        Ok(keys.len() as u64)
    }

    /// Forgets lines their reader has handled.
    pub fn delete_lines(&self, keys: &[LineKey]) -> Result<(), StoreError> {
        let cf = self.cf(LINES_CF)?;
        let mut write = WriteBatch::default();
        for key in keys {
            write.delete_cf(&cf, key);
        }
        self.db.write(write).map_err(|e| self.rocks(e))
    }
}
