//! Where events come from. A [`Publisher`] is one kind of kernel hook (eBPF here; audit netlink,
//! ETW or Endpoint Security on the way) that fills some event tables. The collector starts every
//! publisher of its platform (`crate::platform`) with the same [`Settings`], [`Outlet`] and
//! [`HandOver`], and holds what each returns, a [`Running`] publisher, until it stops it or hands
//! its kernel side over to the next worker.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    thread::JoinHandle,
};

use crossbeam_channel::{Receiver, Sender};

use crate::{
    counters::Counters,
    event_table::{Event, EventTable},
    file_filter::FileFilter,
    in_flight::InFlightLedger,
};

/// What a publisher is before it runs: the name `vigil_events` shows, and the tables it fills.
#[derive(Debug)]
pub struct Source {
    pub name: &'static str,
    pub tables: &'static [EventTable],
}

/// What the collector asks of every publisher: which events, within which bounds. A publisher
/// takes what applies to it.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Which file events are reported (`file_paths`, `exclude_paths`, `file_accesses`).
    pub file_filter: FileFilter,
    /// Event tables switched off (`events.disable_subscribers`): nothing is collected for them.
    pub disabled_tables: Vec<EventTable>,
    /// Size in bytes of the buffer the kernel fills (`--bpf_ringbuf_size`).
    pub ringbuf_bytes: u32,
    /// argv bytes kept per exec (`--bpf_argv_limit`).
    pub argv_limit: u32,
    /// The audit publisher's flags (`--disable_audit`, `--audit_*`).
    pub audit: AuditSettings,
    /// The Endpoint Security publisher's (macOS).
    pub es: EsSettings,
}

/// What the Endpoint Security publisher does, with osquery's flags; the default is osquery's:
/// off.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EsSettings {
    /// Not `--disable_endpointsecurity`: the process client (and the file client's precondition).
    pub enabled: bool,
    /// Not `--disable_endpointsecurity_fim`: the file client.
    pub fim_enabled: bool,
    /// `--es_fim_mute_path_literal`: comma-separated paths whose file events are muted.
    pub mute_path_literal: String,
    /// `--es_fim_mute_path_prefix`: comma-separated path prefixes whose file events are muted.
    pub mute_path_prefix: String,
    /// `--es_fim_enable_open_events`: file opens too (many).
    pub open_events: bool,
}

/// What the audit publisher does, with osquery's flags: off unless `--disable_audit=false`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditSettings {
    pub enabled: bool,
    /// `--audit_allow_config`: enable audit, set the backlog and failure mode, add vigil's rule.
    pub allow_config: bool,
    pub process_events: bool,
    pub fork_events: bool,
    pub socket_events: bool,
    pub accept_events: bool,
    pub failed_socket_events: bool,
    pub unix_socket_events: bool,
    pub user_events: bool,
    /// `--audit_backlog_limit`: records the kernel queues before it drops (and counts) them.
    pub backlog_limit: u32,
}

impl Default for AuditSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            allow_config: false,
            process_events: true,
            fork_events: false,
            socket_events: false,
            accept_events: true,
            failed_socket_events: false,
            unix_socket_events: false,
            user_events: true,
            backlog_limit: 4096,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            file_filter: FileFilter::defaults(),
            disabled_tables: Vec::new(),
            ringbuf_bytes: DEFAULT_RINGBUF_BYTES,
            argv_limit: vigil_ebpf_common::DEFAULT_ARGV_LIMIT,
            audit: AuditSettings::default(),
            es: EsSettings::default(),
        }
    }
}

/// The kernel ring buffer's size unless `--bpf_ringbuf_size` says otherwise. The kernel maps its
/// data pages into the reader twice (a record may wrap around the end), all of them at once, so
/// the worker's resident memory holds twice this, used or not. The reader's coalescing delay
/// shrinks with the buffer (2.5 ms here), so the buffer keeps the margin 8 MiB had: the bench's
/// storms (file storm and TCP at their maximum, exec at 6,400/s and at its maximum) lose nothing
/// with a quarter of it, and lose some with a quarter of it and 10 ms.
pub const DEFAULT_RINGBUF_BYTES: u32 = 2 * 1024 * 1024;

/// Events on their way from a publisher to the store writer: one channel message per read of
/// the kernel's buffer (at most [`BATCH_EVENTS`] events), not one per event, so that neither
/// thread wakes the other for each event.
pub type EventBatch = Vec<Event>;

/// The most events a publisher puts in one [`EventBatch`].
pub const BATCH_EVENTS: usize = 256;

/// The channel from the publishers to the store writer, room for about `events` events
/// (`--events_channel_size`): that many, in batches of [`BATCH_EVENTS`], and never fewer than
/// two batches. A batch that finds it full is dropped whole, and counted.
pub fn event_channel(events: usize) -> (Sender<EventBatch>, Receiver<EventBatch>) {
    crossbeam_channel::bounded(events.div_ceil(BATCH_EVENTS).max(2))
}

/// Where a publisher's events go, and where what becomes of them is counted.
#[derive(Debug, Clone)]
pub struct Outlet {
    pub sink: Sender<EventBatch>,
    /// Every table's counters; a publisher whose kernel side keeps counters of its own accounts
    /// for them there (`Counters::account_source`), under its source's name, so the positions
    /// it reached are saved with the counts and a successor counts each loss once.
    pub counters: Counters,
    /// Where each record taken from the kernel is counted at once, so what a dying worker held
    /// is counted lost at the next start (see `crate::in_flight`).
    pub ledger: Option<Arc<InFlightLedger>>,
}

/// A daemon's worker hands its kernel side over to the next worker on the same database: what
/// the kernel records while no worker reads is kept for the next one, which takes it over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandOver {
    database: PathBuf,
}

impl HandOver {
    /// Hand-over between the workers of the database at `database`.
    pub fn new(database: &Path) -> Self {
        Self {
            database: database
                .canonicalize()
                .unwrap_or_else(|_| database.to_owned()),
        }
    }

    /// The database, canonical when it exists.
    pub fn database(&self) -> &Path {
        &self.database
    }
}

/// One kind of kernel hook, ready to start.
pub trait Publisher: Send + Sync {
    fn source(&self) -> &'static Source;

    /// Starts publishing: the events of its tables go to `outlet.sink` from now on. With
    /// `hand_over`, it takes over the kernel side a previous worker left, and leaves its own for
    /// the next. Errors come back here, before anything runs. What this kernel cannot do for a
    /// table is no error: the table's availability (in its counters) says so.
    fn start(
        &self,
        settings: &Settings,
        outlet: Outlet,
        hand_over: Option<&HandOver>,
    ) -> Result<Box<dyn Running>, PublisherError>;
}

/// A started publisher.
pub trait Running: Send {
    /// Whether its kernel side outlives it, for the next publisher to take over.
    fn hands_over(&self) -> bool;

    /// Stops reading, and leaves its kernel side recording for the next publisher to take over
    /// (what cannot outlive it goes).
    fn hand_over(self: Box<Self>);

    /// Stops for good: reading stops now; removing the kernel side may take the kernel seconds,
    /// so wait for the returned [`Stopping`] last, once everything else is saved.
    fn stop(self: Box<Self>) -> Stopping;
}

/// Kernel sides being removed in the background.
#[must_use = "wait for the kernel side to be removed, or drop to wait at once"]
pub struct Stopping(Vec<JoinHandle<()>>);

impl Stopping {
    pub fn in_background(thread: Option<JoinHandle<()>>) -> Self {
        Self(thread.into_iter().collect())
    }

    /// Waits for all of them.
    pub fn all(stopping: impl IntoIterator<Item = Stopping>) -> Self {
        Self(
            stopping
                .into_iter()
                .flat_map(|mut s| std::mem::take(&mut s.0))
                .collect(),
        )
    }

    pub fn wait(mut self) {
        self.join();
    }

    fn join(&mut self) {
        for thread in self.0.drain(..) {
            let _ = thread.join();
        }
    }
}

impl Drop for Stopping {
    fn drop(&mut self) {
        self.join();
    }
}

/// Why a publisher could not start: its own error, as it words it.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct PublisherError(Box<dyn std::error::Error + Send + Sync>);

impl PublisherError {
    pub fn new(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self(Box::new(error))
    }
}
