//! `vigil_logger`: each log sink (filesystem, tls) with the lines waiting for it and what became
//! of the others: sent, failed attempts, and every line dropped, by reason; and the same for
//! distributed query results (`distributed`: results waiting for the server).

use std::sync::Arc;

use vigil_events::EventStore;
use vigil_state::{
    distributed,
    logs::{self, Logger},
};

use crate::{
    snapshot::util::rows,
    table::{
        Column,
        ColumnType::{BigInt, Text},
        Rows, ScanRequest, Table, TableError, Value,
    },
};

const COLUMNS: &[Column] = &[
    Column::new("name", Text),
    Column::new("buffered", BigInt),
    Column::new("sent", BigInt),
    Column::new("dropped", BigInt),
    Column::new("dropped_buffer_max", BigInt),
    Column::new("dropped_oversize", BigInt),
    Column::new("dropped_invalid", BigInt),
    Column::new("dropped_rejected", BigInt),
    Column::new("failed_attempts", BigInt),
    Column::new("last_error", Text),
];

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
        COLUMNS
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
            let dropped = stats.dropped();
            out.push(vec![
                Value::Text(logger.name().to_owned()),
                int(buffered),
                int(stats.sent),
                int(dropped),
                int(stats.dropped_buffer_max),
                int(stats.dropped_oversize),
                int(stats.dropped_invalid),
                int(stats.dropped_rejected),
                int(stats.failed_attempts),
                Value::Text(stats.last_error),
            ]);
        }
        Ok(rows(out))
    }
}
