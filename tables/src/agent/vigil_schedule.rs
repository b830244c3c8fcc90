//! `vigil_schedule` (alias `osquery_schedule`): each scheduled query with its run statistics, as
//! the scheduler stores them (so `vigil query --database_path` shows a running daemon's).

use std::sync::Arc;

use vigil_events::EventStore;
use vigil_state::schedule;

use crate::{
    snapshot::util::rows,
    table::{
        Column,
        ColumnType::{BigInt, Integer, Text},
        Rows, ScanRequest, Table, TableError, Value,
    },
};

const COLUMNS: &[Column] = &[
    Column::new("name", Text),
    Column::new("query", Text),
    Column::new("interval", Integer),
    Column::new("executions", BigInt),
    Column::new("last_executed", BigInt),
    Column::new("denylisted", Integer),
    Column::new("output_size", BigInt),
    Column::hidden("wall_time", BigInt),
    Column::new("wall_time_ms", BigInt),
    Column::new("last_wall_time_ms", BigInt),
    Column::new("user_time", BigInt),
    Column::new("last_user_time", BigInt),
    Column::new("system_time", BigInt),
    Column::new("last_system_time", BigInt),
    Column::new("average_memory", BigInt),
    Column::new("last_memory", BigInt),
    // osquery's older name for `denylisted`.
    Column::hidden("blacklisted", Integer),
];

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
        COLUMNS
    }

    fn scan(&self, _request: &ScanRequest) -> Result<Rows, TableError> {
        let Some(store) = super::daemon_state(&self.store, "vigil_schedule")? else {
            return Ok(rows(Vec::new()));
        };
        let fail = super::store_failed("vigil_schedule");
        let entries = schedule::STATS.all(store).map_err(fail)?;
        let now = vigil_events::wall_clock::unix_seconds();
        let denylisted: std::collections::HashSet<String> = schedule::DENYLIST
            .all(store)
            .map_err(fail)?
            .into_iter()
            .filter(|(_, until)| *until > now)
            .map(|(name, _)| name)
            .collect();
        let mut out = Vec::new();
        for (name, stats) in entries {
            let wall_ms = stats.wall_time_ms;
            let is_denylisted = i64::from(denylisted.contains(&name));
            out.push(vec![
                Value::Text(name),
                Value::Text(stats.query),
                Value::Int(i64::try_from(stats.interval).unwrap_or(0)),
                Value::Int(stats.executions),
                Value::Int(stats.last_executed),
                Value::Int(is_denylisted),
                Value::Int(stats.output_size),
                Value::Int(wall_ms / 1000),
                Value::Int(wall_ms),
                Value::Int(stats.last_wall_time_ms),
                Value::Int(stats.user_time),
                Value::Int(stats.last_user_time),
                Value::Int(stats.system_time),
                Value::Int(stats.last_system_time),
                Value::Int(stats.average_memory),
                Value::Int(stats.last_memory),
                Value::Int(is_denylisted),
            ]);
        }
        Ok(rows(out))
    }
}
