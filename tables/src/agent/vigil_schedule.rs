//! `vigil_schedule` (alias `osquery_schedule`): each scheduled query with its run statistics, as
//! the scheduler stores them (so `vigil query --database_path` shows a running daemon's).

use std::sync::Arc;

use vigil_events::EventStore;
use vigil_state::schedule;

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
        // Hidden in osquery's intent ("deprecated"), but its spec leaves it a plain column, so
        // `SELECT *` shows it there too.
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
            out.push(
                ScheduleRow {
                    name: Value::Text(name),
                    query: Value::Text(stats.query),
                    interval: Value::Int(i64::try_from(stats.interval).unwrap_or(0)),
                    executions: Value::Int(stats.executions),
                    last_executed: Value::Int(stats.last_executed),
                    denylisted: Value::Int(is_denylisted),
                    output_size: Value::Int(stats.output_size),
                    wall_time: Value::Int(wall_ms / 1000),
                    wall_time_ms: Value::Int(wall_ms),
                    last_wall_time_ms: Value::Int(stats.last_wall_time_ms),
                    user_time: Value::Int(stats.user_time),
                    last_user_time: Value::Int(stats.last_user_time),
                    system_time: Value::Int(stats.system_time),
                    last_system_time: Value::Int(stats.last_system_time),
                    average_memory: Value::Int(stats.average_memory),
                    last_memory: Value::Int(stats.last_memory),
                    blacklisted: Value::Int(is_denylisted),
                }
                .into(),
            );
        }
        Ok(rows(out))
    }
}
