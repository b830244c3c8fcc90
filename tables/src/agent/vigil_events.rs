//! `vigil_events` (alias `osquery_events`): per event table, events seen and stored, every drop
//! by the stage where it happened, and whether this kernel can run the table's probes.

use std::sync::Arc;

use vigil_events::{Counters, EventStore, EventTable, Snapshot};

use crate::{
    row::table_row,
    table::{Column, Row, Rows, ScanRequest, Table, TableError, Value},
};

table_row! {
    struct EventTableRow {
        // osquery's columns.
        name: Text,
        publisher: Text,
        r#type: Text,
        subscriptions: Integer,
        events: Integer,
        refreshes: Integer,
        active: Integer,
        // Where events went, and where they were lost.
        seen: BigInt,
        stored: BigInt,
        dropped: BigInt,
        dropped_ring_buffer: BigInt,
        dropped_channel: BigInt,
        dropped_store: BigInt,
        malformed: BigInt,
        corrupt: BigInt,
        expired: BigInt,
        expired_unread: BigInt,
        lost_in_flight: BigInt,
        argv_truncated: BigInt,
        filtered: BigInt,
        kernel_lost: BigInt,
        kernel_buffers_lost: BigInt,
        incomplete: BigInt,
        buffered: BigInt,
        source: Text,
        // What the kernel allows: 1 when the table's probes run (all or some), 0 when none can;
        // the reason names what this kernel cannot do (empty when everything runs).
        available: Integer,
        unavailable_reason: Text,
    }
}

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
        EventTableRow::COLUMNS
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
            let row = EventTableRow {
                name: name.into(),
                publisher: table.publisher().into(),
                r#type: "subscriber".into(),
                subscriptions: 1u32.into(),
                events: values.stored.into(),
                refreshes: 0u32.into(),
                active: u32::from(active).into(),
                seen: values.seen.into(),
                stored: values.stored.into(),
                dropped: values.dropped().into(),
                dropped_ring_buffer: values.dropped_ring_buffer.into(),
                dropped_channel: values.dropped_channel.into(),
                dropped_store: values.dropped_store.into(),
                malformed: values.malformed.into(),
                corrupt: values.corrupt.into(),
                expired: values.expired.into(),
                expired_unread: values.expired_unread.into(),
                lost_in_flight: values.lost_in_flight.into(),
                argv_truncated: values.argv_truncated.into(),
                filtered: values.filtered.into(),
                kernel_lost: values.kernel_lost.into(),
                kernel_buffers_lost: values.kernel_buffers_lost.into(),
                incomplete: values.incomplete.into(),
                buffered: buffered.into(),
                source: source.into(),
                available: availability
                    .as_ref()
                    .map_or(Value::Null, |a| u32::from(a.available).into()),
                unavailable_reason: availability.map_or(Value::Null, |a| a.reason.into()),
            };
            rows.push(Ok(Row::from(row)));
        }
        Ok(Box::new(rows.into_iter()))
    }
}
