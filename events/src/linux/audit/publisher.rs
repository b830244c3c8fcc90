//! The audit publisher: off unless `--disable_audit=false`; started, it configures the host (with
//! `--audit_allow_config`), takes the records, and reads them on a thread of its own; stopped,
//! it puts the host back.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    thread::JoinHandle,
};

use super::{
    events::Interest,
    host::{HostError, Reading, Wanted, configure_shared},
    netlink::{AuditSocket, NetlinkError},
    reader::Reader,
    source::SOURCE,
    syscalls::{AuditSyscall, native_numbers},
};
use crate::{
    counters::{Availability, Counters},
    event_table::EventTable,
    linux::capabilities::{self, NEEDED_FOR_AUDIT},
    publisher::{
        AuditSettings, HandOver, Outlet, Publisher, PublisherError, Running, Settings, Source,
        Stopping,
    },
};

/// Size asked for the socket's receive buffer: a burst waits there rather than in the
/// kernel's backlog.
const RECEIVE_BUFFER: usize = 8 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("audit: {0}")]
    Netlink(#[from] NetlinkError),
    #[error("audit: {0}")]
    Host(#[from] HostError),
    #[error(
        "audit: this process lacks {0}, which --disable_audit=false needs: run vigil as root, or \
         add them to the unit's AmbientCapabilities= and CapabilityBoundingSet= (SECURITY.md, \
         \"Least privilege\")"
    )]
    MissingCapabilities(String),
    #[error("audit: cannot start the reader thread: {0}")]
    Thread(std::io::Error),
}

/// The audit publisher, ready to start.
#[derive(Debug, Default)]
pub struct AuditPublisher;

impl Publisher for AuditPublisher {
    fn source(&self) -> &'static Source {
        &SOURCE
    }

    fn start(
        &self,
        settings: &Settings,
        outlet: Outlet,
        _hand_over: Option<&HandOver>,
    ) -> Result<Box<dyn Running>, PublisherError> {
        Ok(Box::new(AuditReading::start(settings, outlet)?))
    }
}

/// The reader thread, which owns the host's configuration and puts it back when it ends.
pub struct AuditReading {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl AuditReading {
    fn idle() -> Self {
        Self {
            stop: Arc::new(AtomicBool::new(true)),
            thread: None,
        }
    }

    fn start(settings: &Settings, outlet: Outlet) -> Result<Self, AuditError> {
        let audit = &settings.audit;
        let on = |table: EventTable| !settings.disabled_tables.contains(&table);
        if !audit.enabled {
            for &table in SOURCE.tables.iter().filter(|t| on(**t)) {
                set_availability(
                    &outlet.counters,
                    table,
                    false,
                    "audit is off (--disable_audit=true, the default); --disable_audit=false \
                     turns it on",
                );
            }
            return Ok(Self::idle());
        }
        let interest = Interest {
            process_events: audit.process_events && on(EventTable::ProcessEvents),
            socket_events: audit.socket_events && on(EventTable::SocketEvents),
            accept_events: audit.accept_events,
            failed_socket_events: audit.failed_socket_events,
            unix_socket_events: audit.unix_socket_events,
            user_events: audit.user_events && on(EventTable::UserEvents),
            own_pid: std::process::id(),
        };
        let wanted = Wanted {
            configure: audit.allow_config,
            syscalls: rule_syscalls(audit, &interest),
            backlog_limit: audit.backlog_limit,
        };
        // Said before the kernel answers EPERM to some request, which would not say what to grant.
        let missing = capabilities::missing(capabilities::effective(), &NEEDED_FOR_AUDIT);
        if !missing.is_empty() {
            return Err(AuditError::MissingCapabilities(capabilities::names(
                &missing,
            )));
        }
        let mut socket = AuditSocket::open()?;
        socket.grow_receive_buffer(RECEIVE_BUFFER);
        let (host, reading) = configure_shared(&wanted, &mut socket)?;
        report_availability(&outlet.counters, audit, &interest, reading, on);
        let stop = Arc::new(AtomicBool::new(false));
        let reader = Reader::new(socket, host, interest, outlet, stop.clone());
        let thread = std::thread::Builder::new()
            .name("vigil-audit".into())
            .spawn(move || reader.run())
            .map_err(AuditError::Thread)?;
        Ok(Self {
            stop,
            thread: Some(thread),
        })
    }

    fn stop_reading(&mut self) -> Option<JoinHandle<()>> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take()
    }
}

/// The syscalls of vigil's rule, from the flags (osquery's: execve/execveat with process events,
/// fork/vfork/clone with fork events, bind/connect and accept/accept4 with sockets).
fn rule_syscalls(audit: &AuditSettings, interest: &Interest) -> Vec<u32> {
    native_numbers(|call| match call {
        AuditSyscall::Exec(_) => interest.process_events,
        AuditSyscall::Fork(_) | AuditSyscall::Clone(_) => {
            interest.process_events && audit.fork_events
        }
        AuditSyscall::Socket(s) => {
            interest.socket_events
                && (audit.accept_events
                    || !matches!(
                        s,
                        crate::model::Syscall::Accept | crate::model::Syscall::Accept4
                    ))
        }
    })
}

fn report_availability(
    counters: &Counters,
    audit: &AuditSettings,
    interest: &Interest,
    reading: Reading,
    on: impl Fn(EventTable) -> bool,
) {
    let mut notes = Vec::new();
    if !audit.allow_config {
        notes.push(
            "vigil adds no audit rule (--audit_allow_config=false): rows come from the host's own \
             rules"
                .to_owned(),
        );
    }
    if let Reading::Copy { owner } = reading {
        notes.push(format!(
            "audit is owned by pid {owner}: vigil reads the kernel's multicast copy of the records"
        ));
    }
    let note = notes.join("; ");
    for (table, wanted, flag) in [
        (
            EventTable::ProcessEvents,
            interest.process_events,
            "--audit_allow_process_events",
        ),
        (
            EventTable::SocketEvents,
            interest.socket_events,
            "--audit_allow_sockets",
        ),
        (
            EventTable::UserEvents,
            interest.user_events,
            "--audit_allow_user_events",
        ),
    ] {
        if !on(table) {
            continue;
        }
        if wanted {
            set_availability(counters, table, true, &note);
        } else {
            set_availability(counters, table, false, &format!("{flag} is off"));
        }
    }
}

fn set_availability(counters: &Counters, table: EventTable, available: bool, reason: &str) {
    if let Some(counters) = counters.table(table.name()) {
        counters.set_availability(Availability {
            available,
            reason: reason.to_owned(),
        });
    }
}

impl From<AuditError> for PublisherError {
    fn from(error: AuditError) -> Self {
        PublisherError::new(error)
    }
}

impl Running for AuditReading {
    fn hands_over(&self) -> bool {
        false
    }

    /// Nothing of audit outlives vigil: the host is put back, as at a stop.
    fn hand_over(mut self: Box<Self>) {
        if let Some(thread) = self.stop_reading() {
            let _ = thread.join();
        }
    }

    fn stop(mut self: Box<Self>) -> Stopping {
        Stopping::in_background(self.stop_reading())
    }
}

impl Drop for AuditReading {
    fn drop(&mut self) {
        if let Some(thread) = self.stop_reading() {
            let _ = thread.join();
        }
    }
}
