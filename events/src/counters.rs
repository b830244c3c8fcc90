//! Where events are counted and where they are lost, per event table. Every stage that can drop
//! an event has its own counter, so `vigil_events` can say not only that events were lost but
//! where: in the kernel, between the reader and the store, in the store, or at query time.

use std::sync::{
    Arc, Mutex, PoisonError,
    atomic::{AtomicU64, Ordering},
};

/// Whether a table's kernel probes run on this kernel, as the publisher found when it loaded them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Availability {
    /// Some or all of the table's probes are loaded and attached: events come.
    pub available: bool,
    /// What this kernel cannot do for the table, and why; empty when every probe runs.
    pub reason: String,
}

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
    /// Set by the publisher once it knows what this kernel can do; `None` until then.
    pub availability: Mutex<Option<Availability>>,
}

/// A copy of one table's counters (and its availability) at a point in time.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
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
    pub availability: Option<Availability>,
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
            availability: None,
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
            availability: self.availability(),
        }
    }

    pub fn availability(&self) -> Option<Availability> {
        self.availability
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn set_availability(&self, availability: Availability) {
        *self
            .availability
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(availability);
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
/// running daemon) sees the daemon's counters: per table, its name then fixed-width numbers;
/// then, after an empty name (no table has one), each known availability: the table's name, a
/// flag byte and a length-prefixed reason. Snapshots saved before availability existed end
/// without that part and still decode.
pub fn encode_snapshot(snapshot: &[(String, CounterValues)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, values) in snapshot {
        push_name(&mut out, name);
        for v in values.as_array() {
            out.extend_from_slice(&v.to_be_bytes());
        }
    }
    let known: Vec<_> = snapshot
        .iter()
        .filter_map(|(name, values)| Some((name, values.availability.as_ref()?)))
        .collect();
    if !known.is_empty() {
        out.push(0);
        for (name, availability) in known {
            push_name(&mut out, name);
            out.push(u8::from(availability.available));
            let reason = truncate_utf8(&availability.reason, u16::MAX as usize);
            out.extend_from_slice(&(reason.len() as u16).to_be_bytes());
            out.extend_from_slice(reason.as_bytes());
        }
    }
    out
}

fn push_name(out: &mut Vec<u8>, name: &str) {
    let name = truncate_utf8(name, u8::MAX as usize);
    out.push(name.len() as u8);
    out.extend_from_slice(name.as_bytes());
}

fn truncate_utf8(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

pub fn decode_snapshot(mut bytes: &[u8]) -> Option<Snapshot> {
    let mut out: Snapshot = Vec::new();
    while let Some((&len, rest)) = bytes.split_first() {
        if len == 0 {
            decode_availability(rest, &mut out)?;
            break;
        }
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

fn decode_availability(mut bytes: &[u8], out: &mut Snapshot) -> Option<()> {
    while let Some((&len, rest)) = bytes.split_first() {
        let name = std::str::from_utf8(rest.get(..len as usize)?).ok()?;
        bytes = &rest[len as usize..];
        let (&available, rest) = bytes.split_first()?;
        let reason_len = u16::from_be_bytes(rest.get(..2)?.try_into().ok()?) as usize;
        let reason = std::str::from_utf8(rest.get(2..2 + reason_len)?).ok()?;
        bytes = &rest[2 + reason_len..];
        if let Some((_, values)) = out.iter_mut().find(|(n, _)| n == name) {
            values.availability = Some(Availability {
                available: available != 0,
                reason: reason.to_owned(),
            });
        }
    }
    Some(())
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

    #[test]
    fn availability_round_trips_after_the_counters() {
        let counters = Counters::new(&["bpf_process_events", "bpf_file_events"]);
        let process = counters.table("bpf_process_events").expect("table exists");
        TableCounters::add(&process.seen, 2);
        process.set_availability(Availability {
            available: true,
            reason: "exit: falls back – ünïcode kept".into(),
        });
        let snapshot = counters.snapshot();
        let bytes = encode_snapshot(&snapshot);
        let decoded = decode_snapshot(&bytes).expect("decodes");
        assert_eq!(decoded, snapshot);
        assert_eq!(decoded[1].1.availability, None);
        // What an older daemon saved (no availability part) still decodes.
        let without: Vec<_> = snapshot
            .iter()
            .map(|(n, v)| {
                let mut v = v.clone();
                v.availability = None;
                (n.clone(), v)
            })
            .collect();
        let old = encode_snapshot(&without);
        assert!(bytes.starts_with(&old));
        assert_eq!(decode_snapshot(&old), Some(without));
        assert_eq!(decode_snapshot(&bytes[..bytes.len() - 1]), None);
    }
}
