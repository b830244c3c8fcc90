//! The in-flight ledger: how many records each event table's publisher has taken from the kernel,
//! in a small memory-mapped file in the database directory. A record taken from the kernel's ring
//! buffer lives only in the worker's memory until the store has written it; if the worker dies
//! then (`kill -9`, a crash), the record is gone. The ledger outlives the worker (it is a shared
//! file mapping: every increment is in the page cache at once, no system call), and the store
//! saves, with every batch of rows, how many taken records have a recorded fate. At the next
//! start the difference is what died in flight, and it is counted (`lost_in_flight`).
//!
//! A record counted as taken in the instant before a worker dies, but not yet released from the
//! ring buffer, is read again by the next worker: it is then stored and also counted lost. The
//! count errs on that side only, by at most one record per death.

use std::{
    path::{Path, PathBuf},
    sync::atomic::{AtomicU64, Ordering},
};

#[cfg(feature = "store")]
use crate::{Counters, EventStore, StoreError, TableCounters};
use crate::{event_table::EventTable, private_files::SharedMap};

const MAGIC: &[u8; 8] = b"VIGILIF1";
/// Room for more tables than there are: a table added later finds its slot zero.
const SLOTS: usize = 32;
const LEN: usize = MAGIC.len() + SLOTS * 8;
/// The ledger's file name in the database directory.
pub const FILE_NAME: &str = "in-flight.ledger";

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("cannot open the in-flight ledger {path}: {source}")]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot map the in-flight ledger {path}: {source}")]
    Map {
        path: PathBuf,
        source: std::io::Error,
    },
    #[cfg(feature = "store")]
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub struct InFlightLedger {
    /// `LEN` bytes, mapped shared and writable.
    map: SharedMap,
}

// SAFETY: the mapping is only accessed through atomics (slots) after `open` has initialised it.
unsafe impl Send for InFlightLedger {}
// SAFETY: as above; concurrent increments are atomic.
unsafe impl Sync for InFlightLedger {}

impl std::fmt::Debug for InFlightLedger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InFlightLedger")
    }
}

impl InFlightLedger {
    /// Opens (creating, owner-only) the ledger at `path`. A file that is not a ledger starts
    /// again from zero: `fresh` in the result says so.
    pub fn open(path: &Path) -> Result<(Self, bool), LedgerError> {
        let open_error = |source| LedgerError::Open {
            path: path.to_owned(),
            source,
        };
        let file = crate::private_files::open_file(path).map_err(open_error)?;
        let len = file.metadata().map_err(open_error)?.len();
        if len != LEN as u64 {
            file.set_len(LEN as u64).map_err(open_error)?;
        }
        let map = SharedMap::new(&file, LEN).map_err(|source| LedgerError::Map {
            path: path.to_owned(),
            source,
        })?;
        let ledger = Self { map };
        // SAFETY: the mapping is LEN bytes long and nothing else in this process uses it yet.
        let header = unsafe { std::slice::from_raw_parts_mut(ledger.map.base(), MAGIC.len()) };
        let fresh = header != MAGIC;
        if fresh {
            for slot in 0..SLOTS {
                ledger.slot(slot).store(0, Ordering::Relaxed);
            }
            header.copy_from_slice(MAGIC);
        }
        Ok((ledger, fresh))
    }

    fn slot(&self, index: usize) -> &AtomicU64 {
        let index = index.min(SLOTS - 1);
        // SAFETY: in bounds (index < SLOTS), 8-byte aligned (the mapping is page-aligned and
        // slots start at byte 8), and only ever accessed as an AtomicU64 while `self` lives.
        unsafe {
            &*self
                .map
                .base()
                .add(MAGIC.len() + index * 8)
                .cast::<AtomicU64>()
        }
    }

    fn index(table: EventTable) -> usize {
        EventTable::ALL
            .iter()
            .position(|t| *t == table)
            .unwrap_or(SLOTS - 1)
    }

    /// One record of `table` was taken from the kernel.
    pub fn take(&self, table: EventTable) {
        self.slot(Self::index(table))
            .fetch_add(1, Ordering::Relaxed);
    }

    pub fn taken(&self, table: EventTable) -> u64 {
        self.slot(Self::index(table)).load(Ordering::Relaxed)
    }

    #[cfg(feature = "store")]
    fn set_taken(&self, table: EventTable, value: u64) {
        self.slot(Self::index(table))
            .store(value, Ordering::Relaxed);
    }
}

#[cfg(feature = "store")]
/// At a worker's start, before anything reads the kernel: continues the counters from what the
/// store saved, and counts what the previous worker took from the kernel but never stored.
/// Returns the ledger for the new reader.
pub fn settle(store: &EventStore, counters: &Counters) -> Result<InFlightLedger, LedgerError> {
    let saved = store.saved()?.unwrap_or_default();
    counters.resume_from(&saved);
    let (ledger, fresh) = InFlightLedger::open(&store.path().join(FILE_NAME))?;
    for table in EventTable::ALL {
        let Some(table_counters) = counters.table(table.name()) else {
            continue;
        };
        let resolved = table_counters.values().resolved;
        let taken = ledger.taken(*table);
        if fresh || taken < resolved {
            // A new ledger (or a database from an older version): it starts where the counters
            // are; nothing can be said about what happened before.
            ledger.set_taken(*table, resolved);
            continue;
        }
        let lost = taken - resolved;
        if lost > 0 {
            TableCounters::add(&table_counters.lost_in_flight, lost);
            TableCounters::add(&table_counters.resolved, lost);
            tracing::warn!(
                table = table.name(),
                lost,
                "the previous worker died with events taken from the kernel but not yet stored; \
                 they are lost and counted in vigil_events.lost_in_flight"
            );
        }
    }
    store.save_counters(counters)?;
    Ok(ledger)
}

#[cfg(all(test, feature = "store"))]
mod tests {
    use super::*;

    const T: EventTable = EventTable::BpfProcessEvents;

    #[test]
    fn what_a_dead_worker_took_but_did_not_store_is_counted_once() {
        let dir = tempfile::tempdir().expect("dir");
        let store = EventStore::open_primary(dir.path()).expect("store");
        // First worker: takes 5 records, 3 are stored (counters saved with them), then dies.
        {
            let counters = Counters::new(&EventTable::names());
            let ledger = settle(&store, &counters).expect("settle");
            for _ in 0..5 {
                ledger.take(T);
            }
            let table = counters.table(T.name()).expect("table");
            TableCounters::add(&table.stored, 3);
            TableCounters::add(&table.resolved, 3);
            store.save_counters(&counters).expect("save");
        }
        // Second worker: finds the 2 in flight.
        let counters = Counters::new(&EventTable::names());
        let ledger = settle(&store, &counters).expect("settle");
        let values = counters.table(T.name()).expect("table").values();
        assert_eq!((values.stored, values.lost_in_flight), (3, 2));
        drop(ledger);
        // A third start with nothing new in flight counts nothing more.
        let counters = Counters::new(&EventTable::names());
        let _ledger = settle(&store, &counters).expect("settle");
        let values = counters.table(T.name()).expect("table").values();
        assert_eq!((values.stored, values.lost_in_flight), (3, 2));
    }

    #[test]
    fn a_damaged_ledger_starts_again_without_inventing_losses() {
        let dir = tempfile::tempdir().expect("dir");
        let store = EventStore::open_primary(dir.path()).expect("store");
        std::fs::write(dir.path().join(FILE_NAME), b"garbage").expect("write");
        let counters = Counters::new(&EventTable::names());
        let ledger = settle(&store, &counters).expect("settle");
        assert_eq!(
            counters
                .table(T.name())
                .expect("table")
                .values()
                .lost_in_flight,
            0
        );
        assert_eq!(ledger.taken(T), 0);
    }
}
