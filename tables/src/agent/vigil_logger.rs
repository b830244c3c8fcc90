//! `vigil_logger`: each log sink (filesystem, tls, syslog) with the lines waiting
//! for it and what became of the others: sent, failed attempts, and every line dropped, by
//! reason; and the same for distributed query results (`distributed`: results waiting for the
//! server).

use std::sync::Arc;

use vigil_events::EventStore;
use vigil_state::{
    distributed,
    logs::{self, Logger},
};

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
        for logger in Logger::ALL {
            let buffered = match logger.sink() {
                Some(sink) => logs::waiting_count(store, sink).map_err(fail)?,
                None => distributed::PENDING.count(store).map_err(fail)? as u64,
            };
            let stats = logs::stats(logger)
                .get(store)
                .map_err(fail)?
                .unwrap_or_default();
            let int = |n: u64| Value::Int(n as i64);
            out.push(
                LoggerRow {
                    name: Value::Text(logger.name().to_owned()),
                    buffered: int(buffered),
                    sent: int(stats.sent),
                    dropped: int(stats.dropped()),
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
