//! `vigil_logger`: each log sink (filesystem, tls) with the lines waiting for it and what became
//! of the others: sent, failed attempts, and every line dropped, by reason; and the same for
//! distributed query results (`distributed`: results waiting for the server).

use std::sync::Arc;

use vigil_events::{EventStore, store::log_sink};

use crate::{
    row::table_row,
    snapshot::util::rows,
    table::{Column, Rows, ScanRequest, Table, TableError, Value},
};

table_row! {
    struct LoggerRow {
        name: Text,
        buffered: BigInt,
        sent: BigInt,
        dropped: BigInt,
        dropped_buffer_max: BigInt,
        dropped_oversize: BigInt,
        dropped_invalid: BigInt,
        dropped_rejected: BigInt,
        failed_attempts: BigInt,
        last_error: Text,
    }
}

/// What a sink reports about itself, kept in the store's state (`logger_stats/<sink>`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct LoggerStats {
    pub sent: u64,
    /// Oldest lines dropped to stay within `--buffered_log_max`.
    pub dropped_buffer_max: u64,
    /// Lines longer than `--logger_tls_max_linesize`.
    pub dropped_oversize: u64,
    /// Lines that were not a JSON object.
    pub dropped_invalid: u64,
    /// Distributed results the server refused too many times.
    pub dropped_rejected: u64,
    pub failed_attempts: u64,
    pub last_error: String,
}

/// Where distributed query results wait for the server, one state key each (`<prefix><id>`).
pub const DISTRIBUTED_PENDING_PREFIX: &str = "distributed/";

pub fn stats_key(sink: &str) -> Vec<u8> {
    format!("logger_stats/{sink}").into_bytes()
}

pub struct VigilLogger {
    store: Option<Arc<EventStore>>,
}

impl VigilLogger {
    pub fn new(store: Option<Arc<EventStore>>) -> Self {
        Self { store }
    }
}

impl Table for VigilLogger {
    fn name(&self) -> &'static str {
        "vigil_logger"
    }

    fn columns(&self) -> &'static [Column] {
        LoggerRow::COLUMNS
    }

    fn scan(&self, _request: &ScanRequest) -> Result<Rows, TableError> {
        let Some(store) = super::daemon_state(&self.store, "vigil_logger")? else {
            return Ok(rows(Vec::new()));
        };
        let fail = super::store_failed("vigil_logger");
        let mut out = Vec::new();
        for (name, sink) in [
            ("filesystem", Some(log_sink::FILESYSTEM)),
            ("tls", Some(log_sink::TLS)),
            ("distributed", None),
        ] {
            let buffered = match sink {
                Some(sink) => store.buffered_count(sink).map_err(fail)?,
                None => store
                    .state_with_prefix(DISTRIBUTED_PENDING_PREFIX.as_bytes())
                    .map_err(fail)?
                    .len() as u64,
            };
            let stats: LoggerStats = store
                .get_state(&stats_key(name))
                .map_err(fail)?
                .and_then(|b| serde_json::from_slice(&b).ok())
                .unwrap_or_default();
            let int = |n: u64| Value::Int(n as i64);
            let dropped = stats.dropped_buffer_max
                + stats.dropped_oversize
                + stats.dropped_invalid
                + stats.dropped_rejected;
            out.push(
                LoggerRow {
                    name: Value::Text(name.to_owned()),
                    buffered: int(buffered),
                    sent: int(stats.sent),
                    dropped: int(dropped),
                    dropped_buffer_max: int(stats.dropped_buffer_max),
                    dropped_oversize: int(stats.dropped_oversize),
                    dropped_invalid: int(stats.dropped_invalid),
                    dropped_rejected: int(stats.dropped_rejected),
                    failed_attempts: int(stats.failed_attempts),
                    last_error: Value::Text(stats.last_error),
                }
                .into(),
            );
        }
        Ok(rows(out))
    }
}
