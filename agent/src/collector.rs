//! Event collection in this process: the eBPF publisher feeding the store writer.

use std::{sync::Arc, time::Duration};

use anyhow::Context as _;
use vigil_events::{
    Counters, EventStore, EventTable,
    file_filter::FileFilter,
    linux::ebpf::{EbpfConfig, EbpfPublisher},
    store::{ReadFloor, RetentionPolicy, StoreWriter, WriterConfig},
};

use crate::{cli::EventArgs, config::Config, probes::PROCESS_PROBES};

/// A running pipeline: publisher → bounded channel → store writer.
pub struct Collector {
    publisher: Option<EbpfPublisher>,
    writer: Option<StoreWriter>,
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
        // Start the publisher first: if the kernel side cannot load, nothing else was started.
        let (file_filter, disabled_tables) = match config {
            Some(config) => (
                config.file_filter.clone(),
                EventTable::ALL
                    .iter()
                    .copied()
                    .filter(|t| !config.events.is_enabled(t.name()))
                    .collect(),
            ),
            None => (FileFilter::defaults(), Vec::new()),
        };
        let publisher = EbpfPublisher::start(
            PROCESS_PROBES,
            EbpfConfig {
                ringbuf_bytes: args.bpf_ringbuf_size,
                argv_limit: args.bpf_argv_limit,
                file_filter,
                disabled_tables,
                pin_dir,
            },
            sender,
            counters.clone(),
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
        })
    }

    /// Stops the publisher (and its kernel programs), then lets the writer store what is queued
    /// and stop.
    pub fn stop(mut self) {
        self.shutdown(false);
    }

    /// As `stop`, but pinned kernel programs keep recording for the next worker.
    pub fn stop_keeping_kernel_side(mut self) {
        self.shutdown(true);
    }

    fn shutdown(&mut self, keep_kernel_side: bool) {
        let detaching = match self.publisher.take() {
            Some(publisher) if keep_kernel_side => {
                publisher.stop_keeping_kernel_side();
                None
            }
            Some(publisher) => Some(publisher.stop()),
            None => None,
        };
        if let Some(writer) = self.writer.take() {
            writer.join();
        }
        if let Some(detaching) = detaching {
            detaching.wait();
        }
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        // Not an orderly stop (an error path): a next worker may still take the kernel side over.
        self.shutdown(true);
    }
}
