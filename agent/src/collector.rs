//! Event collection in this process: the eBPF publisher feeding the store writer.

use std::{sync::Arc, time::Duration};

use anyhow::Context as _;
use crossbeam_channel::Sender;
use vigil_events::{
    Counters, EventStore, EventTable,
    file_filter::FileFilter,
    in_flight::{self, InFlightLedger},
    linux::ebpf::{Detaching, EbpfConfig, EbpfPublisher},
    store::{ReadFloor, RetentionPolicy, StoreWriter, WriterConfig},
    tables::Event,
};

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

/// A running pipeline: publisher → bounded channel → store writer.
pub struct Collector {
    publisher: Option<EbpfPublisher>,
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

fn start_publisher(
    args: &EventArgs,
    selection: &Selection,
    pin_dir: Option<std::path::PathBuf>,
    sender: Sender<Event>,
    counters: Counters,
    ledger: Arc<InFlightLedger>,
) -> anyhow::Result<EbpfPublisher> {
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
        let writer = StoreWriter::spawn(
            store,
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
    pub fn reconfigure(&mut self, config: Option<&Config>) -> anyhow::Result<bool> {
        let wanted = Selection::of(config);
        if wanted == self.selection {
            return Ok(false);
        }
        let Some(sender) = self.sender.clone() else {
            return Ok(false);
        };
        let old = self.publisher.take();
        let pinned = old.as_ref().is_some_and(EbpfPublisher::is_pinned);
        if pinned && let Some(old) = old {
            old.stop_keeping_kernel_side();
            let start = |selection: &Selection| {
                start_publisher(
                    &self.args,
                    selection,
                    self.pin_dir.clone(),
                    sender.clone(),
                    self.counters.clone(),
                    self.ledger.clone(),
                )
            };
            match start(&wanted) {
                Ok(new) => self.publisher = Some(new),
                Err(error) => {
                    // Back to what ran: its probes are still pinned and recording.
                    self.publisher = Some(start(&self.selection)?);
                    return Err(error);
                }
            }
        } else {
            let new = start_publisher(
                &self.args,
                &wanted,
                self.pin_dir.clone(),
                sender,
                self.counters.clone(),
                self.ledger.clone(),
            );
            match new {
                Ok(new) => {
                    self.publisher = Some(new);
                    if let Some(old) = old {
                        old.stop().wait();
                    }
                }
                Err(error) => {
                    self.publisher = old;
                    return Err(error);
                }
            }
        }
        self.selection = wanted;
        Ok(true)
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

impl Drop for Collector {
    fn drop(&mut self) {
        // Not an orderly stop (an error path): a next worker may still take the kernel side over.
        self.shutdown(true);
    }
}
