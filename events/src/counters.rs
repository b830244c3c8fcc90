//! Where events are counted and where they are lost, per event table. Every stage that can drop
//! an event has its own counter, so `vigil_events` can say not only that events were lost but
//! where: in the kernel, between the reader and the store, in the store, or at query time.

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

/// The live counters of one event table.
#[derive(Debug, Default)]
pub struct TableCounters {
    /// Records decoded from the kernel.
    pub seen: AtomicU64,
    /// Rows written to the store.
    pub stored: AtomicU64,
    /// Records the kernel could not put in the ring buffer because it was full.
    pub dropped_ring_buffer: AtomicU64,
    /// Events dropped because the channel to the store writer was full.
    pub dropped_channel: AtomicU64,
    /// Events dropped because the store rejected the write (disk full, I/O error).
    pub dropped_store: AtomicU64,
    /// Kernel records that did not decode (wrong size, unknown kind).
    pub malformed: AtomicU64,
    /// Stored rows skipped at query time because their value did not decode.
    pub corrupt: AtomicU64,
    /// Rows removed by `--events_expiry` or `--events_max`.
    pub expired: AtomicU64,
    /// Exec records whose argv was cut at the configured limit (kept, and marked).
    pub argv_truncated: AtomicU64,
    /// Events left out by configuration (file path filters): not a loss, counted to be seen.
    pub filtered: AtomicU64,
    /// Rows `--events_max` removed before every scheduled query reading the table had read them.
    pub expired_unread: AtomicU64,
}

/// A copy of one table's counters at a point in time.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CounterValues {
    pub seen: u64,
    pub stored: u64,
    pub dropped_ring_buffer: u64,
    pub dropped_channel: u64,
    pub dropped_store: u64,
    pub malformed: u64,
    pub corrupt: u64,
    pub expired: u64,
    pub argv_truncated: u64,
    pub filtered: u64,
    pub expired_unread: u64,
}

impl CounterValues {
    const FIELDS: usize = 11;

    fn as_array(&self) -> [u64; Self::FIELDS] {
        [
            self.seen,
            self.stored,
            self.dropped_ring_buffer,
            self.dropped_channel,
            self.dropped_store,
            self.malformed,
            self.corrupt,
            self.expired,
            self.argv_truncated,
            self.filtered,
            self.expired_unread,
        ]
    }

    fn from_array(a: [u64; Self::FIELDS]) -> Self {
        Self {
            seen: a[0],
            stored: a[1],
            dropped_ring_buffer: a[2],
            dropped_channel: a[3],
            dropped_store: a[4],
            malformed: a[5],
            corrupt: a[6],
            expired: a[7],
            argv_truncated: a[8],
            filtered: a[9],
            expired_unread: a[10],
        }
    }

    /// Every event lost on its way to the store, or before a scheduled query read it.
    pub fn dropped(&self) -> u64 {
        self.dropped_ring_buffer
            + self.dropped_channel
            + self.dropped_store
            + self.malformed
            + self.expired_unread
    }
}

impl TableCounters {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn values(&self) -> CounterValues {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        CounterValues {
            seen: get(&self.seen),
            stored: get(&self.stored),
            dropped_ring_buffer: get(&self.dropped_ring_buffer),
            dropped_channel: get(&self.dropped_channel),
            dropped_store: get(&self.dropped_store),
            malformed: get(&self.malformed),
            corrupt: get(&self.corrupt),
            expired: get(&self.expired),
            argv_truncated: get(&self.argv_truncated),
            filtered: get(&self.filtered),
            expired_unread: get(&self.expired_unread),
        }
    }
}

/// Every table's counter values, by table name.
pub type Snapshot = Vec<(String, CounterValues)>;

/// A named set of table counters, one per event table, shared by every stage of the pipeline.
#[derive(Debug, Default, Clone)]
pub struct Counters {
    tables: Arc<Vec<(&'static str, Arc<TableCounters>)>>,
}

impl Counters {
    pub fn new(tables: &[&'static str]) -> Self {
        Self {
            tables: Arc::new(
                tables
                    .iter()
                    .map(|&name| (name, Arc::new(TableCounters::default())))
                    .collect(),
            ),
        }
    }

    pub fn table(&self, name: &str) -> Option<&Arc<TableCounters>> {
        self.tables.iter().find(|(n, _)| *n == name).map(|(_, c)| c)
    }

    pub fn snapshot(&self) -> Snapshot {
        self.tables
            .iter()
            .map(|(name, c)| ((*name).to_owned(), c.values()))
            .collect()
    }
}

/// Encodes a snapshot for the store, so a reader in another process (`vigil query` against a
/// running daemon) sees the daemon's counters: per table, its name then fixed-width numbers.
pub fn encode_snapshot(snapshot: &[(String, CounterValues)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, values) in snapshot {
        out.push(name.len() as u8);
        out.extend_from_slice(name.as_bytes());
        for v in values.as_array() {
            out.extend_from_slice(&v.to_be_bytes());
        }
    }
    out
}

pub fn decode_snapshot(mut bytes: &[u8]) -> Option<Snapshot> {
    let mut out = Vec::new();
    while let Some((&len, rest)) = bytes.split_first() {
        let name = rest.get(..len as usize)?;
        let name = std::str::from_utf8(name).ok()?.to_owned();
        bytes = &rest[len as usize..];
        let mut values = [0u64; CounterValues::FIELDS];
        for v in &mut values {
            let raw: [u8; 8] = bytes.get(..8)?.try_into().ok()?;
            *v = u64::from_be_bytes(raw);
            bytes = &bytes[8..];
        }
        out.push((name, CounterValues::from_array(values)));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_round_trips_and_rejects_truncation() {
        let counters = Counters::new(&["bpf_process_events", "other_events"]);
        let table = counters.table("bpf_process_events").expect("table exists");
        TableCounters::add(&table.seen, 7);
        TableCounters::add(&table.dropped_ring_buffer, 3);
        let snapshot = counters.snapshot();
        let bytes = encode_snapshot(&snapshot);
        assert_eq!(decode_snapshot(&bytes), Some(snapshot));
        assert_eq!(decode_snapshot(&bytes[..bytes.len() - 1]), None);
    }
}
