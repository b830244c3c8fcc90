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
    /// Records a worker had taken from the kernel but not yet stored when it died (`kill -9`, a
    /// crash): found at the next start from the in-flight ledger.
    pub lost_in_flight: AtomicU64,
    /// Records taken from the kernel whose fate is recorded (stored, dropped, malformed,
    /// filtered, or lost in flight). Internal: compared with the in-flight ledger at a start.
    pub resolved: AtomicU64,
    /// Audit: records the kernel's audit backlog dropped (its `lost` counter) while vigil read;
    /// the kernel does not say whose, so every audit table shows the same number.
    pub kernel_lost: AtomicU64,
    /// Audit: events stored without their end-of-event record (flushed after a timeout).
    pub incomplete: AtomicU64,
    /// ETW: buffers the session lost (`RealTimeBuffersLost`). A buffer holds many events, how
    /// many ETW does not say, so these are counted apart from `kernel_lost`'s events.
    pub kernel_buffers_lost: AtomicU64,
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
    pub lost_in_flight: u64,
    pub resolved: u64,
    pub kernel_lost: u64,
    pub incomplete: u64,
    pub kernel_buffers_lost: u64,
    pub availability: Option<Availability>,
}

impl CounterValues {
    const FIELDS: usize = 16;

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
            self.lost_in_flight,
            self.resolved,
            self.kernel_lost,
            self.incomplete,
            self.kernel_buffers_lost,
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
            lost_in_flight: a[11],
            resolved: a[12],
            kernel_lost: a[13],
            incomplete: a[14],
            kernel_buffers_lost: a[15],
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
            + self.lost_in_flight
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
            lost_in_flight: get(&self.lost_in_flight),
            resolved: get(&self.resolved),
            kernel_lost: get(&self.kernel_lost),
            incomplete: get(&self.incomplete),
            kernel_buffers_lost: get(&self.kernel_buffers_lost),
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

    /// Adds saved values (an earlier worker's totals) to these counters. Availability is not
    /// carried over: each worker finds out what its kernel can do.
    fn add_values(&self, values: &CounterValues) {
        let fields = [
            (&self.seen, values.seen),
            (&self.stored, values.stored),
            (&self.dropped_ring_buffer, values.dropped_ring_buffer),
            (&self.dropped_channel, values.dropped_channel),
            (&self.dropped_store, values.dropped_store),
            (&self.malformed, values.malformed),
            (&self.corrupt, values.corrupt),
            (&self.expired, values.expired),
            (&self.argv_truncated, values.argv_truncated),
            (&self.filtered, values.filtered),
            (&self.expired_unread, values.expired_unread),
            (&self.lost_in_flight, values.lost_in_flight),
            (&self.resolved, values.resolved),
            (&self.kernel_lost, values.kernel_lost),
            (&self.incomplete, values.incomplete),
            (&self.kernel_buffers_lost, values.kernel_buffers_lost),
        ];
        for (counter, value) in fields {
            Self::add(counter, value);
        }
    }
}

/// Every table's counter values, by table name.
pub type Snapshot = Vec<(String, CounterValues)>;

/// The positions each publisher (by its source's name) reached in its kernel-side counters.
pub type SourcePositions = Vec<(String, Vec<u64>)>;

/// What is saved in the store: every table's counters, and the positions each publisher reached
/// in its kernel-side counters (so a worker that takes the kernel side over counts each loss
/// once).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Saved {
    pub tables: Snapshot,
    pub source_positions: SourcePositions,
}

/// Versions that saved one unnamed list of positions had one publisher with kernel-side
/// counters: the eBPF one, named so.
const UNNAMED_POSITIONS_SOURCE: &str = "bpf";

/// A named set of table counters, one per event table, shared by every stage of the pipeline.
#[derive(Debug, Default, Clone)]
pub struct Counters {
    tables: Arc<Vec<(&'static str, Arc<TableCounters>)>>,
    /// How far each publisher has accounted for its kernel-side counters. Changed together with
    /// the table counters it feeds, under this lock, and saved with them under it too: a saved
    /// snapshot never holds one without the other.
    source_positions: Arc<Mutex<SourcePositions>>,
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
            source_positions: Arc::default(),
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

    /// The counters and source positions, consistent with each other.
    pub fn saved(&self) -> Saved {
        let positions = self
            .source_positions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Saved {
            tables: self.snapshot(),
            source_positions: positions.clone(),
        }
    }

    /// Continues from an earlier worker's saved totals: counters are cumulative across restarts.
    pub fn resume_from(&self, saved: &Saved) {
        for (name, values) in &saved.tables {
            if let Some(counters) = self.table(name) {
                counters.add_values(values);
            }
        }
        let mut positions = self
            .source_positions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *positions = saved.source_positions.clone();
    }

    /// How far the publisher named `source` accounted for its kernel-side counters, if it did.
    pub fn source_positions(&self, source: &str) -> Option<Vec<u64>> {
        self.source_positions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .find(|(name, _)| name == source)
            .map(|(_, positions)| positions.clone())
    }

    /// Accounts for the kernel-side counts of the publisher named `source`: `apply` adds them
    /// to the table counters while its positions are set, so no snapshot sees one change
    /// without the other.
    pub fn account_source(&self, source: &str, positions: &[u64], apply: impl FnOnce()) {
        let mut current = self
            .source_positions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        apply();
        match current.iter_mut().find(|(name, _)| name == source) {
            Some((_, kept)) => *kept = positions.to_vec(),
            None => current.push((source.to_owned(), positions.to_vec())),
        }
    }
}

/// Encodes what is saved for the store, so a reader in another process (`vigil query` against a
/// running daemon) sees the daemon's counters: the number of fields per table, then per table
/// its name and its numbers, then an unnamed list of positions (what older versions wrote;
/// empty now), then each known availability (the table's name, a flag byte and a
/// length-prefixed reason), then, if any publisher has positions, each publisher's (its name,
/// their number, them).
pub fn encode_saved(saved: &Saved) -> Vec<u8> {
    let mut out = vec![CounterValues::FIELDS as u8, saved.tables.len() as u8];
    for (name, values) in &saved.tables {
        push_name(&mut out, name);
        for v in values.as_array() {
            out.extend_from_slice(&v.to_be_bytes());
        }
    }
    out.push(0);
    let known: Vec<_> = saved
        .tables
        .iter()
        .filter_map(|(name, values)| Some((name, values.availability.as_ref()?)))
        .collect();
    out.push(known.len() as u8);
    for (name, availability) in known {
        push_name(&mut out, name);
        out.push(u8::from(availability.available));
        let reason = truncate_utf8(&availability.reason, u16::MAX as usize);
        out.extend_from_slice(&(reason.len() as u16).to_be_bytes());
        out.extend_from_slice(reason.as_bytes());
    }
    // None, nothing: what versions before named positions wrote.
    let sources = &saved.source_positions[..saved.source_positions.len().min(u8::MAX as usize)];
    if !sources.is_empty() {
        out.push(sources.len() as u8);
        for (name, positions) in sources {
            push_name(&mut out, name);
            push_positions(&mut out, positions);
        }
    }
    out
}

fn push_positions(out: &mut Vec<u8>, positions: &[u64]) {
    let positions = &positions[..positions.len().min(u8::MAX as usize)];
    out.push(positions.len() as u8);
    for p in positions {
        out.extend_from_slice(&p.to_be_bytes());
    }
}

fn take_positions(bytes: &mut &[u8]) -> Option<Vec<u64>> {
    let count = take_u8(bytes)?;
    (0..count).map(|_| take_u64(bytes)).collect()
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

fn take_name(bytes: &mut &[u8]) -> Option<String> {
    let len = usize::from(take_u8(bytes)?);
    let name = std::str::from_utf8(bytes.get(..len)?).ok()?.to_owned();
    *bytes = &bytes[len..];
    Some(name)
}

fn take_u64(bytes: &mut &[u8]) -> Option<u64> {
    let raw: [u8; 8] = bytes.get(..8)?.try_into().ok()?;
    *bytes = &bytes[8..];
    Some(u64::from_be_bytes(raw))
}

fn take_u8(bytes: &mut &[u8]) -> Option<u8> {
    let (&b, rest) = bytes.split_first()?;
    *bytes = rest;
    Some(b)
}

/// Decodes [`encode_saved`]'s output; fields a newer version added are skipped, fields an older
/// one lacked are zero.
pub fn decode_saved(mut bytes: &[u8]) -> Option<Saved> {
    let fields = usize::from(take_u8(&mut bytes)?);
    let tables = take_u8(&mut bytes)?;
    let mut out = Saved::default();
    for _ in 0..tables {
        let name = take_name(&mut bytes)?;
        let mut values = [0u64; CounterValues::FIELDS];
        for i in 0..fields {
            let v = take_u64(&mut bytes)?;
            if let Some(slot) = values.get_mut(i) {
                *slot = v;
            }
        }
        out.tables.push((name, CounterValues::from_array(values)));
    }
    let unnamed = take_positions(&mut bytes)?;
    if !unnamed.is_empty() {
        out.source_positions
            .push((UNNAMED_POSITIONS_SOURCE.to_owned(), unnamed));
    }
    let known = take_u8(&mut bytes)?;
    for _ in 0..known {
        let name = take_name(&mut bytes)?;
        let available = take_u8(&mut bytes)? != 0;
        let len = usize::from(u16::from_be_bytes(bytes.get(..2)?.try_into().ok()?));
        let reason = std::str::from_utf8(bytes.get(2..2 + len)?).ok()?.to_owned();
        bytes = &bytes[2 + len..];
        if let Some((_, values)) = out.tables.iter_mut().find(|(n, _)| *n == name) {
            values.availability = Some(Availability { available, reason });
        }
    }
    // Versions before named positions end here.
    if !bytes.is_empty() {
        let sources = take_u8(&mut bytes)?;
        for _ in 0..sources {
            let name = take_name(&mut bytes)?;
            let positions = take_positions(&mut bytes)?;
            match out.source_positions.iter_mut().find(|(n, _)| *n == name) {
                Some((_, kept)) => *kept = positions,
                None => out.source_positions.push((name, positions)),
            }
        }
    }
    bytes.is_empty().then_some(out)
}

/// Decodes the counters older versions saved (11 numbers per table, no positions).
pub fn decode_legacy_snapshot(mut bytes: &[u8]) -> Option<Snapshot> {
    const LEGACY_FIELDS: usize = 11;
    let mut out = Vec::new();
    while let Some(len) = take_u8(&mut bytes) {
        let len = usize::from(len);
        let name = std::str::from_utf8(bytes.get(..len)?).ok()?.to_owned();
        bytes = &bytes[len..];
        let mut values = [0u64; CounterValues::FIELDS];
        for slot in values.iter_mut().take(LEGACY_FIELDS) {
            *slot = take_u64(&mut bytes)?;
        }
        out.push((name, CounterValues::from_array(values)));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_counters_round_trip_and_reject_truncation() {
        let counters = Counters::new(&["bpf_process_events", "other_events"]);
        let table = counters.table("bpf_process_events").expect("table exists");
        TableCounters::add(&table.seen, 7);
        TableCounters::add(&table.dropped_ring_buffer, 3);
        TableCounters::add(&table.lost_in_flight, 2);
        counters.account_source("bpf", &[4, 5], || {});
        counters.account_source("audit", &[7], || {});
        let saved = counters.saved();
        let bytes = encode_saved(&saved);
        assert_eq!(decode_saved(&bytes), Some(saved.clone()));
        assert_eq!(decode_saved(&bytes[..bytes.len() - 1]), None);
        assert_eq!(saved.tables[0].1.dropped(), 5);
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
        let saved = counters.saved();
        let bytes = encode_saved(&saved);
        let decoded = decode_saved(&bytes).expect("decodes");
        assert_eq!(decoded, saved);
        assert_eq!(decoded.tables[1].1.availability, None);
        assert_eq!(decode_saved(&bytes[..bytes.len() - 1]), None);
    }

    #[test]
    fn a_new_worker_continues_from_the_saved_totals() {
        let first = Counters::new(&["bpf_process_events"]);
        let table = first.table("bpf_process_events").expect("table");
        TableCounters::add(&table.dropped_channel, 4);
        first.account_source("bpf", &[9], || {});
        let second = Counters::new(&["bpf_process_events"]);
        second.resume_from(&first.saved());
        let table = second.table("bpf_process_events").expect("table");
        TableCounters::add(&table.dropped_channel, 1);
        assert_eq!(table.values().dropped_channel, 5);
        assert_eq!(second.source_positions("bpf"), Some(vec![9]));
        assert_eq!(second.source_positions("audit"), None);
    }

    #[test]
    fn publishers_keep_their_own_positions_and_unnamed_ones_are_the_ebpf_publishers() {
        let counters = Counters::new(&["bpf_process_events"]);
        counters.account_source("bpf", &[1, 2], || {});
        counters.account_source("audit", &[3], || {});
        counters.account_source("bpf", &[4, 5], || {});
        assert_eq!(counters.source_positions("bpf"), Some(vec![4, 5]));
        assert_eq!(counters.source_positions("audit"), Some(vec![3]));
        // What versions with one unnamed list wrote: it was the eBPF publisher's.
        let mut older = encode_saved(&Saved {
            tables: counters.snapshot(),
            source_positions: Vec::new(),
        });
        // They wrote their positions where an empty list is now, and nothing after the
        // availabilities: drop the empty list and the (empty) availabilities.
        older.truncate(older.len() - 2);
        older.push(2);
        older.extend_from_slice(&6u64.to_be_bytes());
        older.extend_from_slice(&7u64.to_be_bytes());
        older.push(0);
        let decoded = decode_saved(&older).expect("decodes");
        assert_eq!(
            decoded.source_positions,
            vec![("bpf".to_owned(), vec![6, 7])]
        );
    }

    #[test]
    fn buffers_lost_are_saved_apart_and_counters_saved_without_them_still_read() {
        let counters = Counters::new(&["etw_file_events"]);
        let table = counters.table("etw_file_events").expect("table exists");
        TableCounters::add(&table.kernel_lost, 3);
        TableCounters::add(&table.kernel_buffers_lost, 9);
        let saved = counters.saved();
        let bytes = encode_saved(&saved);
        let decoded = decode_saved(&bytes).expect("decodes");
        assert_eq!(decoded.tables[0].1.kernel_lost, 3);
        assert_eq!(decoded.tables[0].1.kernel_buffers_lost, 9);
        // What versions before the buffers' counter wrote: 15 fields per table.
        let name_end = 2 + 1 + "etw_file_events".len();
        let mut older = vec![15u8];
        older.extend_from_slice(&bytes[1..name_end + 15 * 8]);
        older.extend_from_slice(&bytes[name_end + 16 * 8..]);
        let decoded = decode_saved(&older).expect("decodes");
        assert_eq!(decoded.tables[0].1.kernel_lost, 3);
        assert_eq!(decoded.tables[0].1.kernel_buffers_lost, 0);
    }

    #[test]
    fn counters_saved_by_an_older_version_still_read() {
        let mut legacy = vec![b"bpf_process_events".len() as u8];
        legacy.extend_from_slice(b"bpf_process_events");
        for v in 1..=11u64 {
            legacy.extend_from_slice(&v.to_be_bytes());
        }
        let snapshot = decode_legacy_snapshot(&legacy).expect("decodes");
        assert_eq!(snapshot[0].1.seen, 1);
        assert_eq!(snapshot[0].1.expired_unread, 11);
        assert_eq!(snapshot[0].1.lost_in_flight, 0);
    }
}
