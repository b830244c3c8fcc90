//! Reading the records on a thread of its own: what the socket brings goes through the
//! [`Pipeline`], whose batch travels to the store when it is full or when nothing more waits on
//! the socket; every second, events whose end never came are flushed and the kernel's `lost`
//! counter is read. When the thread ends, the host's audit configuration is put back.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use super::{
    events::Interest,
    host::SharedHost,
    lost::{AUDIT_CONFIG_CHANGE, cleared_by_reset},
    netlink::AuditSocket,
    pipeline::Pipeline,
    source::SOURCE,
};
use crate::{
    counters::{Counters, TableCounters},
    event_table::EventTable,
    publisher::Outlet,
};

const TICK: Duration = Duration::from_secs(1);
/// How long the reader waits for a record when it holds none.
const IDLE_WAIT: Duration = Duration::from_millis(200);
/// Warnings about losses are logged at most this often.
const WARN_EVERY: Duration = Duration::from_secs(60);

pub(super) struct Reader {
    socket: AuditSocket,
    host: SharedHost,
    pipeline: Pipeline,
    counters: Counters,
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
            counters: outlet.counters.clone(),
            pipeline: Pipeline::new(interest, outlet),
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
        while !self.stop.load(Ordering::Relaxed) && !self.pipeline.writer_gone() {
            // Holding rows, only look whether more wait: the batch goes once none does.
            let wait = if self.pipeline.holds_rows() {
                Duration::ZERO
            } else {
                IDLE_WAIT
            };
            match self.socket.receive(wait) {
                Ok(messages) if messages.is_empty() => self.pipeline.flush(),
                Ok(messages) => {
                    let now = Instant::now();
                    for message in messages {
                        if message.kind == AUDIT_CONFIG_CHANGE
                            && let Some(old) = cleared_by_reset(&message.payload)
                        {
                            self.host
                                .lock()
                                .unwrap_or_else(std::sync::PoisonError::into_inner)
                                .lost_counter_reset(old);
                        }
                        self.pipeline.message(message.kind, &message.payload, now);
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
                self.pipeline.expire(now);
                self.poll_host();
            }
        }
        self.pipeline.drain();
    }

    fn table(&self, table: EventTable) -> Arc<TableCounters> {
        self.counters
            .table(table.name())
            .cloned()
            .unwrap_or_default()
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
        self.unreported_dropped += self.pipeline.take_unreported_dropped();
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
