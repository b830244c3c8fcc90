//! Event collection in this process: this platform's publishers feeding the store writer.

mod slot;

use std::{sync::Arc, time::Duration};

use anyhow::Context as _;
use crossbeam_channel::Sender;
use vigil_events::{
    Counters, EventBatch, EventStore, EventTable, HandOver, Outlet, Stopping,
    file_filter::FileFilter,
    in_flight::{self, InFlightLedger},
    store::{ReadFloor, RetentionPolicy, StoreWriter, WriterConfig},
};
use vigil_state::daemon::COLLECTION_STOPPED;

use self::slot::{Slot, Start};
use crate::{cli::EventArgs, config::Config, probes};

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

/// What a new config did to the running collection.
pub enum Applied {
    /// Its file paths and event switches are those running.
    Unchanged,
    /// Its probes run.
    New,
    /// Its probes could not start; the previous ones still run.
    KeptPrevious(anyhow::Error),
    /// Neither its probes nor the previous ones could start: collection is stopped, marked
    /// (`vigil_events.active` 0) and retried every 10 s.
    Stopped(anyhow::Error),
}

impl Applied {
    /// What several publishers' outcomes amount to: the worst of them.
    fn worst(outcomes: impl IntoIterator<Item = Applied>) -> Applied {
        let rank = |applied: &Applied| match applied {
            Applied::Unchanged => 0,
            Applied::New => 1,
            Applied::KeptPrevious(_) => 2,
            Applied::Stopped(_) => 3,
        };
        outcomes
            .into_iter()
            .fold(Applied::Unchanged, |worst, next| {
                if rank(&next) > rank(&worst) {
                    next
                } else {
                    worst
                }
            })
    }
}

/// A running pipeline: publishers → bounded channel → store writer.
pub struct Collector {
    /// One per publisher of this platform, in start order.
    slots: Vec<Slot>,
    store: Arc<EventStore>,
    writer: Option<StoreWriter>,
    /// For publishers started on a new config; dropped at shutdown so the writer sees the end.
    sender: Option<Sender<EventBatch>>,
    counters: Counters,
    args: EventArgs,
    hand_over: Option<HandOver>,
    /// Counts what the readers take from the kernel, so a worker's death in flight is counted.
    ledger: Arc<InFlightLedger>,
    /// What `vigil_events.active` says now: why collection is stopped, or `None`.
    marked_stopped: Option<String>,
}

impl Collector {
    /// Starts collecting, with the config's file paths and event switches. `read_floor`, when
    /// the daemon schedules queries, holds back expiry of events they have not read yet. With
    /// `hand_over`, the kernel side is taken over from the previous worker on this database, and
    /// kept for the next.
    pub fn start(
        store: Arc<EventStore>,
        counters: Counters,
        args: &EventArgs,
        config: Option<&Config>,
        read_floor: Option<Arc<ReadFloor>>,
        hand_over: Option<HandOver>,
    ) -> anyhow::Result<Self> {
        let publishers = probes::publishers();
        if publishers.is_empty() {
            anyhow::bail!(
                "collecting events is not supported on this platform yet: vigil has no event \
                 publisher for {}",
                std::env::consts::OS
            );
        }
        let (sender, receiver) = vigil_events::event_channel(args.events_channel_size);
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
        let outlet = Outlet {
            sink: sender.clone(),
            counters: counters.clone(),
            ledger: Some(ledger.clone()),
        };
        let start = Start {
            args,
            outlet: &outlet,
            hand_over: hand_over.as_ref(),
        };
        // The publishers first: if the kernel side cannot load, nothing else was started.
        let slots = publishers
            .into_iter()
            .map(|publisher| Slot::start(publisher, selection.clone(), &start))
            .collect::<anyhow::Result<Vec<_>>>()?;
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
            slots,
            store,
            writer: Some(writer),
            sender: Some(sender),
            counters,
            args: args.clone(),
            hand_over,
            ledger,
            marked_stopped: None,
        })
    }

    /// Applies a reloaded config's file paths and event switches, if they changed, without
    /// losing events (see `Slot::reconfigure`).
    pub fn reconfigure(&mut self, config: Option<&Config>) -> Applied {
        let wanted = Selection::of(config);
        let Some(outlet) = self.outlet() else {
            return Applied::Unchanged;
        };
        let start = Start {
            args: &self.args,
            outlet: &outlet,
            hand_over: self.hand_over.as_ref(),
        };
        let applied = Applied::worst(
            self.slots
                .iter_mut()
                .map(|slot| slot.reconfigure(wanted.clone(), &start))
                .collect::<Vec<_>>(),
        );
        self.mark();
        applied
    }

    /// While a publisher is stopped, tries (every 10 s) its wanted probes, then the previous
    /// ones; says so when collection resumes.
    pub fn retry_if_stopped(&mut self) {
        let Some(outlet) = self.outlet() else {
            return;
        };
        let start = Start {
            args: &self.args,
            outlet: &outlet,
            hand_over: self.hand_over.as_ref(),
        };
        for slot in &mut self.slots {
            slot.retry_if_stopped(&start);
        }
        self.mark();
    }

    /// Where publishers started from now on send and count, while the writer runs.
    fn outlet(&self) -> Option<Outlet> {
        Some(Outlet {
            sink: self.sender.clone()?,
            counters: self.counters.clone(),
            ledger: Some(self.ledger.clone()),
        })
    }

    /// Records, when it changed, whether events are collected (`vigil_events.active`).
    fn mark(&mut self) {
        let stopped = self.slots.iter().find_map(Slot::stalled).map(str::to_owned);
        if stopped != self.marked_stopped {
            mark_collecting(&self.store, stopped.as_deref());
            self.marked_stopped = stopped;
        }
    }

    /// Stops the publishers, lets the writer store what is queued, and starts removing the
    /// kernel side: wait for that last.
    pub fn stop(mut self) -> Option<Stopping> {
        let stopping: Vec<Stopping> = self.slots.iter_mut().filter_map(Slot::stop).collect();
        self.stop_writer();
        (!stopping.is_empty()).then(|| Stopping::all(stopping))
    }

    /// As `stop`, but the kernel side that can outlive this worker keeps recording for the next.
    pub fn stop_keeping_kernel_side(mut self) {
        self.hand_over_and_stop_writer();
    }

    fn hand_over_and_stop_writer(&mut self) {
        for slot in &mut self.slots {
            slot.hand_over();
        }
        self.stop_writer();
    }

    fn stop_writer(&mut self) {
        self.sender = None;
        if let Some(writer) = self.writer.take() {
            writer.join();
        }
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
        self.hand_over_and_stop_writer();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn several_publishers_amount_to_the_worst_outcome() {
        let kept = || Applied::KeptPrevious(anyhow::anyhow!("kept"));
        assert!(matches!(
            Applied::worst([Applied::Unchanged, Applied::New]),
            Applied::New
        ));
        assert!(matches!(
            Applied::worst([Applied::New, kept(), Applied::Unchanged]),
            Applied::KeptPrevious(_)
        ));
        assert!(matches!(
            Applied::worst([
                Applied::Stopped(anyhow::anyhow!("stopped")),
                kept(),
                Applied::New
            ]),
            Applied::Stopped(_)
        ));
        assert!(matches!(Applied::worst([]), Applied::Unchanged));
    }
}
