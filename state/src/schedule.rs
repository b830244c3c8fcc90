//! Scheduled queries: how far each has read each event table, what it reported last, its
//! statistics (`vigil_schedule`), and the denylist.

use std::collections::HashSet;

use vigil_events::EventTable;

use crate::{Family, Key, StateValue, value::json_state_value};

/// The `--schedule_epoch` of a query's latest run; present once the query has run.
pub const EPOCH: Family<u64> = Family::new("epoch/");
/// A query's result-line counter in its epoch.
pub const COUNTER: Family<u64> = Family::new("counter/");
/// A differential query's latest rows, to report what changed at its next run.
pub const RESULTS: Family<Vec<ResultRow>> = Family::new("results/");
/// A query's run statistics.
pub const STATS: Family<QueryStats> = Family::new("stats/");
/// The event tables a query's latest run read (only those hold event expiry back).
pub const READS: Family<TablesRead> = Family::new("reads/");
/// Until when (Unix seconds) a query is denylisted.
pub const DENYLIST: Family<i64> = Family::new("denylist/");
/// The scheduled query running now, kept before it runs: if the watchdog stops the worker
/// during the run, the next worker knows which query to blame.
pub const EXECUTING: Key<String> = Key::fixed(b"executing_query");

/// How far `query` has read `table`.
pub fn cursor(query: &str, table: EventTable) -> Key<Cursor> {
    Key::owned(format!("cursor/{query}/{}", table.name()).into_bytes())
}

/// One result row: columns in the query's order.
pub type ResultRow = serde_json::Map<String, serde_json::Value>;

json_state_value!(Vec<ResultRow>);

/// How far into an event table a query has read: the last row key `(key time, seq)` it read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cursor {
    pub time_ns: u64,
    pub seq: u64,
}

/// Cursors written by earlier versions (16 bytes) named the newest event time and the highest
/// sequence read, from a store whose keys were not in arrival order; they resume this far back,
/// skipping by sequence number, as those versions did.
const LEGACY_ARRIVAL_SLACK_NS: u64 = 60 * 1_000_000_000;
/// The encoding of [`Cursor`]: a version byte, then the key.
const CURSOR_V1: u8 = 1;

impl Cursor {
    /// The first key a scan resumes at: just after this one.
    pub fn next_key(&self) -> (u64, u64) {
        match self.seq.checked_add(1) {
            Some(seq) => (self.time_ns, seq),
            None => (self.time_ns.saturating_add(1), 0),
        }
    }
}

impl StateValue for Cursor {
    fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(17);
        out.push(CURSOR_V1);
        out.extend_from_slice(&self.time_ns.to_be_bytes());
        out.extend_from_slice(&self.seq.to_be_bytes());
        out
    }

    fn decode(bytes: &[u8]) -> Option<Self> {
        let (bytes, legacy) = match bytes.len() {
            16 => (bytes, true),
            17 if bytes[0] == CURSOR_V1 => (&bytes[1..], false),
            _ => return None,
        };
        let time: [u8; 8] = bytes.get(..8)?.try_into().ok()?;
        let seq: [u8; 8] = bytes.get(8..16)?.try_into().ok()?;
        let time_ns = u64::from_be_bytes(time);
        Some(Self {
            time_ns: if legacy {
                time_ns.saturating_sub(LEGACY_ARRIVAL_SLACK_NS)
            } else {
                time_ns
            },
            seq: u64::from_be_bytes(seq),
        })
    }
}

/// The event tables a run read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TablesRead(pub HashSet<EventTable>);

/// One bit per table, in `EventTable::ALL` order, eight bytes big-endian.
impl StateValue for TablesRead {
    fn encode(&self) -> Vec<u8> {
        let bits = EventTable::ALL
            .iter()
            .enumerate()
            .filter(|(_, t)| self.0.contains(t))
            .fold(0u64, |bits, (i, _)| bits | (1 << i));
        bits.to_be_bytes().to_vec()
    }

    fn decode(bytes: &[u8]) -> Option<Self> {
        let bits = u64::from_be_bytes(bytes.try_into().ok()?);
        Some(TablesRead(
            EventTable::ALL
                .iter()
                .enumerate()
                .filter(|(i, _)| bits & (1 << i) != 0)
                .map(|(_, t)| *t)
                .collect(),
        ))
    }
}

/// A query's run statistics, as `vigil_schedule` shows them. They restart when the query's SQL
/// or interval changes.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct QueryStats {
    pub query: String,
    pub interval: u64,
    pub executions: i64,
    /// Unix seconds.
    pub last_executed: i64,
    /// Bytes of result lines, in all.
    pub output_size: i64,
    pub wall_time_ms: i64,
    pub last_wall_time_ms: i64,
    /// CPU milliseconds, in all and in the latest run.
    pub user_time: i64,
    pub last_user_time: i64,
    pub system_time: i64,
    pub last_system_time: i64,
    /// Bytes the process grew by during a run: on average, and in the latest run.
    pub average_memory: i64,
    pub last_memory: i64,
}

json_state_value!(QueryStats);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_old_ones_resume_with_their_slack() {
        let cursor = Cursor {
            time_ns: 90_000_000_000,
            seq: 7,
        };
        assert_eq!(Cursor::decode(&cursor.encode()), Some(cursor));
        let mut legacy = 90_000_000_000u64.to_be_bytes().to_vec();
        legacy.extend_from_slice(&7u64.to_be_bytes());
        assert_eq!(
            Cursor::decode(&legacy),
            Some(Cursor {
                time_ns: 30_000_000_000,
                seq: 7
            })
        );
        assert_eq!(Cursor::decode(&[9; 17]), None);
        assert_eq!(Cursor::decode(&[1; 5]), None);
        assert_eq!(
            Cursor {
                time_ns: 3,
                seq: u64::MAX
            }
            .next_key(),
            (4, 0)
        );
    }
}
