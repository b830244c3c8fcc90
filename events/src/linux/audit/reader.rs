//! Reading the records on a thread of its own: each record is parsed and grouped into its event,
//! each event made a row and sent to the store; every second, events whose end never came are
//! flushed and the kernel's `lost` counter is read. When the thread ends, the host's audit
//! configuration is put back.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use crossbeam_channel::{Sender, TrySendError};

use super::{
    assemble::{Assembled, Assembler},
    events::{Interest, Mapped, ReadAt, map},
    host::SharedHost,
    netlink::{AUDIT_REPLACE, AuditSocket},
    record,
    source::SOURCE,
};
use crate::{
    counters::{Counters, TableCounters},
    event_table::{Event, EventTable},
    in_flight::InFlightLedger,
    publisher::{EventBatch, Outlet},
};

/// How long an event waits for its end-of-event record before it is stored as it is.
const EVENT_TIMEOUT: Duration = Duration::from_secs(2);
/// Events assembled at once, at most (the oldest is flushed past it).
const MAX_OPEN_EVENTS: usize = 4096;
const TICK: Duration = Duration::from_secs(1);
/// Warnings about losses are logged at most this often.
const WARN_EVERY: Duration = Duration::from_secs(60);

pub(super) struct Reader {
    socket: AuditSocket,
    host: SharedHost,
    interest: Interest,
    assembler: Assembler,
    sink: Sender<EventBatch>,
    counters: Counters,
    ledger: Option<Arc<InFlightLedger>>,
    stop: Arc<AtomicBool>,
    /// Losses since the last warning, and when it was.
    unreported_lost: u64,
    unreported_dropped: u64,
    last_warning: Option<Instant>,
    warned_ownership: bool,
}

impl Reader {
    pub fn new(
        socket: AuditSocket,
        host: SharedHost,
        interest: Interest,
        outlet: Outlet,
        stop: Arc<AtomicBool>,
    ) -> Self {
        Self {
            socket,
            host,
            interest,
            assembler: Assembler::new(EVENT_TIMEOUT, MAX_OPEN_EVENTS),
            sink: outlet.sink,
            counters: outlet.counters,
            ledger: outlet.ledger,
            stop,
            unreported_lost: 0,
            unreported_dropped: 0,
            last_warning: None,
            warned_ownership: false,
        }
    }

    /// Reads until the stop flag is set, then stores what is assembled; the host is put back
    /// when the last publisher holding it (this one, unless a newer one started) lets go.
    pub fn run(mut self) {
        let mut next_tick = Instant::now() + TICK;
        while !self.stop.load(Ordering::Relaxed) {
            match self.socket.receive(Duration::from_millis(200)) {
                Ok(messages) => {
                    for message in messages {
                        self.on_message(message.kind, &message.payload);
                    }
                }
                // The socket's buffer overflowed: the kernel dropped records for vigil.
                Err(error) if error.raw_os_error() == Some(libc::ENOBUFS) => {
                    self.count_lost(1);
                }
                Err(error) => {
                    tracing::error!(%error, "reading audit records failed; audit collection stops");
                    break;
                }
            }
            let now = Instant::now();
            if now >= next_tick {
                next_tick = now + TICK;
                for event in self.assembler.expire(now) {
                    self.on_event(&event);
                }
                self.poll_host();
            }
        }
        for event in self.assembler.drain() {
            self.on_event(&event);
        }
    }

    fn on_message(&mut self, kind: u16, payload: &[u8]) {
        // Control answers and the kernel's "are you alive" have no records.
        if kind < 1100 || kind == AUDIT_REPLACE {
            return;
        }
        match record::parse(kind, payload) {
            Ok(record) => {
                for event in self.assembler.push(record, Instant::now()) {
                    self.on_event(&event);
                }
            }
            Err(error) => {
                tracing::debug!(%error, kind, "an audit record that does not parse; skipped");
            }
        }
    }

    fn table(&self, table: EventTable) -> Arc<TableCounters> {
        self.counters
            .table(table.name())
            .cloned()
            .unwrap_or_default()
    }

    fn on_event(&mut self, assembled: &Assembled) {
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
                // One event per batch: audit events come at the rate of the audited calls, far
                // below what the batched channel is sized for.
                match self.sink.try_send(vec![event]) {
                    Ok(()) => {}
                    Err(TrySendError::Full(_)) => {
                        TableCounters::add(&counters.dropped_channel, 1);
                        TableCounters::add(&counters.resolved, 1);
                        self.unreported_dropped += 1;
                    }
                    Err(TrySendError::Disconnected(_)) => {
                        TableCounters::add(&counters.resolved, 1);
                        self.stop.store(true, Ordering::Relaxed);
                    }
                }
            }
        }
    }

    fn count_lost(&mut self, lost: u64) {
        if lost == 0 {
            return;
        }
        for &table in SOURCE.tables {
            TableCounters::add(&self.table(table).kernel_lost, lost);
        }
        self.unreported_lost += lost;
    }

    fn poll_host(&mut self) {
        let polled = self
            .host
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .poll();
        match polled {
            Ok((lost, still_owner)) => {
                self.count_lost(lost);
                if !still_owner && !self.warned_ownership {
                    self.warned_ownership = true;
                    tracing::warn!(
                        "another process took the audit pid over: records go to it now, and \
                         vigil's audit tables get none until vigil restarts"
                    );
                }
            }
            Err(error) => tracing::debug!(%error, "the audit status could not be read"),
        }
        let due = self
            .last_warning
            .is_none_or(|at| at.elapsed() >= WARN_EVERY);
        if due && (self.unreported_lost > 0 || self.unreported_dropped > 0) {
            tracing::warn!(
                kernel_lost = self.unreported_lost,
                dropped_channel = self.unreported_dropped,
                "audit events were lost: the kernel's backlog was full (vigil_events.kernel_lost; \
                 --audit_backlog_limit raises it), or the store could not keep up and vigil \
                 dropped them rather than make the kernel wait (vigil_events.dropped_channel)"
            );
            self.unreported_lost = 0;
            self.unreported_dropped = 0;
            self.last_warning = Some(Instant::now());
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
