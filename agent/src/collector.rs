//! Event collection in this process: the eBPF publisher feeding the store writer.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context as _;
use crossbeam_channel::Sender;
use vigil_events::{
    Counters, Event, EventStore, EventTable,
    file_filter::FileFilter,
    in_flight::{self, InFlightLedger},
    linux::ebpf::{Detaching, EbpfConfig, EbpfPublisher},
    store::{ReadFloor, RetentionPolicy, StoreWriter, WriterConfig},
};
use vigil_state::daemon::COLLECTION_STOPPED;

use crate::{cli::EventArgs, config::Config, probes::PROCESS_PROBES};

/// What the config chooses to collect: file paths and the event tables switched off.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Selection {
    file_filter: FileFilter,
    disabled_tables: Vec<EventTable>,
}

impl Selection {
    fn of(config: Option<&Config>) -> Self {
        match config {
            Some(config) => Self {
                file_filter: config.file_filter.clone(),
                disabled_tables: EventTable::ALL
                    .iter()
                    .copied()
                    .filter(|t| !config.events.is_enabled(t.name()))
                    .collect(),
            },
            None => Self {
                file_filter: FileFilter::defaults(),
                disabled_tables: Vec::new(),
            },
        }
    }
}

/// How often probes that could not be started are tried again.
const RETRY_EVERY: Duration = Duration::from_secs(10);

/// No publisher reads the kernel side: a new config's probes could not start, nor could the
/// previous ones again. Their pinned kernel programs keep recording into the ring buffer meanwhile.
struct Stall {
    wanted: Selection,
    /// `None`: try at the next chance.
    last_try: Option<Instant>,
}

/// What a new config did to the running collection.
pub enum Applied {
    /// Its file paths and event switches are those running.
    Unchanged,
    /// Its probes run.
    New,
    /// Its probes could not start; the previous ones still run.
    KeptPrevious(anyhow::Error),
    /// Neither its probes nor the previous ones could start: collection is stopped, marked
    /// (`vigil_events.active` 0) and retried every `RETRY_EVERY`.
    Stopped(anyhow::Error),
}

/// A running pipeline: publisher → bounded channel → store writer.
pub struct Collector {
    publisher: Option<EbpfPublisher>,
    store: Arc<EventStore>,
    stall: Option<Stall>,
    writer: Option<StoreWriter>,
    /// For a publisher started on a new config; dropped at shutdown so the writer sees the end.
    sender: Option<Sender<Event>>,
    counters: Counters,
    args: EventArgs,
    pin_dir: Option<std::path::PathBuf>,
    selection: Selection,
    /// Counts what the readers take from the kernel, so a worker's death in flight is counted.
    ledger: Arc<InFlightLedger>,
}

/// Fault injection for the end-to-end tests, in debug builds only: while the file that
/// `VIGIL_FAULT_PROBE_FAILURES` names holds a number above 0, each start of the probes fails and
/// counts it down.
#[cfg(debug_assertions)]
fn injected_probe_failure() -> anyhow::Result<()> {
    let Some(path) = std::env::var_os("VIGIL_FAULT_PROBE_FAILURES") else {
        return Ok(());
    };
    let left: u64 = std::fs::read_to_string(&path)
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(0);
    if left == 0 {
        return Ok(());
    }
    let _ = std::fs::write(&path, (left - 1).to_string());
    anyhow::bail!("injected by VIGIL_FAULT_PROBE_FAILURES")
}

fn start_publisher(
    args: &EventArgs,
    selection: &Selection,
    pin_dir: Option<std::path::PathBuf>,
    sender: Sender<Event>,
    counters: Counters,
    ledger: Arc<InFlightLedger>,
) -> anyhow::Result<EbpfPublisher> {
    #[cfg(debug_assertions)]
    injected_probe_failure()?;
    Ok(EbpfPublisher::start(
        PROCESS_PROBES,
        EbpfConfig {
            ringbuf_bytes: args.bpf_ringbuf_size,
            argv_limit: args.bpf_argv_limit,
            file_filter: selection.file_filter.clone(),
            disabled_tables: selection.disabled_tables.clone(),
            pin_dir,
            ledger: Some(ledger),
        },
        sender,
        counters,
    )?)
}

impl Collector {
    /// Starts collecting, with the config's file paths and event switches. `read_floor`, when
    /// the daemon schedules queries, holds back expiry of events they have not read yet.
    pub fn start(
        store: Arc<EventStore>,
        counters: Counters,
        args: &EventArgs,
        config: Option<&Config>,
        read_floor: Option<Arc<ReadFloor>>,
        pin_dir: Option<std::path::PathBuf>,
    ) -> anyhow::Result<Self> {
        let (sender, receiver) = crossbeam_channel::bounded(args.events_channel_size.max(1));
        let retention = RetentionPolicy {
            expiry: (args.events_expiry > 0).then(|| Duration::from_secs(args.events_expiry)),
            max_rows: (args.events_max > 0).then_some(args.events_max),
            read_floor,
        };
        let selection = Selection::of(config);
        // Before anything reads the kernel: counters continue from the previous worker's, and
        // what it took from the kernel but never stored is counted.
        let ledger = Arc::new(
            in_flight::settle(&store, &counters).context("accounting for the previous worker")?,
        );
        // Start the publisher first: if the kernel side cannot load, nothing else was started.
        let publisher = start_publisher(
            args,
            &selection,
            pin_dir.clone(),
            sender.clone(),
            counters.clone(),
            ledger.clone(),
        )?;
        mark_collecting(&store, None);
        let writer = StoreWriter::spawn(
            store.clone(),
            receiver,
            counters.clone(),
            WriterConfig {
                retention,
                ..WriterConfig::default()
            },
        )
        .context("starting the event store writer")?;
        Ok(Self {
            publisher: Some(publisher),
            store,
            stall: None,
            writer: Some(writer),
            sender: Some(sender),
            counters,
            args: args.clone(),
            pin_dir,
            selection,
            ledger,
        })
    }

    /// Applies a reloaded config's file paths and event switches, if they changed, without
    /// losing events: with pinned probes the new publisher takes the ring buffer over (the old
    /// probes record until the new ones are attached); without, the new publisher starts before
    /// the old one stops (events of that moment may be reported twice, none is missed).
    pub fn reconfigure(&mut self, config: Option<&Config>) -> Applied {
        let wanted = Selection::of(config);
        if self.stall.is_some() {
            // Nothing runs: the next attempt starts what is wanted now.
            self.stall = Some(Stall {
                wanted,
                last_try: None,
            });
            self.retry_if_stopped();
            return match self.stall {
                None => Applied::New,
                Some(_) => Applied::Stopped(anyhow::anyhow!("event collection is still stopped")),
            };
        }
        if wanted == self.selection {
            return Applied::Unchanged;
        }
        let Some(sender) = self.sender.clone() else {
            return Applied::Unchanged;
        };
        let old = self.publisher.take();
        let pinned = old.as_ref().is_some_and(EbpfPublisher::is_pinned);
        if pinned && let Some(old) = old {
            old.stop_keeping_kernel_side();
            let error = match self.start_probes(&wanted, &sender) {
                Ok(new) => {
                    self.publisher = Some(new);
                    self.selection = wanted;
                    return Applied::New;
                }
                Err(error) => error,
            };
            // Back to what ran: its probes are still pinned and recording.
            match self.start_probes(&self.selection.clone(), &sender) {
                Ok(previous) => {
                    self.publisher = Some(previous);
                    Applied::KeptPrevious(error)
                }
                Err(again) => {
                    let error = error.context(format!(
                        "nor could the previous probes start again ({again:#})"
                    ));
                    self.stopped(wanted, &error);
                    Applied::Stopped(error)
                }
            }
        } else {
            match self.start_probes(&wanted, &sender) {
                Ok(new) => {
                    self.publisher = Some(new);
                    if let Some(old) = old {
                        old.stop().wait();
                    }
                    self.selection = wanted;
                    Applied::New
                }
                Err(error) => {
                    self.publisher = old;
                    Applied::KeptPrevious(error)
                }
            }
        }
    }

    fn start_probes(
        &self,
        selection: &Selection,
        sender: &Sender<Event>,
    ) -> anyhow::Result<EbpfPublisher> {
        start_publisher(
            &self.args,
            selection,
            self.pin_dir.clone(),
            sender.clone(),
            self.counters.clone(),
            self.ledger.clone(),
        )
    }

    /// No publisher runs: marked where operators look, and retried.
    fn stopped(&mut self, wanted: Selection, error: &anyhow::Error) {
        mark_collecting(
            &self.store,
            Some(&format!("no probes could be started: {error:#}")),
        );
        self.stall = Some(Stall {
            wanted,
            last_try: Some(Instant::now()),
        });
    }

    /// While collection is stopped, tries (every `RETRY_EVERY`) the wanted probes, then the
    /// previous ones; says so when collection resumes.
    pub fn retry_if_stopped(&mut self) {
        let Some(stall) = &self.stall else {
            return;
        };
        if stall.last_try.is_some_and(|at| at.elapsed() < RETRY_EVERY) {
            return;
        }
        let wanted = stall.wanted.clone();
        let Some(sender) = self.sender.clone() else {
            return;
        };
        let previous = self.selection.clone();
        let started = self
            .start_probes(&wanted, &sender)
            .map(|p| (p, wanted.clone()))
            .or_else(|error| {
                self.start_probes(&previous, &sender)
                    .map(|p| (p, previous.clone()))
                    .map_err(|again| error.context(format!("nor the previous ones: {again:#}")))
            });
        match started {
            Ok((publisher, selection)) => {
                let with = if selection == wanted {
                    "the new config's"
                } else {
                    "the previous config's"
                };
                self.publisher = Some(publisher);
                self.selection = selection;
                self.stall = None;
                mark_collecting(&self.store, None);
                tracing::warn!(
                    "event collection resumed with {with} probes; what the pinned kernel side \
                     recorded meanwhile is read now, what the ring buffer could not hold is \
                     counted in vigil_events.dropped_ring_buffer"
                );
            }
            Err(error) => {
                self.stopped(wanted, &error);
                tracing::error!(
                    "event collection is still stopped, next attempt in {} s: {error:#}",
                    RETRY_EVERY.as_secs()
                );
            }
        }
    }

    /// Stops the publisher, lets the writer store what is queued, and starts detaching the
    /// kernel programs: wait for that last.
    pub fn stop(mut self) -> Option<Detaching> {
        self.shutdown_and_detach(false)
    }

    /// As `stop`, but pinned kernel programs keep recording for the next worker.
    pub fn stop_keeping_kernel_side(mut self) {
        self.shutdown(true);
    }

    fn shutdown(&mut self, keep_kernel_side: bool) {
        if let Some(detaching) = self.shutdown_and_detach(keep_kernel_side) {
            detaching.wait();
        }
    }

    fn shutdown_and_detach(&mut self, keep_kernel_side: bool) -> Option<Detaching> {
        let detaching = match self.publisher.take() {
            Some(publisher) if keep_kernel_side => {
                publisher.stop_keeping_kernel_side();
                None
            }
            Some(publisher) => Some(publisher.stop()),
            None => None,
        };
        self.sender = None;
        if let Some(writer) = self.writer.take() {
            writer.join();
        }
        detaching
    }
}

/// Records whether events are collected (`vigil_events.active`): `stopped` says why not.
fn mark_collecting(store: &EventStore, stopped: Option<&str>) {
    let recorded = match stopped {
        Some(reason) => COLLECTION_STOPPED.set(store, &reason.to_owned()),
        None => COLLECTION_STOPPED.remove(store),
    };
    if let Err(error) = recorded {
        tracing::warn!(%error, "whether events are collected could not be recorded");
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        // Not an orderly stop (an error path): a next worker may still take the kernel side over.
        self.shutdown(true);
    }
}
