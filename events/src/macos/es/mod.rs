//! The Endpoint Security publisher: one ES client for process events (NOTIFY_EXEC, FORK, EXIT)
//! and one for file events (NOTIFY_CREATE, RENAME, WRITE, TRUNCATE, UNLINK; OPEN when asked),
//! each started when osquery's flags turn it on (`crate::es::subscriptions`) and each with its
//! own sequence numbers, whose gaps are the events ES dropped. The clients live on
//! a thread of their own (they may not move between threads); their handlers copy each message
//! out (`copy`) for the mapping thread (`crate::es`). A client ES refuses (no entitlement, no
//! Full Disk Access, not root) makes its table unavailable with one sentence saying what to
//! grant, in `vigil_events` and the log: vigil runs on without it.

mod copy;
mod source;

use std::{
    ffi::OsStr,
    panic::AssertUnwindSafe,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    thread::JoinHandle,
    time::Duration,
};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError};
use endpoint_sec::{
    AuditToken, Client,
    sys::{NewClientError, es_event_type_t, es_mute_path_type_t},
};

pub use source::SOURCE;

use crate::{
    counters::Availability,
    es::{
        Message, MutedPaths, SequenceGaps,
        file::file_event,
        new_client_failure,
        process::process_event,
        subscriptions::{ClientPlan, Notify, Wanted, subscriptions},
    },
    event_table::{Event, EventTable},
    forwarder::{Delivery, Forwarder},
    publisher::{HandOver, Outlet, Publisher, PublisherError, Running, Settings, Stopping},
};

/// Messages waiting between the handlers and the mapping thread: past this, a handler drops the
/// message (and counts it) rather than make ES wait.
const QUEUE: usize = 65_536;

#[derive(Debug, thiserror::Error)]
pub enum EsError {
    #[error("Endpoint Security: cannot start the client thread: {0}")]
    Thread(std::io::Error),
}

impl From<EsError> for PublisherError {
    fn from(error: EsError) -> Self {
        PublisherError::new(error)
    }
}

#[derive(Debug, Default)]
pub struct EsPublisher;

impl Publisher for EsPublisher {
    fn source(&self) -> &'static crate::publisher::Source {
        &SOURCE
    }

    fn start(
        &self,
        settings: &Settings,
        outlet: Outlet,
        _hand_over: Option<&HandOver>,
    ) -> Result<Box<dyn Running>, PublisherError> {
        Ok(Box::new(EsRunning::start(settings, outlet)?))
    }
}

/// Which client a message came through: each has its own sequence numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Which {
    Process,
    File,
}

impl Which {
    fn index(self) -> usize {
        match self {
            Which::Process => 0,
            Which::File => 1,
        }
    }

    fn table(self) -> EventTable {
        match self {
            Which::Process => EventTable::EsProcessEvents,
            Which::File => EventTable::EsProcessFileEvents,
        }
    }
}

/// ES's event type for a notification of the plan.
fn event_type(notify: Notify) -> es_event_type_t {
    match notify {
        Notify::Exec => es_event_type_t::ES_EVENT_TYPE_NOTIFY_EXEC,
        Notify::Fork => es_event_type_t::ES_EVENT_TYPE_NOTIFY_FORK,
        Notify::Exit => es_event_type_t::ES_EVENT_TYPE_NOTIFY_EXIT,
        Notify::Create => es_event_type_t::ES_EVENT_TYPE_NOTIFY_CREATE,
        Notify::Rename => es_event_type_t::ES_EVENT_TYPE_NOTIFY_RENAME,
        Notify::Write => es_event_type_t::ES_EVENT_TYPE_NOTIFY_WRITE,
        Notify::Truncate => es_event_type_t::ES_EVENT_TYPE_NOTIFY_TRUNCATE,
        Notify::Unlink => es_event_type_t::ES_EVENT_TYPE_NOTIFY_UNLINK,
        Notify::Open => es_event_type_t::ES_EVENT_TYPE_NOTIFY_OPEN,
    }
}

/// Why ES refused the client, as one sentence saying what to do.
fn refusal(error: &NewClientError) -> String {
    let code = match error {
        NewClientError::InvalidArgument => 1,
        NewClientError::Internal => 2,
        NewClientError::NotEntitled => 3,
        NewClientError::NotPermitted => 4,
        NewClientError::NotPrivileged => 5,
        NewClientError::TooManyClients => 6,
        NewClientError::Unknown(other) => other.0,
        NewClientError::ApiUnavailable => {
            return "Endpoint Security is not available on this macOS (it needs 10.15 or later): \
                    run vigil on a newer macOS for es_process_events and es_process_file_events"
                .to_owned();
        }
    };
    new_client_failure(code)
}

/// Starts one client: subscribed to `events`, with its paths and vigil itself muted.
fn client(
    which: Which,
    events: &[Notify],
    settings: &Settings,
    queue: Sender<(Which, Message)>,
    overflow: Arc<[AtomicU64; 2]>,
) -> Result<Client<'static>, String> {
    let queue = AssertUnwindSafe(queue);
    let overflow = AssertUnwindSafe(overflow);
    let mut client = Client::new(move |_client, message| {
        if let Some(message) = copy::message(&message)
            && let Err(TrySendError::Full(_)) = queue.try_send((which, message))
        {
            overflow.0[which.index()].fetch_add(1, Ordering::Relaxed);
        }
    })
    .map_err(|error| refusal(&error))?;
    if which == Which::File {
        let muted = MutedPaths::from_flags(
            &settings.es.mute_path_literal,
            &settings.es.mute_path_prefix,
        );
        for (paths, kind) in [
            (
                &muted.literals,
                es_mute_path_type_t::ES_MUTE_PATH_TYPE_LITERAL,
            ),
            (
                &muted.prefixes,
                es_mute_path_type_t::ES_MUTE_PATH_TYPE_PREFIX,
            ),
        ] {
            for path in paths {
                if client.mute_path(OsStr::new(path), kind).is_err() {
                    tracing::warn!(path, "Endpoint Security could not mute this path");
                }
            }
        }
    }
    // vigil's own writes to its database would otherwise feed back into its tables.
    if let Ok(own) = AuditToken::from_pid(i32::try_from(std::process::id()).unwrap_or(0)) {
        let _ = client.mute_process(&own);
    }
    client
        .subscribe(&events.iter().copied().map(event_type).collect::<Vec<_>>())
        .map_err(|error| format!("Endpoint Security refused the subscription: {error}"))?;
    Ok(client)
}

pub struct EsRunning {
    stop: Option<Sender<()>>,
    clients: Option<JoinHandle<()>>,
    mapper: Option<JoinHandle<()>>,
}

impl EsRunning {
    fn start(settings: &Settings, outlet: Outlet) -> Result<Self, EsError> {
        let (queue, messages) = crossbeam_channel::bounded(QUEUE);
        let overflow = Arc::new([AtomicU64::new(0), AtomicU64::new(0)]);
        let (stop, stopped) = crossbeam_channel::bounded::<()>(0);
        let (started, started_rx) = crossbeam_channel::bounded(2);
        let wanted = |which: Which| !settings.disabled_tables.contains(&which.table());
        let plan = subscriptions(
            &settings.es,
            Wanted {
                process: wanted(Which::Process),
                file: wanted(Which::File),
            },
        );
        let mut wanted: Vec<(Which, Vec<Notify>)> = Vec::new();
        for (which, client_plan) in [(Which::Process, plan.process), (Which::File, plan.file)] {
            match client_plan {
                ClientPlan::Subscribe(events) => wanted.push((which, events)),
                ClientPlan::Off(reason) => {
                    if let Some(counters) = outlet.counters.table(which.table().name()) {
                        counters.set_availability(Availability {
                            available: false,
                            reason: reason.to_owned(),
                        });
                    }
                }
                ClientPlan::NotWanted => {}
            }
        }
        let client_settings = settings.clone();
        let client_overflow = overflow.clone();
        let clients = std::thread::Builder::new()
            .name("vigil-es-clients".into())
            .spawn(move || {
                let mut running = Vec::new();
                for (which, events) in wanted {
                    let result = client(
                        which,
                        &events,
                        &client_settings,
                        queue.clone(),
                        client_overflow.clone(),
                    );
                    let _ = started.send((which, result.as_ref().err().cloned()));
                    if let Ok(client) = result {
                        running.push(client);
                    }
                }
                drop(queue);
                drop(started);
                // Until the publisher stops: a closed channel ends the wait.
                let _ = stopped.recv();
                for mut client in running {
                    let _ = client.unsubscribe_all();
                }
            })
            .map_err(EsError::Thread)?;
        for (which, failure) in started_rx.iter() {
            let available = failure.is_none();
            if let Some(reason) = &failure {
                tracing::error!("{reason}");
            }
            if let Some(counters) = outlet.counters.table(which.table().name()) {
                counters.set_availability(Availability {
                    available,
                    reason: failure.unwrap_or_default(),
                });
            }
        }
        let mapper = Mapper {
            messages,
            overflow,
            forwarder: Forwarder::new(outlet),
            process_gaps: SequenceGaps::new(),
            file_gaps: SequenceGaps::new(),
            muted: MutedPaths::from_flags(
                &settings.es.mute_path_literal,
                &settings.es.mute_path_prefix,
            ),
        };
        let mapper = std::thread::Builder::new()
            .name("vigil-es".into())
            .spawn(move || mapper.run())
            .map_err(EsError::Thread)?;
        Ok(Self {
            stop: Some(stop),
            clients: Some(clients),
            mapper: Some(mapper),
        })
    }

    fn stop_clients(&mut self) -> Option<JoinHandle<()>> {
        // Dropping the sender ends the client thread's wait: the clients are deleted there.
        self.stop.take();
        if let Some(clients) = self.clients.take() {
            let _ = clients.join();
        }
        self.mapper.take()
    }
}

impl Running for EsRunning {
    fn hands_over(&self) -> bool {
        false
    }

    fn hand_over(mut self: Box<Self>) {
        if let Some(mapper) = self.stop_clients() {
            let _ = mapper.join();
        }
    }

    fn stop(mut self: Box<Self>) -> Stopping {
        Stopping::in_background(self.stop_clients())
    }
}

impl Drop for EsRunning {
    fn drop(&mut self) {
        if let Some(mapper) = self.stop_clients() {
            let _ = mapper.join();
        }
    }
}

struct Mapper {
    messages: Receiver<(Which, Message)>,
    /// Messages each client's handler could not queue since its last delivered one.
    overflow: Arc<[AtomicU64; 2]>,
    forwarder: Forwarder,
    process_gaps: SequenceGaps,
    file_gaps: SequenceGaps,
    muted: MutedPaths,
}

impl Mapper {
    fn run(mut self) {
        loop {
            match self.messages.recv_timeout(Duration::from_millis(200)) {
                Ok((which, message)) => {
                    let gaps = match which {
                        Which::Process => &mut self.process_gaps,
                        Which::File => &mut self.file_gaps,
                    };
                    // A message vigil's queue had no room for is a gap too: those are vigil's
                    // losses, the rest ES's.
                    let gap = gaps.lost_before(&message);
                    let queue_full = self.overflow[which.index()].swap(0, Ordering::Relaxed);
                    self.forwarder.buffer_lost(&[which.table()], queue_full);
                    self.forwarder
                        .platform_lost(&[which.table()], gap.saturating_sub(queue_full));
                    let event = match which {
                        Which::Process => process_event(&message, &user_name).map(Event::EsProcess),
                        Which::File => file_event(&message, &self.muted).map(Event::EsFile),
                    };
                    if let Some(event) = event {
                        let _ = self.forwarder.event(event);
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break,
            }
            if self.messages.is_empty() && self.forwarder.flush() == Delivery::Closed {
                break;
            }
        }
    }
}

/// The user's name from the password database.
fn user_name(uid: u32) -> Option<String> {
    let mut buffer = vec![0 as libc::c_char; 4096];
    // SAFETY: zeroed `passwd` is a valid out-parameter.
    let mut entry: libc::passwd = unsafe { std::mem::zeroed() };
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: the buffers are valid for the lengths passed; `found` is set to `&entry` or null.
    let status = unsafe {
        libc::getpwuid_r(
            uid,
            &mut entry,
            buffer.as_mut_ptr(),
            buffer.len(),
            &mut found,
        )
    };
    if status != 0 || found.is_null() || entry.pw_name.is_null() {
        return None;
    }
    // SAFETY: `pw_name` points into `buffer`, NUL-terminated by getpwuid_r.
    let name = unsafe { std::ffi::CStr::from_ptr(entry.pw_name) };
    Some(name.to_string_lossy().into_owned())
}
