//! What a publisher that maps its events in user space (ETW, Endpoint Security) does with each
//! one: counts it, records it in the in-flight ledger, sends it to the store writer in batches,
//! and counts what it cannot send, what does not map, and what the platform says it dropped.

use std::{
    fmt::Display,
    sync::{Arc, atomic::Ordering},
};

use crossbeam_channel::{Sender, TrySendError};

use crate::{
    counters::{Counters, TableCounters},
    event_table::{Event, EventTable},
    in_flight::InFlightLedger,
    publisher::{BATCH_EVENTS, EventBatch, Outlet},
};

/// Whether the store writer still listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Open,
    /// The writer is gone (the worker is stopping): the publisher stops too.
    Closed,
}

pub struct Forwarder {
    sink: Sender<EventBatch>,
    counters: Counters,
    ledger: Option<Arc<InFlightLedger>>,
    batch: EventBatch,
}

impl Forwarder {
    pub fn new(outlet: Outlet) -> Self {
        Self {
            sink: outlet.sink,
            counters: outlet.counters,
            ledger: outlet.ledger,
            batch: Vec::with_capacity(BATCH_EVENTS),
        }
    }

    fn table(&self, table: EventTable) -> Arc<TableCounters> {
        self.counters
            .table(table.name())
            .cloned()
            .unwrap_or_default()
    }

    /// Takes one event; a full batch goes to the writer at once.
    pub fn event(&mut self, event: Event) -> Delivery {
        let table = event.table();
        if let Some(ledger) = &self.ledger {
            ledger.take(table);
        }
        TableCounters::add(&self.table(table).seen, 1);
        self.batch.push(event);
        if self.batch.len() >= BATCH_EVENTS {
            self.flush()
        } else {
            Delivery::Open
        }
    }

    /// Sends what waits; a batch that finds the channel full is dropped whole, and counted.
    pub fn flush(&mut self) -> Delivery {
        if self.batch.is_empty() {
            return Delivery::Open;
        }
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH_EVENTS));
        match self.sink.try_send(batch) {
            Ok(()) => Delivery::Open,
            Err(TrySendError::Full(batch)) => {
                for event in &batch {
                    let counters = self.table(event.table());
                    TableCounters::add(&counters.dropped_channel, 1);
                    TableCounters::add(&counters.resolved, 1);
                }
                Delivery::Open
            }
            Err(TrySendError::Disconnected(batch)) => {
                for event in &batch {
                    TableCounters::add(&self.table(event.table()).resolved, 1);
                }
                Delivery::Closed
            }
        }
    }

    /// A platform record for `table` that makes no row: counted, and logged now and then.
    pub fn malformed(&self, table: EventTable, reason: &dyn Display) {
        if let Some(ledger) = &self.ledger {
            ledger.take(table);
        }
        let counters = self.table(table);
        TableCounters::add(&counters.resolved, 1);
        let before = counters.malformed.fetch_add(1, Ordering::Relaxed);
        if before.is_power_of_two() || before == 0 {
            tracing::warn!(
                table = table.name(),
                %reason,
                malformed_so_far = before + 1,
                "a platform event that makes no row; skipped and counted"
            );
        }
    }

    /// Events the platform says it dropped before vigil saw them, which it does not attribute
    /// to a table: every table of the publisher shows them.
    pub fn platform_lost(&self, tables: &[EventTable], lost: u64) {
        if lost == 0 {
            return;
        }
        for &table in tables {
            TableCounters::add(&self.table(table).kernel_lost, lost);
        }
    }

    /// Buffers of events the platform lost (ETW's `RealTimeBuffersLost`), which it does not
    /// attribute to a table: every table of the publisher shows them, apart from events.
    pub fn platform_buffers_lost(&self, tables: &[EventTable], lost: u64) {
        if lost == 0 {
            return;
        }
        for &table in tables {
            TableCounters::add(&self.table(table).kernel_buffers_lost, lost);
        }
    }

    /// Events the platform could not buffer (its buffers were full).
    pub fn buffer_lost(&self, tables: &[EventTable], lost: u64) {
        if lost == 0 {
            return;
        }
        for &table in tables {
            TableCounters::add(&self.table(table).dropped_ring_buffer, lost);
        }
    }
}

impl Drop for Forwarder {
    fn drop(&mut self) {
        let _ = self.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::UserEvent;

    fn user_event(n: u64) -> Event {
        Event::User(UserEvent {
            time_ns: n,
            audit_id: n,
            message_type: 1112,
            pid: 1,
            uid: 0,
            auid: 0,
            session: 0,
            message: String::new(),
            path: String::new(),
            address: String::new(),
            terminal: String::new(),
            hostname: String::new(),
            result: String::new(),
            uptime: 0,
        })
    }

    fn outlet(capacity: usize) -> (Outlet, crossbeam_channel::Receiver<EventBatch>, Counters) {
        let (sink, receiver) = crossbeam_channel::bounded(capacity);
        let counters = Counters::new(&EventTable::names());
        (
            Outlet {
                sink,
                counters: counters.clone(),
                ledger: None,
            },
            receiver,
            counters,
        )
    }

    fn values(counters: &Counters, table: EventTable) -> crate::counters::CounterValues {
        counters.table(table.name()).expect("table").values()
    }

    #[test]
    fn events_go_in_batches_and_a_full_channel_drops_and_counts_a_batch() {
        let (outlet, receiver, counters) = outlet(1);
        let mut forwarder = Forwarder::new(outlet);
        for n in 0..BATCH_EVENTS as u64 {
            assert_eq!(forwarder.event(user_event(n)), Delivery::Open);
        }
        assert_eq!(receiver.len(), 1, "a full batch is sent at once");
        forwarder.event(user_event(1_000));
        assert_eq!(forwarder.flush(), Delivery::Open);
        let table = values(&counters, EventTable::UserEvents);
        assert_eq!(table.seen, BATCH_EVENTS as u64 + 1);
        assert_eq!(table.dropped_channel, 1);
        assert_eq!(receiver.try_recv().map(|b| b.len()), Ok(BATCH_EVENTS));
        drop(receiver);
        forwarder.event(user_event(2_000));
        assert_eq!(forwarder.flush(), Delivery::Closed);
    }

    #[test]
    fn losses_the_platform_reports_and_unmappable_records_are_counted() {
        let (outlet, _receiver, counters) = outlet(4);
        let forwarder = Forwarder::new(outlet);
        let tables = [EventTable::ProcessEvents, EventTable::UserEvents];
        forwarder.platform_lost(&tables, 3);
        forwarder.platform_buffers_lost(&tables, 2);
        forwarder.buffer_lost(&tables, 5);
        forwarder.malformed(EventTable::UserEvents, &"no such property");
        for table in tables {
            let values = values(&counters, table);
            assert_eq!(values.kernel_lost, 3, "events only, not buffers");
            assert_eq!(values.kernel_buffers_lost, 2);
            assert_eq!(values.dropped_ring_buffer, 5);
        }
        assert_eq!(values(&counters, EventTable::UserEvents).malformed, 1);
        assert_eq!(values(&counters, EventTable::SocketEvents).kernel_lost, 0);
    }
}
