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

    /// Stops the publisher, then lets the writer store what is queued and stop.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(publisher) = self.publisher.take() {
            publisher.stop();
        }
        if let Some(writer) = self.writer.take() {
            writer.join();
        }
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.shutdown();
    }
}
