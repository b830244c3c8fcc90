//! `vigil_events` (alias `osquery_events`): per event table, events seen and stored, every drop
//! by the stage where it happened, and whether this kernel can run the table's probes.

use std::sync::Arc;

use vigil_events::{Counters, EventStore, EventTable, Snapshot};

use crate::table::{
    Column,
    ColumnType::{BigInt, Integer, Text},
    Row, Rows, ScanRequest, Table, TableError, Value,
};

const COLUMNS: &[Column] = &[
    // osquery's columns.
    Column::new("name", Text),
    Column::new("publisher", Text),
    Column::new("type", Text),
    Column::new("subscriptions", Integer),
    Column::new("events", Integer),
    Column::new("refreshes", Integer),
    Column::new("active", Integer),
    // Where events went, and where they were lost.
    Column::new("seen", BigInt),
    Column::new("stored", BigInt),
    Column::new("dropped", BigInt),
    Column::new("dropped_ring_buffer", BigInt),
    Column::new("dropped_channel", BigInt),
    Column::new("dropped_store", BigInt),
    Column::new("malformed", BigInt),
    Column::new("corrupt", BigInt),
    Column::new("expired", BigInt),
    Column::new("expired_unread", BigInt),
    Column::new("lost_in_flight", BigInt),
    Column::new("argv_truncated", BigInt),
    Column::new("filtered", BigInt),
    Column::new("buffered", BigInt),
    Column::new("source", Text),
    // What the kernel allows: 1 when the table's probes run (all or some), 0 when none can;
    // the reason names what this kernel cannot do (empty when everything runs).
    Column::new("available", Integer),
    Column::new("unavailable_reason", Text),
];

/// Where the collecting counters live.
pub enum CounterSource {
    /// This process runs the publishers: its own counters.
    Live,
    /// Another process (a daemon) collects: read what it saved in the store.
    Store,
    /// Nothing collects events here.
    None,
}

pub struct VigilEvents {
    counters: Counters,
    store: Option<Arc<EventStore>>,
    source: CounterSource,
}

impl VigilEvents {
    pub fn new(counters: Counters, store: Option<Arc<EventStore>>, source: CounterSource) -> Self {
        Self {
            counters,
            store,
            source,
        }
    }

    fn collected(&self) -> Result<(Snapshot, &'static str), TableError> {
        match self.source {
            CounterSource::Live => Ok((self.counters.snapshot(), "this process")),
            CounterSource::None => Ok((Vec::new(), "none")),
            CounterSource::Store => {
                let Some(store) = &self.store else {
                    return Ok((Vec::new(), "none"));
                };
                let fail = |e: vigil_events::StoreError| TableError::Failed {
                    table: "vigil_events",
                    message: e.to_string(),
                };
                store.catch_up().map_err(fail)?;
                Ok((
                    store.saved_counters().map_err(fail)?.unwrap_or_default(),
                    "daemon",
                ))
            }
        }
    }
}

impl Table for VigilEvents {
    fn name(&self) -> &'static str {
        "vigil_events"
    }

    fn aliases(&self) -> &'static [&'static str] {
        &["osquery_events"]
    }

    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }

    fn scan(&self, _request: &ScanRequest) -> Result<Rows, TableError> {
        let (collected, source) = self.collected()?;
        let stopped = match &self.store {
            Some(store) => vigil_state::daemon::COLLECTION_STOPPED
                .exists(store)
                .map_err(|e| TableError::Failed {
                    table: "vigil_events",
                    message: e.to_string(),
                })?,
            None => false,
        };
        let local = self.counters.snapshot();
        let mut rows: Vec<Result<Row, TableError>> = Vec::new();
        for table in EventTable::ALL {
            let name = table.name();
            let found = collected
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.clone());
            let availability = found.as_ref().and_then(|v| v.availability.clone());
            let active =
                found.is_some() && !stopped && availability.as_ref().is_none_or(|a| a.available);
            let mut values = found.unwrap_or_default();
            // Rows found corrupt by queries in this process count too.
            if !matches!(self.source, CounterSource::Live)
                && let Some((_, mine)) = local.iter().find(|(n, _)| n == name)
            {
                values.corrupt += mine.corrupt;
            }
            let buffered = self
                .store
                .as_ref()
                .filter(|s| !s.is_secondary())
                .map(|s| s.row_count(*table))
                .unwrap_or(values.stored.saturating_sub(values.expired));
            rows.push(Ok(vec![
                name.into(),
                table.publisher().into(),
                "subscriber".into(),
                1u32.into(),
                values.stored.into(),
                0u32.into(),
                u32::from(active).into(),
                values.seen.into(),
                values.stored.into(),
                values.dropped().into(),
                values.dropped_ring_buffer.into(),
                values.dropped_channel.into(),
                values.dropped_store.into(),
                values.malformed.into(),
                values.corrupt.into(),
                values.expired.into(),
                values.expired_unread.into(),
                values.lost_in_flight.into(),
                values.argv_truncated.into(),
                values.filtered.into(),
                buffered.into(),
                source.into(),
                availability
                    .as_ref()
                    .map_or(Value::Null, |a| u32::from(a.available).into()),
                availability.map_or(Value::Null, |a| a.reason.into()),
            ]));
        }
        Ok(Box::new(rows.into_iter()))
    }
}
