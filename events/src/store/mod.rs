//! The event store: RocksDB, one column family per event table, rows keyed by `(key time, seq)`
//! with compact binary values, stored a chunk of rows per RocksDB key ([`chunk`]). Retention (`--events_expiry`, `--events_max`) is enforced with range
//! deletes, never key by key. The sequence (`eid`) keeps increasing across restarts.
//!
//! Keys follow arrival order: a row's key time is its event time, or the previous row's key time
//! when that is later (an event stored late, a wall clock stepped back). So a reader that
//! remembers the last key it read resumes exactly after it, whatever the timestamps did, and a
//! time range still maps to one key range: a row's key time is never below its event time, and
//! never more than the table's largest lag (kept in the store) above it.
//!
//! A store is opened either as the primary (the process that collects events) or as a read-only
//! secondary that follows the primary's files, so `vigil query` can read a running daemon's
//! history without disturbing it.
//!
//! Beside the events, the database holds a state area ([`state`]): a key-value area and a queue of
//! lines, for whoever runs on the store, given no meaning here.

mod page;
mod read_floor;
mod retention;
mod rows;
pub mod state;
mod writer;

use std::{
    path::{Path, PathBuf},
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

pub use crate::codec::{chunk, row_key as key};
pub use page::{PageRowRef, StoredPage};
pub use read_floor::{NOTHING_READ, ReadFloor, ReadThrough};
use rocksdb::{ColumnFamilyDescriptor, DB, Options, WriteBatch};
pub use state::{DEFAULT_LINE_READER, LineKey, QueuedLine, StateBatch, StateEntry};
pub use writer::{RetentionPolicy, StoreWriter, WriterConfig, retention_pass};

use crate::{
    counters::{self, Counters},
    event_table::EventTable,
};

const META_CF: &str = "vigil_meta";
/// Per table, the largest amount by which a row's key time exceeds its event time.
fn lag_key(table: EventTable) -> Vec<u8> {
    format!("lag/{}", table.name()).into_bytes()
}
/// Per table, the newest key time written: a table emptied by retention and then reopened must
/// not key new rows below it, or a reader that remembers the last key it read would skip them.
/// A store an older vigil wrote has none: on open, its last row says it, and the first retention
/// delete writes it (see `keep_key_time`).
fn key_time_key(table: EventTable) -> Vec<u8> {
    format!("key_time/{}", table.name()).into_bytes()
}
const META_SEQ: &[u8] = b"seq";
/// Counters as older versions saved them (read when nothing newer is there).
const META_COUNTERS_LEGACY: &[u8] = b"counters";
const META_COUNTERS: &[u8] = b"counters_v2";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "no vigil database at {path}: start `vigil daemon --database_path {path}` first, or pass \
         the --database_path a daemon uses"
    )]
    Missing { path: PathBuf },
    #[error(
        "the database at {path} is in use by another vigil process (a daemon?); read its history \
         with `vigil query --database_path {path}`, or give this process its own --database_path"
    )]
    Locked { path: PathBuf },
    #[error("cannot prepare the database directory {path}: {source}")]
    Directory {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("RocksDB error on {path}: {source}")]
    Rocks {
        path: PathBuf,
        source: rocksdb::Error,
    },
    #[error("the store has no column family for table {0}")]
    NoTable(&'static str),
}

/// A time range of rows, in nanoseconds since the Unix epoch, bounds included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeRange {
    pub start_ns: u64,
    pub end_ns: u64,
}

impl TimeRange {
    pub const ALL: TimeRange = TimeRange {
        start_ns: 0,
        end_ns: u64::MAX,
    };

    pub fn is_empty(&self) -> bool {
        self.start_ns > self.end_ns
    }
}

/// One stored row, value still encoded.
#[derive(Debug, Clone)]
pub struct StoredRow {
    pub time_ns: u64,
    pub seq: u64,
    pub value: Box<[u8]>,
}

enum Role {
    Primary,
    /// The secondary's own directory (RocksDB keeps its info log there), removed on drop.
    Secondary {
        _own_dir: tempfile::TempDir,
    },
}

/// Rows for one table: (event time ns, encoded value), in arrival order.
pub type TableRows<'a> = (EventTable, &'a [(u64, Vec<u8>)]);

/// What the primary keeps in memory about each table's rows.
#[derive(Debug, Clone, Copy, Default)]
struct TableState {
    /// Rows in the table, for `--events_max`.
    rows: u64,
    /// The newest key time written: the next row's key time is at least this.
    last_key_time: u64,
    /// The largest key time minus event time written so far.
    lag_ns: u64,
}

pub struct EventStore {
    db: DB,
    /// The state area's line queue (see [`state`]).
    lines: state::LineQueue,
    path: PathBuf,
    role: Role,
    next_seq: AtomicU64,
    /// Kept by the primary; held while a batch of rows is keyed and written, so keys are
    /// assigned and become visible in one order.
    tables: Mutex<Vec<(EventTable, TableState)>>,
}

fn column_families() -> Vec<String> {
    let mut names: Vec<String> = EventTable::ALL
        .iter()
        .map(|t| t.name().to_owned())
        .collect();
    names.push(META_CF.to_owned());
    names.push(state::STATE_CF.to_owned());
    names.push(state::LINES_CF.to_owned());
    names
}

/// Memory RocksDB may hold for the whole database: the worker runs under the watchdog's memory
/// limit (200 MB by default), and an event storm must not push it there by itself.
const MEMTABLE_BUDGET: usize = 48 * 1024 * 1024;
const BLOCK_CACHE_BYTES: usize = 16 * 1024 * 1024;

/// Data blocks of the event tables: rows are read in key-range scans, never one by one, and each
/// block a scan reaches costs a read, a checksum, a decompression and a block-cache insertion
/// whatever its size (RocksDB's default is 4 KiB).
const EVENT_BLOCK_BYTES: usize = 32 * 1024;

fn base_options(block_cache: &rocksdb::Cache) -> Options {
    options_with_blocks(block_cache, None)
}

/// `base_options` with data blocks of `block_bytes` (RocksDB's default when `None`).
fn options_with_blocks(block_cache: &rocksdb::Cache, block_bytes: Option<usize>) -> Options {
    let mut opts = Options::default();
    opts.create_if_missing(true);
    opts.create_missing_column_families(true);
    opts.set_compression_type(rocksdb::DBCompressionType::Lz4);
    // Events arrive in bursts of small rows: modest write buffers per table, and one budget for
    // all of them (flushed early when the tables together reach it).
    opts.set_write_buffer_size(8 * 1024 * 1024);
    opts.set_max_write_buffer_number(2);
    opts.set_db_write_buffer_size(MEMTABLE_BUDGET);
    // One block cache shared by every table (RocksDB's default is one per table).
    let mut table = rocksdb::BlockBasedOptions::default();
    table.set_block_cache(block_cache);
    if let Some(bytes) = block_bytes {
        table.set_block_size(bytes);
    }
    opts.set_block_based_table_factory(&table);
    opts.set_keep_log_file_num(4);
    opts
}

/// Creates the database directory owner-only (0700), or tightens an existing one: event history
/// holds command lines of every process on the host.
fn prepare_directory(path: &Path) -> Result<(), StoreError> {
    let wrap = |source| StoreError::Directory {
        path: path.to_owned(),
        source,
    };
    crate::private_files::create_dir(path).map_err(wrap)
}

impl EventStore {
    /// Opens (creating if needed) the store that collects events.
    pub fn open_primary(path: &Path) -> Result<Self, StoreError> {
        prepare_directory(path)?;
        let block_cache = rocksdb::Cache::new_lru_cache(BLOCK_CACHE_BYTES);
        let opts = base_options(&block_cache);
        let cfs = column_families().into_iter().map(|name| {
            let event_table = EventTable::ALL.iter().any(|t| t.name() == name);
            let blocks = event_table.then_some(EVENT_BLOCK_BYTES);
            ColumnFamilyDescriptor::new(name, options_with_blocks(&block_cache, blocks))
        });
        let db = DB::open_cf_descriptors(&opts, path, cfs).map_err(|source| {
            if source.to_string().contains("lock") {
                StoreError::Locked {
                    path: path.to_owned(),
                }
            } else {
                StoreError::Rocks {
                    path: path.to_owned(),
                    source,
                }
            }
        })?;
        let mut store = Self {
            db,
            lines: state::LineQueue::primary(1),
            path: path.to_owned(),
            role: Role::Primary,
            next_seq: AtomicU64::new(1),
            tables: Mutex::new(Vec::new()),
        };
        let last_seq = store.last_seq()?;
        store.next_seq = AtomicU64::new(last_seq + 1);
        store.lines = state::LineQueue::primary(store.last_line_seq()? + 1);
        let mut tables = Vec::new();
        for table in EventTable::ALL {
            let last_row_time = store.last_key(*table)?.map_or(0, |(time, _)| time);
            let saved_key_time = store.read_meta_u64(key_time_key(*table))?;
            let state = TableState {
                rows: store.count_rows(*table)?,
                last_key_time: last_row_time.max(saved_key_time),
                lag_ns: store.read_lag(*table)?,
            };
            tables.push((*table, state));
        }
        store.tables = Mutex::new(tables);
        Ok(store)
    }

    /// Opens a read-only view that follows the primary at `path` (which may be running).
    pub fn open_secondary(path: &Path) -> Result<Self, StoreError> {
        if !path.join("CURRENT").exists() {
            return Err(StoreError::Missing {
                path: path.to_owned(),
            });
        }
        let own_dir = tempfile::Builder::new()
            .prefix("vigil-secondary-")
            .tempdir()
            .map_err(|source| StoreError::Directory {
                path: std::env::temp_dir(),
                source,
            })?;
        let mut opts = Options::default();
        // A secondary must keep every file open: it cannot reopen files the primary deleted.
        opts.set_max_open_files(-1);
        // Only the column families the primary has made so far: one that is still being created
        // (a daemon starting this instant) or that an older vigil never made (a table added
        // since) reads as empty instead of failing every query.
        let existing = DB::list_cf(&opts, path).map_err(|source| StoreError::Rocks {
            path: path.to_owned(),
            source,
        })?;
        let families = column_families()
            .into_iter()
            .filter(|name| existing.contains(name));
        let db =
            DB::open_cf_as_secondary(&opts, path, own_dir.path(), families).map_err(|source| {
                StoreError::Rocks {
                    path: path.to_owned(),
                    source,
                }
            })?;
        Ok(Self {
            db,
            lines: state::LineQueue::secondary(),
            path: path.to_owned(),
            role: Role::Secondary { _own_dir: own_dir },
            next_seq: AtomicU64::new(0),
            tables: Mutex::new(Vec::new()),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn is_secondary(&self) -> bool {
        matches!(self.role, Role::Secondary { .. })
    }

    fn rocks(&self, source: rocksdb::Error) -> StoreError {
        StoreError::Rocks {
            path: self.path.clone(),
            source,
        }
    }

    fn cf(
        &self,
        name: &'static str,
    ) -> Result<std::sync::Arc<rocksdb::BoundColumnFamily<'_>>, StoreError> {
        self.db.cf_handle(name).ok_or(StoreError::NoTable(name))
    }

    /// A column family a reader may find not made yet (see [`open_secondary`](Self::open_secondary)):
    /// `None` there means "no rows"; the primary made every one at open.
    fn cf_if_made(
        &self,
        name: &'static str,
    ) -> Result<Option<std::sync::Arc<rocksdb::BoundColumnFamily<'_>>>, StoreError> {
        match self.db.cf_handle(name) {
            Some(cf) => Ok(Some(cf)),
            None if self.is_secondary() => Ok(None),
            None => Err(StoreError::NoTable(name)),
        }
    }

    /// A secondary reads what the primary has written up to now.
    pub fn catch_up(&self) -> Result<(), StoreError> {
        if self.is_secondary() {
            self.db
                .try_catch_up_with_primary()
                .map_err(|e| self.rocks(e))?;
        }
        Ok(())
    }

    fn last_seq(&self) -> Result<u64, StoreError> {
        let meta = self.cf(META_CF)?;
        let mut last = match self.db.get_cf(&meta, META_SEQ).map_err(|e| self.rocks(e))? {
            Some(v) => v.as_slice().try_into().map(u64::from_be_bytes).unwrap_or(0),
            None => 0,
        };
        // Rows are the ground truth if the meta entry is missing or behind.
        for table in EventTable::ALL {
            if let Some((_, seq)) = self.last_key(*table)? {
                last = last.max(seq);
            }
        }
        Ok(last)
    }

    /// The newest key of `table`, if it has rows.
    fn last_key(&self, table: EventTable) -> Result<Option<(u64, u64)>, StoreError> {
        self.last_row_key(&self.cf(table.name())?)
    }

    fn read_lag(&self, table: EventTable) -> Result<u64, StoreError> {
        self.read_meta_u64(lag_key(table))
    }

    /// Adds to `batch` the newest key time of `table` as the meta area keeps it: written with
    /// every delete of rows, which may take the table's last row (the time is then kept only
    /// there), and with appends that raise it.
    fn keep_key_time(&self, batch: &mut WriteBatch, table: EventTable) -> Result<(), StoreError> {
        let key_time = self
            .tables
            .lock()
            .ok()
            .and_then(|t| {
                t.iter()
                    .find(|(t, _)| *t == table)
                    .map(|(_, s)| s.last_key_time)
            })
            .unwrap_or(0);
        batch.put_cf(
            &self.cf(META_CF)?,
            key_time_key(table),
            key_time.to_be_bytes(),
        );
        Ok(())
    }

    /// A number kept in the meta area; 0 when absent (an older vigil's store) or unreadable.
    fn read_meta_u64(&self, key: Vec<u8>) -> Result<u64, StoreError> {
        let Some(meta) = self.cf_if_made(META_CF)? else {
            return Ok(0);
        };
        Ok(self
            .db
            .get_cf(&meta, key)
            .map_err(|e| self.rocks(e))?
            .and_then(|v| <[u8; 8]>::try_from(v.as_slice()).ok())
            .map_or(0, u64::from_be_bytes))
    }

    fn count_rows(&self, table: EventTable) -> Result<u64, StoreError> {
        self.count_rows_in(&self.cf(table.name())?, (0, 0), None)
    }

    /// Appends rows to one table in one atomic write, in the order given; returns the number
    /// written. Each row gets the next sequence number, persisted in the same write, and a key
    /// time that never goes below the previous row's (see the module's notes).
    pub fn append(&self, table: EventTable, rows: &[(u64, Vec<u8>)]) -> Result<u64, StoreError> {
        self.append_tables(&[(table, rows)], None)
    }

    /// Appends rows to several tables, and saves `counters` (which must already count these
    /// rows as stored), in one atomic write: a crash leaves both or neither.
    pub fn append_tables(
        &self,
        batches: &[TableRows<'_>],
        counters: Option<&Counters>,
    ) -> Result<u64, StoreError> {
        let mut tables = self
            .tables
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut batch = WriteBatch::default();
        let meta = self.cf(META_CF)?;
        let mut last = None;
        let mut updated = Vec::with_capacity(batches.len());
        let mut written = 0u64;
        for (table, rows) in batches {
            let mut state = updated
                .iter()
                .rev()
                .chain(tables.iter())
                .find(|(t, _)| t == table)
                .map(|(_, s)| *s)
                .unwrap_or_default();
            let lag_before = state.lag_ns;
            let key_time_before = state.last_key_time;
            let cf = self.cf(table.name())?;
            let mut keyed = Vec::with_capacity(rows.len());
            for (time_ns, value) in rows.iter() {
                let seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
                last = Some(seq);
                state.last_key_time = state.last_key_time.max(*time_ns);
                state.lag_ns = state.lag_ns.max(state.last_key_time - time_ns);
                keyed.push((state.last_key_time, seq, value.as_slice()));
            }
            let mut rest = keyed.as_slice();
            while !rest.is_empty() {
                let (this_chunk, after) = rest.split_at(chunk::next_chunk_len(rest));
                if let Some((chunk_key, value)) = chunk::encode(this_chunk) {
                    batch.put_cf(&cf, chunk_key, value);
                }
                rest = after;
            }
            if state.lag_ns > lag_before {
                batch.put_cf(&meta, lag_key(*table), state.lag_ns.to_be_bytes());
            }
            if state.last_key_time > key_time_before {
                batch.put_cf(
                    &meta,
                    key_time_key(*table),
                    state.last_key_time.to_be_bytes(),
                );
            }
            state.rows = state.rows.saturating_add(rows.len() as u64);
            written += rows.len() as u64;
            updated.push((*table, state));
        }
        if let Some(last) = last {
            batch.put_cf(&meta, META_SEQ, last.to_be_bytes());
        }
        if let Some(counters) = counters {
            batch.put_cf(
                &meta,
                META_COUNTERS,
                counters::encode_saved(&counters.saved()),
            );
        }
        self.db.write(batch).map_err(|e| self.rocks(e))?;
        for (table, state) in updated {
            match tables.iter_mut().find(|(t, _)| *t == table) {
                Some((_, current)) => *current = state,
                None => tables.push((table, state)),
            }
        }
        Ok(written)
    }

    fn adjust_count(&self, table: EventTable, delta: i64) {
        if let Ok(mut tables) = self.tables.lock()
            && let Some((_, state)) = tables.iter_mut().find(|(t, _)| *t == table)
        {
            state.rows = state.rows.saturating_add_signed(delta);
        }
    }

    pub fn row_count(&self, table: EventTable) -> u64 {
        self.tables
            .lock()
            .ok()
            .and_then(|t| t.iter().find(|(t, _)| *t == table).map(|(_, s)| s.rows))
            .unwrap_or(0)
    }

    /// How far above its event time a row's key time may be, at most (0 unless events were
    /// stored out of time order).
    pub fn time_lag(&self, table: EventTable) -> Result<u64, StoreError> {
        if self.is_secondary() {
            return self.read_lag(table);
        }
        Ok(self
            .tables
            .lock()
            .ok()
            .and_then(|t| t.iter().find(|(t, _)| *t == table).map(|(_, s)| s.lag_ns))
            .unwrap_or(0))
    }

    /// Stores a value as it is, without encoding an event. For tests of corrupted data and for
    /// tools only.
    pub fn put_raw(
        &self,
        table: EventTable,
        time_ns: u64,
        value: &[u8],
    ) -> Result<u64, StoreError> {
        self.append(table, &[(time_ns, value.to_vec())])?;
        Ok(self.next_seq.load(Ordering::Relaxed) - 1)
    }

    /// Iterates, in key order, every row of `table` whose event time may lie within `range`:
    /// only that key range is read. Rows stored late may come with it (their event time is below
    /// the range's end by up to the table's lag): callers that need the exact range check each
    /// row's event time (SQLite does, for SQL).
    pub fn scan(
        &self,
        table: EventTable,
        range: TimeRange,
    ) -> Result<Box<dyn Iterator<Item = Result<StoredRow, StoreError>> + '_>, StoreError> {
        self.scan_from(table, (range.start_ns, 0), range)
    }

    /// Like [`scan`](Self::scan), starting at the key `(key time, seq)` (included) when that is
    /// past the range's start: lets a reader continue page by page, or after the last row it
    /// read, without holding an iterator.
    pub fn scan_from(
        &self,
        table: EventTable,
        from: (u64, u64),
        range: TimeRange,
    ) -> Result<Box<dyn Iterator<Item = Result<StoredRow, StoreError>> + '_>, StoreError> {
        const SCAN_PAGE_ROWS: usize = 1024;
        let mut page = StoredPage::default();
        let mut index = 0;
        let mut next = Some(from);
        Ok(Box::new(std::iter::from_fn(move || {
            if index == page.len() {
                let from = next.take()?;
                index = 0;
                match self.read_page(table, from, range, SCAN_PAGE_ROWS, &mut page) {
                    Ok(more) => {
                        next = page.last_key().filter(|_| more).and_then(key::after);
                    }
                    Err(e) => return Some(Err(e)),
                }
            }
            let row = page.get(index)?;
            index += 1;
            Some(Ok(StoredRow {
                time_ns: row.time_ns,
                seq: row.seq,
                value: row.value.into(),
            }))
        })))
    }

    /// Persists the pipeline's counters so readers in other processes, and the next worker,
    /// see them.
    pub fn save_counters(&self, counters: &Counters) -> Result<(), StoreError> {
        let meta = self.cf(META_CF)?;
        self.db
            .put_cf(
                &meta,
                META_COUNTERS,
                counters::encode_saved(&counters.saved()),
            )
            .map_err(|e| self.rocks(e))
    }

    /// The counters the collecting process saved last, if any.
    pub fn saved_counters(&self) -> Result<Option<counters::Snapshot>, StoreError> {
        Ok(self.saved()?.map(|saved| saved.tables))
    }

    /// The counters and source positions the collecting process saved last, if any.
    pub fn saved(&self) -> Result<Option<counters::Saved>, StoreError> {
        let Some(meta) = self.cf_if_made(META_CF)? else {
            return Ok(None);
        };
        if let Some(bytes) = self
            .db
            .get_cf(&meta, META_COUNTERS)
            .map_err(|e| self.rocks(e))?
        {
            return Ok(counters::decode_saved(&bytes));
        }
        Ok(self
            .db
            .get_cf(&meta, META_COUNTERS_LEGACY)
            .map_err(|e| self.rocks(e))?
            .and_then(|bytes| counters::decode_legacy_snapshot(&bytes))
            .map(|tables| counters::Saved {
                tables,
                source_positions: Vec::new(),
            }))
    }

    /// Makes everything written so far durable in SST files (used at shutdown).
    pub fn flush(&self) -> Result<(), StoreError> {
        for name in column_families() {
            if let Some(cf) = self.db.cf_handle(&name) {
                self.db.flush_cf(&cf).map_err(|e| self.rocks(e))?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
