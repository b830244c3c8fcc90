//! `vigil_schedule` (alias `osquery_schedule`): each scheduled query with its run statistics, as
//! the scheduler stores them (so `vigil query --database_path` shows a running daemon's).

use std::sync::Arc;

use serde_json::Value as Json;
use vigil_events::EventStore;

use crate::{
    row::table_row,
    snapshot::util::rows,
    table::{Column, Rows, ScanRequest, Table, TableError, Value},
};

table_row! {
    struct ScheduleRow {
        name: Text,
        query: Text,
        interval: Integer,
        executions: BigInt,
        last_executed: BigInt,
        denylisted: Integer,
        output_size: BigInt,
        #[hidden]
        wall_time: BigInt,
        wall_time_ms: BigInt,
        last_wall_time_ms: BigInt,
        user_time: BigInt,
        last_user_time: BigInt,
        system_time: BigInt,
        last_system_time: BigInt,
        average_memory: BigInt,
        last_memory: BigInt,
        // osquery's older name for `denylisted`.
        #[hidden]
        blacklisted: Integer,
    }
}

/// The state key prefix the scheduler stores statistics under (`stats/<name>`).
pub const STATS_PREFIX: &str = "stats/";

/// The state key prefix of denylisted queries (`denylist/<name>`); the value is the end of the
/// denylisting, in Unix seconds, big-endian.
pub const DENYLIST_PREFIX: &str = "denylist/";

/// Until when (Unix seconds) a denylist entry's value keeps its query from running.
pub fn denylisted_until(value: &[u8]) -> Option<i64> {
    <[u8; 8]>::try_from(value).ok().map(i64::from_be_bytes)
}

pub struct VigilSchedule {
    store: Option<Arc<EventStore>>,
}

impl VigilSchedule {
    pub fn new(store: Option<Arc<EventStore>>) -> Self {
        Self { store }
    }
}

impl Table for VigilSchedule {
    fn name(&self) -> &'static str {
        "vigil_schedule"
    }

    fn aliases(&self) -> &'static [&'static str] {
        &["osquery_schedule"]
    }

    fn columns(&self) -> &'static [Column] {
        ScheduleRow::COLUMNS
    }

    fn scan(&self, _request: &ScanRequest) -> Result<Rows, TableError> {
        let Some(store) = super::daemon_state(&self.store, "vigil_schedule")? else {
            return Ok(rows(Vec::new()));
        };
        let fail = super::store_failed("vigil_schedule");
        let entries = store
            .state_with_prefix(STATS_PREFIX.as_bytes())
            .map_err(fail)?;
        let now = vigil_events::wall_clock::unix_seconds();
        let denylisted: std::collections::HashSet<String> = store
            .state_with_prefix(DENYLIST_PREFIX.as_bytes())
            .map_err(fail)?
            .into_iter()
            .filter(|(_, value)| denylisted_until(value).is_some_and(|until| until > now))
            .map(|(key, _)| String::from_utf8_lossy(&key[DENYLIST_PREFIX.len()..]).into_owned())
            .collect();
        let mut out = Vec::new();
        for (key, value) in entries {
            let name = String::from_utf8_lossy(&key[STATS_PREFIX.len()..]).into_owned();
            let Ok(stats) = serde_json::from_slice::<Json>(&value) else {
                continue;
            };
            let int = |field: &str| Value::Int(stats[field].as_i64().unwrap_or(0));
            let wall_ms = stats["wall_time_ms"].as_i64().unwrap_or(0);
            let is_denylisted = i64::from(denylisted.contains(&name));
            out.push(
                ScheduleRow {
                    name: Value::Text(name),
                    query: Value::Text(stats["query"].as_str().unwrap_or_default().to_owned()),
                    interval: int("interval"),
                    executions: int("executions"),
                    last_executed: int("last_executed"),
                    denylisted: Value::Int(is_denylisted),
                    output_size: int("output_size"),
                    wall_time: Value::Int(wall_ms / 1000),
                    wall_time_ms: Value::Int(wall_ms),
                    last_wall_time_ms: int("last_wall_time_ms"),
                    user_time: int("user_time"),
                    last_user_time: int("last_user_time"),
                    system_time: int("system_time"),
                    last_system_time: int("last_system_time"),
                    average_memory: int("average_memory"),
                    last_memory: int("last_memory"),
                    blacklisted: Value::Int(is_denylisted),
                }
                .into(),
            );
        }
        Ok(rows(out))
    }
}
