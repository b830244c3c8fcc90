//! The ETW publisher: one real-time session (`vigil`) for Microsoft-Windows-Kernel-Process,
//! -File and -Network, and one kernel logger session (`vigil-kernel`) for the process events
//! that alone carry command lines and users. A session of the same name left by a crash is
//! stopped first; vigil's are stopped when it stops. Events are copied out in ferrisetw's
//! callbacks and mapped on a thread of their own (`crate::etw`), which also polls what the
//! sessions lost into `vigil_events`.

mod host;
mod properties;
mod session;
mod source;

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    thread::JoinHandle,
    time::{Duration, Instant},
};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError};
use ferrisetw::{
    EventRecord, KernelTrace, SchemaLocator, UserTrace,
    provider::{Provider as EtwProvider, kernel_providers},
    trace::{TraceError, stop_trace_by_name},
};

pub use source::SOURCE;

use crate::{
    counters::Availability,
    etw::{
        AccountNames, Provider, Record, file::FileTracker, network::socket_event,
        process::ProcessTracker,
    },
    event_table::{Event, EventTable},
    forwarder::{Delivery, Forwarder},
    publisher::{HandOver, Outlet, Publisher, PublisherError, Running, Settings, Stopping},
};

const SESSION: &str = "vigil";
const KERNEL_SESSION: &str = "vigil-kernel";

/// Records waiting between ferrisetw's callbacks and the mapping thread: past this, a callback
/// drops the record (and counts it) rather than make the session's buffers wait.
const QUEUE: usize = 65_536;

/// How often the sessions' losses are asked for.
const POLL: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum EtwError {
    #[error(
        "ETW: cannot start the session `{session}`: {detail:?}; vigil must run as an \
         administrator (or as LocalSystem, as its service does)"
    )]
    Session {
        session: &'static str,
        detail: String,
    },
    #[error("ETW: cannot start the mapping thread: {0}")]
    Thread(std::io::Error),
}

impl From<EtwError> for PublisherError {
    fn from(error: EtwError) -> Self {
        PublisherError::new(error)
    }
}

/// The ETW publisher, ready to start.
#[derive(Debug, Default)]
pub struct EtwPublisher;

impl Publisher for EtwPublisher {
    fn source(&self) -> &'static crate::publisher::Source {
        &SOURCE
    }

    fn start(
        &self,
        settings: &Settings,
        outlet: Outlet,
        _hand_over: Option<&HandOver>,
    ) -> Result<Box<dyn Running>, PublisherError> {
        Ok(Box::new(EtwRunning::start(settings, outlet)?))
    }
}

/// Stops a session left by a vigil that did not stop it (a crash): ETW sessions outlive their
/// process, and a second one of the same name cannot start.
fn reclaim(name: &str) {
    if stop_trace_by_name(name).is_ok() {
        tracing::warn!(
            session = name,
            "stopped an ETW session a previous vigil left running"
        );
    }
}

pub struct EtwRunning {
    user: Option<UserTrace>,
    kernel: Option<KernelTrace>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

fn enqueue(
    queue: &Sender<Record>,
    overflow: &AtomicU64,
    provider: Provider,
    event: &EventRecord,
    schemas: &SchemaLocator,
) {
    if let Some(record) = properties::record(provider, event, schemas)
        && let Err(TrySendError::Full(_)) = queue.try_send(record)
    {
        overflow.fetch_add(1, Ordering::Relaxed);
    }
}

fn provider(
    guid: &str,
    kind: Provider,
    queue: &Sender<Record>,
    overflow: &Arc<AtomicU64>,
) -> EtwProvider {
    let queue = queue.clone();
    let overflow = overflow.clone();
    EtwProvider::by_guid(guid)
        .add_callback(move |event: &EventRecord, schemas: &SchemaLocator| {
            enqueue(&queue, &overflow, kind, event, schemas)
        })
        .build()
}

impl EtwRunning {
    fn start(settings: &Settings, outlet: Outlet) -> Result<Self, EtwError> {
        let on = |table: EventTable| !settings.disabled_tables.contains(&table);
        reclaim(SESSION);
        reclaim(KERNEL_SESSION);
        let (queue, records) = crossbeam_channel::bounded(QUEUE);
        let overflow = Arc::new(AtomicU64::new(0));
        let mut user = UserTrace::new().named(SESSION.to_owned());
        for (table, kind) in [
            (EventTable::EtwProcessEvents, Provider::KernelProcess),
            (EventTable::EtwFileEvents, Provider::KernelFile),
            (EventTable::EtwSocketEvents, Provider::KernelNetwork),
        ] {
            if on(table) {
                user = user.enable(provider(kind.guid(), kind, &queue, &overflow));
            }
        }
        let user = user
            .start_and_process()
            .map_err(|e| session_error(SESSION, e))?;
        let kernel = if on(EventTable::EtwProcessEvents) {
            let queue = queue.clone();
            let overflow = overflow.clone();
            let processes = EtwProvider::kernel(&kernel_providers::PROCESS_PROVIDER)
                .add_callback(move |event: &EventRecord, schemas: &SchemaLocator| {
                    enqueue(
                        &queue,
                        &overflow,
                        Provider::KernelLoggerProcess,
                        event,
                        schemas,
                    )
                })
                .build();
            Some(
                KernelTrace::new()
                    .named(KERNEL_SESSION.to_owned())
                    .enable(processes)
                    .start_and_process()
                    .map_err(|e| session_error(KERNEL_SESSION, e))?,
            )
        } else {
            None
        };
        drop(queue);
        for &table in SOURCE.tables.iter().filter(|t| on(**t)) {
            if let Some(counters) = outlet.counters.table(table.name()) {
                counters.set_availability(Availability {
                    available: true,
                    reason: String::new(),
                });
            }
        }
        let stop = Arc::new(AtomicBool::new(false));
        let mapper = Mapper {
            records,
            overflow,
            forwarder: Forwarder::new(outlet),
            processes: ProcessTracker::new(host::volumes()),
            files: FileTracker::new(host::volumes()),
            accounts: host::Accounts::default(),
            stop: stop.clone(),
            lost: [session::Losses::default(); 2],
        };
        let thread = std::thread::Builder::new()
            .name("vigil-etw".into())
            .spawn(move || mapper.run())
            .map_err(EtwError::Thread)?;
        Ok(Self {
            user: Some(user),
            kernel,
            stop,
            thread: Some(thread),
        })
    }

    fn stop_sessions(&mut self) -> Option<JoinHandle<()>> {
        if let Some(user) = self.user.take()
            && let Err(error) = user.stop()
        {
            tracing::warn!(session = SESSION, ?error, "could not stop the ETW session");
        }
        if let Some(kernel) = self.kernel.take()
            && let Err(error) = kernel.stop()
        {
            tracing::warn!(
                session = KERNEL_SESSION,
                ?error,
                "could not stop the ETW session"
            );
        }
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take()
    }
}

fn session_error(session: &'static str, error: TraceError) -> EtwError {
    EtwError::Session {
        session,
        detail: format!("{error:?}"),
    }
}

impl Running for EtwRunning {
    fn hands_over(&self) -> bool {
        false
    }

    /// Nothing of ETW outlives vigil: the sessions stop, as at a stop.
    fn hand_over(mut self: Box<Self>) {
        if let Some(thread) = self.stop_sessions() {
            let _ = thread.join();
        }
    }

    fn stop(mut self: Box<Self>) -> Stopping {
        Stopping::in_background(self.stop_sessions())
    }
}

impl Drop for EtwRunning {
    fn drop(&mut self) {
        if let Some(thread) = self.stop_sessions() {
            let _ = thread.join();
        }
    }
}

/// The mapping thread.
struct Mapper {
    records: Receiver<Record>,
    overflow: Arc<AtomicU64>,
    forwarder: Forwarder,
    processes: ProcessTracker,
    files: FileTracker,
    accounts: host::Accounts,
    stop: Arc<AtomicBool>,
    /// What each session (user, kernel) had lost at the last poll.
    lost: [session::Losses; 2],
}

impl Mapper {
    fn run(mut self) {
        let mut polled = Instant::now();
        while !self.stop.load(Ordering::Relaxed) {
            match self.records.recv_timeout(Duration::from_millis(200)) {
                Ok(record) => self.map(&record),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            if self.records.is_empty() && self.forwarder.flush() == Delivery::Closed {
                break;
            }
            if polled.elapsed() >= POLL {
                polled = Instant::now();
                self.poll();
            }
        }
        self.poll();
    }

    fn map(&mut self, record: &Record) {
        let (table, mapped) = match record.provider {
            Provider::KernelProcess | Provider::KernelLoggerProcess => (
                EventTable::EtwProcessEvents,
                self.processes
                    .push(record, &self.accounts as &dyn AccountNames)
                    .map(|row| row.map(Event::EtwProcess)),
            ),
            Provider::KernelFile => (
                EventTable::EtwFileEvents,
                self.files.push(record).map(|row| row.map(Event::EtwFile)),
            ),
            Provider::KernelNetwork => (
                EventTable::EtwSocketEvents,
                socket_event(record).map(|row| row.map(Event::EtwSocket)),
            ),
        };
        match mapped {
            Ok(Some(event)) => {
                let _ = self.forwarder.event(event);
            }
            Ok(None) => {}
            Err(error) => self.forwarder.malformed(table, &error),
        }
    }

    fn poll(&mut self) {
        let now = windows_now();
        for row in self.processes.expire(now, &self.accounts) {
            let _ = self.forwarder.event(Event::EtwProcess(row));
        }
        let overflow = self.overflow.swap(0, Ordering::Relaxed);
        self.forwarder.buffer_lost(SOURCE.tables, overflow);
        for (i, name) in [SESSION, KERNEL_SESSION].into_iter().enumerate() {
            let Some(losses) = session::query(name) else {
                continue;
            };
            let before = self.lost[i];
            let tables: &[EventTable] = if i == 0 {
                SOURCE.tables
            } else {
                &[EventTable::EtwProcessEvents]
            };
            self.forwarder
                .buffer_lost(tables, losses.events.saturating_sub(before.events));
            self.forwarder
                .platform_buffers_lost(tables, losses.buffers.saturating_sub(before.buffers));
            if losses.events > before.events || losses.buffers > before.buffers {
                tracing::warn!(
                    session = name,
                    events_lost = losses.events,
                    buffers_lost = losses.buffers,
                    "the ETW session lost events (vigil_events.dropped_ring_buffer, kernel_buffers_lost)"
                );
            }
            self.lost[i] = losses;
        }
    }
}

/// Now as a FILETIME, the clock of the events' time stamps.
fn windows_now() -> u64 {
    let unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    116_444_736_000_000_000 + u64::try_from(unix.as_nanos() / 100).unwrap_or(0)
}
