//! Exactly-once reads of evented tables for scheduled queries. The scheduler opens a scope before
//! a query runs, naming where each table's previous run stopped; scans skip what was already read
//! and note how far they got; the scheduler persists that with the query's results.

use std::{collections::HashMap, sync::Mutex};

use vigil_events::EventTable;

/// How far into an event table a query has read: the newest event time and the highest sequence
/// number seen. Sequence numbers follow arrival order, so an event stored late with an older
/// timestamp is still new to the query.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cursor {
    pub time_ns: u64,
    pub seq: u64,
}

/// Events can be stored a little after their timestamp (batching, several CPUs): a scan starts
/// this far before the cursor's time and skips by sequence number.
const ARRIVAL_SLACK_NS: u64 = 60 * 1_000_000_000;

impl Cursor {
    pub fn encode(&self) -> Vec<u8> {
        let mut out = self.time_ns.to_be_bytes().to_vec();
        out.extend_from_slice(&self.seq.to_be_bytes());
        out
    }

    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let time: [u8; 8] = bytes.get(..8)?.try_into().ok()?;
        let seq: [u8; 8] = bytes.get(8..16)?.try_into().ok()?;
        Some(Self {
            time_ns: u64::from_be_bytes(time),
            seq: u64::from_be_bytes(seq),
        })
    }

    /// Where a scan resumes: the time to start from, and the sequence numbers to skip.
    pub fn resume(&self) -> (u64, u64) {
        (self.time_ns.saturating_sub(ARRIVAL_SLACK_NS), self.seq)
    }
}

#[derive(Debug, Default)]
struct Active {
    start: HashMap<EventTable, Cursor>,
    reached: HashMap<EventTable, Cursor>,
}

/// The scheduled query a connection is running, if any.
#[derive(Debug, Default)]
pub struct QueryScope {
    active: Mutex<Option<Active>>,
}

impl QueryScope {
    /// A scheduled query starts, resuming each table at `start` (tables not named start from the
    /// beginning of what is buffered).
    pub fn begin(&self, start: HashMap<EventTable, Cursor>) {
        if let Ok(mut active) = self.active.lock() {
            *active = Some(Active {
                start,
                reached: HashMap::new(),
            });
        }
    }

    /// The query ended: each evented table it read, and how far.
    pub fn finish(&self) -> HashMap<EventTable, Cursor> {
        self.active
            .lock()
            .ok()
            .and_then(|mut a| a.take())
            .map(|a| a.reached)
            .unwrap_or_default()
    }

    /// For a scan of `table`: `Some(resume point)` inside a scheduled query (the point may be the
    /// start of the table), `None` for ad-hoc queries, which see all history.
    pub(crate) fn scan_start(&self, table: EventTable) -> Option<Cursor> {
        let mut active = self.active.lock().ok()?;
        let active = active.as_mut()?;
        let start = active.start.get(&table).copied().unwrap_or_default();
        active.reached.entry(table).or_insert(start);
        Some(start)
    }

    pub(crate) fn record(&self, table: EventTable, time_ns: u64, seq: u64) {
        if let Ok(mut active) = self.active.lock()
            && let Some(active) = active.as_mut()
        {
            let reached = active.reached.entry(table).or_default();
            if seq > reached.seq {
                reached.seq = seq;
            }
            if time_ns > reached.time_ns {
                reached.time_ns = time_ns;
            }
        }
    }
}
