//! The event store: RocksDB, one column family per event table, rows keyed by `(key time, seq)`
//! with compact binary values. Retention (`--events_expiry`, `--events_max`) is enforced with range
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

pub mod key;
mod read_floor;
mod writer;

use std::{
    os::unix::fs::{DirBuilderExt, PermissionsExt},
    path::{Path, PathBuf},
    sync::{
        Mutex, RwLock,
        atomic::{AtomicU64, Ordering},
    },
};

pub use read_floor::{NOTHING_READ, ReadFloor, ReadThrough};
use rocksdb::{
    ColumnFamilyDescriptor, DB, Direction, IteratorMode, Options, ReadOptions, WriteBatch,
};
pub use writer::{RetentionPolicy, StoreWriter, WriterConfig, retention_pass};

use crate::{
    counters::{self, Counters},
    event_table::EventTable,
};

const META_CF: &str = "vigil_meta";
/// Scheduler state: previous results, counters, evented-table cursors.
const STATE_CF: &str = "vigil_state";
/// Result and status lines waiting for a logger, in the order they were produced: one copy per
/// log sink, keyed `[sink][seq]`.
const LOGS_CF: &str = "vigil_logs";

/// Who reads buffered log lines. Each line is buffered once per enabled sink, and each sink
/// forgets its copy once it has delivered it.
pub mod log_sink {
    pub const FILESYSTEM: u8 = 1;
    pub const TLS: u8 = 2;
}

/// A buffered line's key: its sink, then its sequence number (big-endian, so keys sort in order).
pub type LineKey = [u8; 9];

fn line_key(sink: u8, seq: u64) -> LineKey {
    let mut key = [0u8; 9];
    key[0] = sink;
    key[1..].copy_from_slice(&seq.to_be_bytes());
    key
}
const META_LOG_SEQ: &[u8] = b"log_seq";
/// Per table, the largest amount by which a row's key time exceeds its event time.
fn lag_key(table: EventTable) -> Vec<u8> {
    format!("lag/{}", table.name()).into_bytes()
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

/// Changes to scheduler state and the log lines they produced, written in one atomic batch: a
/// crash leaves either both or neither (a query's cursor never moves past events whose result
/// lines were lost).
#[derive(Debug, Default)]
pub struct StateBatch {
    pub puts: Vec<(Vec<u8>, Vec<u8>)>,
    pub deletes: Vec<Vec<u8>>,
    /// (kind, line): kind is what the logger uses to pick a file (`result`, `snapshot`, `status`).
    pub logs: Vec<(u8, String)>,
}

/// Rows for one table: (event time ns, encoded value), in arrival order.
pub type TableRows<'a> = (EventTable, &'a [(u64, Vec<u8>)]);

/// A scheduler state key and its value.
pub type StateEntry = (Vec<u8>, Vec<u8>);

/// A buffered log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BufferedLine {
    pub key: LineKey,
    pub kind: u8,
    pub line: String,
}

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
    /// Held while log sequence numbers are taken and their lines written: the persisted last
    /// sequence only ever grows, and no two commits interleave.
    log_commit: Mutex<()>,
    next_log_seq: AtomicU64,
    /// The sinks each new log line is buffered for.
    log_sinks: RwLock<Vec<u8>>,
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
    names.push(STATE_CF.to_owned());
    names.push(LOGS_CF.to_owned());
    names
}

/// Memory RocksDB may hold for the whole database: the worker runs under the watchdog's memory
/// limit (200 MB by default), and an event storm must not push it there by itself.
const MEMTABLE_BUDGET: usize = 48 * 1024 * 1024;
const BLOCK_CACHE_BYTES: usize = 16 * 1024 * 1024;

fn base_options(block_cache: &rocksdb::Cache) -> Options {
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
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(wrap)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700)).map_err(wrap)
}

impl EventStore {
    /// Opens (creating if needed) the store that collects events.
    pub fn open_primary(path: &Path) -> Result<Self, StoreError> {
        prepare_directory(path)?;
        let block_cache = rocksdb::Cache::new_lru_cache(BLOCK_CACHE_BYTES);
        let opts = base_options(&block_cache);
        let cfs = column_families()
            .into_iter()
            .map(|name| ColumnFamilyDescriptor::new(name, base_options(&block_cache)));
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
            log_commit: Mutex::new(()),
            next_log_seq: AtomicU64::new(1),
            log_sinks: RwLock::new(vec![log_sink::FILESYSTEM]),
            path: path.to_owned(),
            role: Role::Primary,
            next_seq: AtomicU64::new(1),
            tables: Mutex::new(Vec::new()),
        };
        let last_seq = store.last_seq()?;
        store.next_seq = AtomicU64::new(last_seq + 1);
        store.next_log_seq = AtomicU64::new(store.last_log_seq()? + 1);
        let mut tables = Vec::new();
        for table in EventTable::ALL {
            let state = TableState {
                rows: store.count_rows(*table)?,
                last_key_time: store.last_key(*table)?.map_or(0, |(time, _)| time),
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
        let db = DB::open_cf_as_secondary(&opts, path, own_dir.path(), column_families()).map_err(
            |source| StoreError::Rocks {
                path: path.to_owned(),
                source,
            },
        )?;
        Ok(Self {
            db,
            log_commit: Mutex::new(()),
            next_log_seq: AtomicU64::new(0),
            log_sinks: RwLock::new(Vec::new()),
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
            let cf = self.cf(table.name())?;
            let mut iter = self.db.iterator_cf(&cf, IteratorMode::End);
            if let Some(Ok((key, _))) = iter.next()
                && let Some((_, seq)) = key::decode(&key)
            {
                last = last.max(seq);
            }
        }
        Ok(last)
    }

    /// The newest key of `table`, if it has rows.
    fn last_key(&self, table: EventTable) -> Result<Option<(u64, u64)>, StoreError> {
        let cf = self.cf(table.name())?;
        match self.db.iterator_cf(&cf, IteratorMode::End).next() {
            Some(Ok((key, _))) => Ok(key::decode(&key)),
            Some(Err(e)) => Err(self.rocks(e)),
            None => Ok(None),
        }
    }

    fn read_lag(&self, table: EventTable) -> Result<u64, StoreError> {
        let meta = self.cf(META_CF)?;
        Ok(self
            .db
            .get_cf(&meta, lag_key(table))
            .map_err(|e| self.rocks(e))?
            .and_then(|v| <[u8; 8]>::try_from(v.as_slice()).ok())
            .map_or(0, u64::from_be_bytes))
    }

    /// The last log line sequence number used: the persisted one, or a buffered line's if one
    /// is higher (lines are the ground truth: a new line must never overwrite a waiting one).
    fn last_log_seq(&self) -> Result<u64, StoreError> {
        let meta = self.cf(META_CF)?;
        let mut last = self
            .db
            .get_cf(&meta, META_LOG_SEQ)
            .map_err(|e| self.rocks(e))?
            .and_then(|v| <[u8; 8]>::try_from(v.as_slice()).ok())
            .map_or(0, u64::from_be_bytes);
        drop(meta);
        let logs = self.cf(LOGS_CF)?;
        for sink in 0..=u8::MAX {
            let mut options = ReadOptions::default();
            options.set_iterate_lower_bound(vec![sink]);
            if let Some(next) = sink.checked_add(1) {
                options.set_iterate_upper_bound(vec![next]);
            }
            let newest = self
                .db
                .iterator_cf_opt(&logs, options, IteratorMode::End)
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

    fn count_rows(&self, table: EventTable) -> Result<u64, StoreError> {
        let cf = self.cf(table.name())?;
        let mut n = 0;
        for item in self.db.iterator_cf(&cf, IteratorMode::Start) {
            item.map_err(|e| self.rocks(e))?;
            n += 1;
        }
        Ok(n)
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
            let cf = self.cf(table.name())?;
            for (time_ns, value) in rows.iter() {
                let seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
                last = Some(seq);
                state.last_key_time = state.last_key_time.max(*time_ns);
                state.lag_ns = state.lag_ns.max(state.last_key_time - time_ns);
                batch.put_cf(&cf, key::encode(state.last_key_time, seq), value);
            }
            if state.lag_ns > lag_before {
                batch.put_cf(&meta, lag_key(*table), state.lag_ns.to_be_bytes());
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
    ) -> Result<impl Iterator<Item = Result<StoredRow, StoreError>> + '_, StoreError> {
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
    ) -> Result<impl Iterator<Item = Result<StoredRow, StoreError>> + '_, StoreError> {
        let cf = self.cf(table.name())?;
        let mut opts = ReadOptions::default();
        let start = key::encode(from.0, from.1).max(key::encode(range.start_ns, 0));
        let lag = if range.end_ns == u64::MAX {
            0
        } else {
            self.time_lag(table)?
        };
        if let Some(end) = range.end_ns.checked_add(lag).and_then(|e| e.checked_add(1)) {
            opts.set_iterate_upper_bound(key::encode(end, 0).to_vec());
        }
        let empty = range.is_empty();
        let iter =
            self.db
                .iterator_cf_opt(&cf, opts, IteratorMode::From(&start, Direction::Forward));
        Ok(iter
            .take_while(move |_| !empty)
            .filter_map(move |item| match item {
                Err(e) => Some(Err(StoreError::Rocks {
                    path: self.path.clone(),
                    source: e,
                })),
                Ok((key, value)) => {
                    let (time_ns, seq) = key::decode(&key)?;
                    Some(Ok(StoredRow {
                        time_ns,
                        seq,
                        value,
                    }))
                }
            }))
    }

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
        let meta = self.cf(META_CF)?;
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

    /// A scheduler state value.
    pub fn get_state(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let cf = self.cf(STATE_CF)?;
        self.db.get_cf(&cf, key).map_err(|e| self.rocks(e))
    }

    /// Every scheduler state entry whose key starts with `prefix`.
    pub fn state_with_prefix(&self, prefix: &[u8]) -> Result<Vec<StateEntry>, StoreError> {
        let cf = self.cf(STATE_CF)?;
        let mut out = Vec::new();
        for item in self
            .db
            .iterator_cf(&cf, IteratorMode::From(prefix, Direction::Forward))
        {
            let (key, value) = item.map_err(|e| self.rocks(e))?;
            if !key.starts_with(prefix) {
                break;
            }
            out.push((key.to_vec(), value.to_vec()));
        }
        Ok(out)
    }

    /// Applies state changes and buffers their log lines, atomically.
    pub fn commit_state(&self, batch: StateBatch) -> Result<(), StoreError> {
        let _commit = self
            .log_commit
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let state = self.cf(STATE_CF)?;
        let logs = self.cf(LOGS_CF)?;
        let meta = self.cf(META_CF)?;
        let mut write = WriteBatch::default();
        for (key, value) in &batch.puts {
            write.put_cf(&state, key, value);
        }
        for key in &batch.deletes {
            write.delete_cf(&state, key);
        }
        let mut last = None;
        let sinks = self.log_sinks.read().map(|s| s.clone()).unwrap_or_default();
        for (kind, line) in &batch.logs {
            let seq = self.next_log_seq.fetch_add(1, Ordering::Relaxed);
            let mut value = Vec::with_capacity(line.len() + 1);
            value.push(*kind);
            value.extend_from_slice(line.as_bytes());
            for &sink in &sinks {
                write.put_cf(&logs, line_key(sink, seq), &value);
            }
            last = Some(seq);
        }
        if let Some(last) = last {
            write.put_cf(&meta, META_LOG_SEQ, last.to_be_bytes());
        }
        self.db.write(write).map_err(|e| self.rocks(e))
    }

    /// From now on, new log lines are buffered for these sinks.
    pub fn set_log_sinks(&self, sinks: &[u8]) {
        if let Ok(mut current) = self.log_sinks.write() {
            *current = sinks.to_vec();
        }
    }

    fn sink_lines(
        &self,
        sink: u8,
    ) -> Result<rocksdb::DBIteratorWithThreadMode<'_, DB>, StoreError> {
        let cf = self.cf(LOGS_CF)?;
        let mut options = ReadOptions::default();
        options.set_iterate_lower_bound(vec![sink]);
        options.set_iterate_upper_bound(vec![sink.wrapping_add(1)]);
        Ok(self.db.iterator_cf_opt(&cf, options, IteratorMode::Start))
    }

    /// Up to `limit` lines buffered for `sink`, oldest first.
    pub fn buffered_lines(&self, sink: u8, limit: usize) -> Result<Vec<BufferedLine>, StoreError> {
        let mut out = Vec::new();
        for item in self.sink_lines(sink)?.take(limit) {
            let (key, value) = item.map_err(|e| self.rocks(e))?;
            let (Ok(key), Some((&kind, line))) = (LineKey::try_from(&key[..]), value.split_first())
            else {
                continue;
            };
            out.push(BufferedLine {
                key,
                kind,
                line: String::from_utf8_lossy(line).into_owned(),
            });
        }
        Ok(out)
    }

    /// How many lines wait for `sink`.
    pub fn buffered_count(&self, sink: u8) -> Result<u64, StoreError> {
        let mut count = 0;
        for item in self.sink_lines(sink)? {
            item.map_err(|e| self.rocks(e))?;
            count += 1;
        }
        Ok(count)
    }

    /// Forgets the `n` oldest lines waiting for `sink`; returns how many there were.
    pub fn drop_oldest_lines(&self, sink: u8, n: u64) -> Result<u64, StoreError> {
        let mut keys = Vec::new();
        for item in self.sink_lines(sink)?.take(n as usize) {
            let (key, _) = item.map_err(|e| self.rocks(e))?;
            if let Ok(key) = LineKey::try_from(&key[..]) {
                keys.push(key);
            }
        }
        self.delete_lines(&keys)?;
        Ok(keys.len() as u64)
    }

    /// Forgets lines a logger has delivered.
    pub fn delete_lines(&self, keys: &[LineKey]) -> Result<(), StoreError> {
        let cf = self.cf(LOGS_CF)?;
        let mut write = WriteBatch::default();
        for key in keys {
            write.delete_cf(&cf, key);
        }
        self.db.write(write).map_err(|e| self.rocks(e))
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
