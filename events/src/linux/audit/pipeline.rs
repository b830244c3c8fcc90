//! Records in, batches of rows out, without I/O: each record is parsed and grouped into its event,
//! each event made a row and put in the batch for the store writer, which travels when it is
//! full ([`BATCH_EVENTS`]) or when the reader finds nothing more waiting on the socket (so a lone
//! event is not held back). What becomes of each event is counted in its table.

use std::{
    sync::{Arc, atomic::Ordering},
    time::{Duration, Instant},
};

use crossbeam_channel::{Sender, TrySendError};

use super::{
    assemble::{Assembled, Assembler},
    events::{Interest, Mapped, ReadAt, map},
    netlink::AUDIT_REPLACE,
    record,
};
use crate::{
    counters::{Counters, TableCounters},
    event_table::{Event, EventTable},
    in_flight::InFlightLedger,
    publisher::{BATCH_EVENTS, EventBatch, Outlet},
};

/// How long an event waits for its end-of-event record before it is stored as it is.
pub const EVENT_TIMEOUT: Duration = Duration::from_secs(2);
/// Events assembled at once, at most (the oldest is flushed past it).
const MAX_OPEN_EVENTS: usize = 4096;

pub(super) struct Pipeline {
    interest: Interest,
    assembler: Assembler,
    batch: EventBatch,
    sink: Sender<EventBatch>,
    counters: Counters,
    ledger: Option<Arc<InFlightLedger>>,
    /// Events dropped on a full channel since the reader last asked, for its warning.
    unreported_dropped: u64,
    writer_gone: bool,
}

impl Pipeline {
    pub fn new(interest: Interest, outlet: Outlet) -> Self {
        Self {
            interest,
            assembler: Assembler::new(EVENT_TIMEOUT, MAX_OPEN_EVENTS),
            batch: Vec::with_capacity(BATCH_EVENTS),
            sink: outlet.sink,
            counters: outlet.counters,
            ledger: outlet.ledger,
            unreported_dropped: 0,
            writer_gone: false,
        }
    }

    /// One netlink message from the kernel, received at `now`.
    pub fn message(&mut self, kind: u16, payload: &[u8], now: Instant) {
        // Control answers and the kernel's "are you alive" have no records.
        if kind < 1100 || kind == AUDIT_REPLACE {
            return;
        }
        match record::parse(kind, payload) {
            Ok(record) => {
                for event in self.assembler.push(record, now) {
                    self.event(&event);
                }
            }
            Err(error) => {
                tracing::debug!(%error, kind, "an audit record that does not parse; skipped");
            }
        }
    }

    /// Events whose end-of-event record did not come within [`EVENT_TIMEOUT`] of their first
    /// record go into the batch as they are (marked, and counted as incomplete).
    pub fn expire(&mut self, now: Instant) {
        for event in self.assembler.expire(now) {
            self.event(&event);
        }
    }

    /// Every open event into the batch, and the batch to the store writer, as at a stop.
    pub fn drain(&mut self) {
        for event in self.assembler.drain() {
            self.event(&event);
        }
        self.flush();
    }

    /// Whether rows wait in the batch.
    pub fn holds_rows(&self) -> bool {
        !self.batch.is_empty()
    }

    /// Whether the store writer is gone (nothing more can be stored: reading should stop).
    pub fn writer_gone(&self) -> bool {
        self.writer_gone
    }

    /// Events dropped on a full channel since the last call.
    pub fn take_unreported_dropped(&mut self) -> u64 {
        std::mem::take(&mut self.unreported_dropped)
    }

    /// Sends the batch to the store writer. One that finds the channel full is dropped whole and
    /// each of its events counted in its table (`dropped_channel`): vigil drops rather than make
    /// the kernel, and so the host, wait.
    pub fn flush(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH_EVENTS));
        match self.sink.try_send(batch) {
            Ok(()) => {}
            Err(TrySendError::Full(mut batch)) => {
                for event in &batch {
                    let counters = self.table(event.table());
                    TableCounters::add(&counters.dropped_channel, 1);
                    TableCounters::add(&counters.resolved, 1);
                }
                self.unreported_dropped += batch.len() as u64;
                // The allocation serves the next batch.
                batch.clear();
                self.batch = batch;
            }
            Err(TrySendError::Disconnected(batch)) => {
                for event in &batch {
                    TableCounters::add(&self.table(event.table()).resolved, 1);
                }
                self.writer_gone = true;
            }
        }
    }

    fn table(&self, table: EventTable) -> Arc<TableCounters> {
        self.counters
            .table(table.name())
            .cloned()
            .unwrap_or_default()
    }

    fn event(&mut self, assembled: &Assembled) {
        let at = ReadAt {
            uptime: uptime_seconds(),
        };
        match map(assembled, &self.interest, at) {
            Mapped::Skipped => {}
            Mapped::Malformed(table, reason) => {
                if let Some(ledger) = &self.ledger {
                    ledger.take(table);
                }
                let counters = self.table(table);
                TableCounters::add(&counters.resolved, 1);
                let seen = counters.malformed.fetch_add(1, Ordering::Relaxed);
                if seen.is_power_of_two() {
                    tracing::warn!(
                        reason,
                        malformed_so_far = seen + 1,
                        "an audit event that makes no row; skipped and counted"
                    );
                }
            }
            Mapped::Event(mut event) => {
                let table = event.table();
                if let Some(ledger) = &self.ledger {
                    ledger.take(table);
                }
                let counters = self.table(table);
                if let Event::AuditProcess(process) = &mut event {
                    file_times(process);
                }
                if !assembled.complete {
                    TableCounters::add(&counters.incomplete, 1);
                }
                TableCounters::add(&counters.seen, 1);
                self.batch.push(event);
                if self.batch.len() >= BATCH_EVENTS {
                    self.flush();
                }
            }
        }
    }
}

/// The executable's times, as osquery adds them when the row is made.
fn file_times(process: &mut crate::event_table::audit::AuditProcessEvent) {
    use std::os::unix::fs::MetadataExt as _;
    if let Ok(meta) = std::fs::metadata(&process.path) {
        process.atime = meta.atime();
        process.mtime = meta.mtime();
        process.ctime = meta.ctime();
    }
}

fn uptime_seconds() -> u64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec.
    let done = unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &raw mut now) };
    if done != 0 {
        return 0;
    }
    u64::try_from(now.tv_sec).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn interest() -> Interest {
        Interest {
            process_events: true,
            socket_events: true,
            accept_events: true,
            failed_socket_events: false,
            unix_socket_events: true,
            user_events: true,
            own_pid: 1,
        }
    }

    fn pipeline(capacity: usize) -> (Pipeline, Counters, crossbeam_channel::Receiver<EventBatch>) {
        let (sink, batches) = crossbeam_channel::bounded(capacity);
        let counters = Counters::new(&["process_events", "socket_events", "user_events"]);
        let outlet = Outlet {
            sink,
            counters: counters.clone(),
            ledger: None,
        };
        (Pipeline::new(interest(), outlet), counters, batches)
    }

    /// The records of a successful connect to 127.0.0.1:8080, audit event `serial`.
    fn connect(serial: u64, end: bool) -> Vec<(u16, String)> {
        let mut records = vec![
            (
                1300,
                format!(
                    "audit(1.000:{serial}): arch=c000003e syscall=42 success=yes exit=0 a0=3 \
                     a1=0 a2=0 a3=0 items=0 ppid=1 pid=2 auid=0 uid=0 gid=0 euid=0 suid=0 \
                     fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=1 comm=\"a\" exe=\"/a\" \
                     key=\"vigil\""
                ),
            ),
            (
                1306,
                format!("audit(1.000:{serial}): saddr=02001F907F000001"),
            ),
        ];
        if end {
            records.push((1320, format!("audit(1.000:{serial}): ")));
        }
        records
    }

    fn feed(pipeline: &mut Pipeline, records: &[(u16, String)], now: Instant) {
        for (kind, text) in records {
            pipeline.message(*kind, text.as_bytes(), now);
        }
    }

    fn sizes(batches: &crossbeam_channel::Receiver<EventBatch>) -> Vec<usize> {
        batches.try_iter().map(|batch| batch.len()).collect()
    }

    #[test]
    fn a_burst_travels_in_full_batches_and_a_lone_event_as_soon_as_the_socket_is_idle() {
        let (mut pipeline, counters, batches) = pipeline(16);
        let now = Instant::now();
        let burst = BATCH_EVENTS + 44;
        for serial in 0..burst as u64 {
            feed(&mut pipeline, &connect(serial, true), now);
        }
        assert_eq!(sizes(&batches), [BATCH_EVENTS], "one full batch so far");
        assert!(pipeline.holds_rows());
        // The reader found the socket idle.
        pipeline.flush();
        assert_eq!(sizes(&batches), [44]);
        assert!(!pipeline.holds_rows());

        feed(&mut pipeline, &connect(1000, true), now);
        pipeline.flush();
        let lone = batches
            .try_recv()
            .expect("the lone event is sent at the first idle");
        assert_eq!(lone.len(), 1);
        let seen = counters
            .table("socket_events")
            .expect("counters")
            .values()
            .seen;
        assert_eq!(seen, burst as u64 + 1);
    }

    #[test]
    fn a_batch_that_finds_the_channel_full_is_dropped_and_each_event_counted() {
        let (mut pipeline, counters, batches) = pipeline(1);
        let now = Instant::now();
        for serial in 0..(2 * BATCH_EVENTS + 3) as u64 {
            feed(&mut pipeline, &connect(serial, true), now);
        }
        pipeline.flush();
        let socket = counters.table("socket_events").expect("counters").values();
        assert_eq!(socket.dropped_channel, BATCH_EVENTS as u64 + 3);
        assert_eq!(socket.resolved, BATCH_EVENTS as u64 + 3);
        assert_eq!(pipeline.take_unreported_dropped(), BATCH_EVENTS as u64 + 3);
        assert_eq!(pipeline.take_unreported_dropped(), 0);
        assert_eq!(
            sizes(&batches),
            [BATCH_EVENTS],
            "the first batch got through"
        );
        assert!(!pipeline.writer_gone());
        drop(batches);
        feed(&mut pipeline, &connect(9999, true), now);
        pipeline.flush();
        assert!(pipeline.writer_gone());
    }

    #[test]
    fn an_event_whose_end_never_came_is_stored_after_the_timeout_and_counted() {
        let (mut pipeline, counters, batches) = pipeline(4);
        let start = Instant::now();
        feed(&mut pipeline, &connect(7, false), start);
        pipeline.expire(start + EVENT_TIMEOUT - Duration::from_millis(1));
        pipeline.flush();
        assert!(sizes(&batches).is_empty(), "it still waits for its end");
        pipeline.expire(start + EVENT_TIMEOUT);
        pipeline.flush();
        let batch = batches.try_recv().expect("flushed after the timeout");
        let [Event::AuditSocket(connect)] = batch.as_slice() else {
            panic!("one socket event: {batch:?}");
        };
        assert!(connect.incomplete);
        assert_eq!(
            (connect.remote_address.as_str(), connect.remote_port),
            ("127.0.0.1", 8080)
        );
        let socket = counters.table("socket_events").expect("counters").values();
        assert_eq!((socket.incomplete, socket.seen), (1, 1));
    }
}
