//! The store writer: one thread that drains the event channel, batches rows into RocksDB
//! `WriteBatch`es, enforces retention and saves the counters for other processes to read.

use std::{
    collections::HashMap,
    sync::Arc,
    thread::JoinHandle,
    time::{Duration, Instant},
};

use crossbeam_channel::{Receiver, RecvTimeoutError};

use super::{EventStore, ReadFloor};
use crate::{
    counters::{Counters, TableCounters},
    event_table::EventTable,
    publisher::EventBatch,
};

/// How long events are kept.
#[derive(Debug, Clone)]
pub struct RetentionPolicy {
    /// `--events_expiry`: rows older than this are deleted; `None` keeps them regardless of age.
    pub expiry: Option<Duration>,
    /// `--events_max`: rows per table beyond this are deleted, oldest first; `None`: no limit.
    pub max_rows: Option<u64>,
    /// What scheduled queries have yet to read (expiry by age does not go past it).
    pub read_floor: Option<Arc<ReadFloor>>,
}

#[derive(Debug, Clone)]
pub struct WriterConfig {
    pub retention: RetentionPolicy,
    /// Rows per write batch at most.
    pub batch_rows: usize,
    /// A batch is written at the latest this long after its first row arrived.
    pub batch_delay: Duration,
    /// How often retention runs.
    pub retention_interval: Duration,
}

impl Default for WriterConfig {
    fn default() -> Self {
        Self {
            retention: RetentionPolicy {
                expiry: Some(Duration::from_secs(3600)),
                max_rows: None,
                read_floor: None,
            },
            batch_rows: 1024,
            batch_delay: Duration::from_millis(50),
            retention_interval: Duration::from_secs(10),
        }
    }
}

/// How often counters are saved for other processes when no batch was written meanwhile.
const COUNTER_SAVE_INTERVAL: Duration = Duration::from_secs(1);

pub struct StoreWriter {
    thread: Option<JoinHandle<()>>,
}

impl StoreWriter {
    /// Starts the writer. It runs until every sender of `events` is dropped, then writes what it
    /// holds and returns.
    pub fn spawn(
        store: Arc<EventStore>,
        events: Receiver<EventBatch>,
        counters: Counters,
        config: WriterConfig,
    ) -> std::io::Result<Self> {
        let thread = std::thread::Builder::new()
            .name("vigil-store".into())
            .spawn(move || run(&store, &events, &counters, config))?;
        Ok(Self {
            thread: Some(thread),
        })
    }

    /// Waits for the writer to drain and stop (after the senders are gone).
    pub fn join(mut self) {
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

// Never inlined: `cargo xtask bench` profiles the writer's thread by this function's name.
#[inline(never)]
fn run(
    store: &EventStore,
    events: &Receiver<EventBatch>,
    counters: &Counters,
    config: WriterConfig,
) {
    let mut pending: HashMap<EventTable, Vec<(u64, Vec<u8>)>> = HashMap::new();
    let mut pending_rows = 0usize;
    let mut batch_started: Option<Instant> = None;
    let mut last_retention = Instant::now();
    let mut disconnected = false;
    let mut last_save = Instant::now();

    retention(store, counters, &config.retention);
    while !disconnected {
        let wait = match batch_started {
            Some(started) => config.batch_delay.saturating_sub(started.elapsed()),
            None => COUNTER_SAVE_INTERVAL.min(config.retention_interval),
        };
        match events.recv_timeout(wait) {
            Ok(batch) => {
                pending_rows += take(&mut pending, batch);
                batch_started.get_or_insert_with(Instant::now);
                // Take whatever else is already queued without waiting.
                while pending_rows < config.batch_rows {
                    let Ok(batch) = events.try_recv() else { break };
                    pending_rows += take(&mut pending, batch);
                }
            }
            Err(RecvTimeoutError::Timeout) => {
                // Drops can happen while no event arrives (the kernel counts them): keep the
                // saved counters current for readers in other processes.
                if last_save.elapsed() >= COUNTER_SAVE_INTERVAL {
                    save_counters(store, counters);
                    last_save = Instant::now();
                }
            }
            Err(RecvTimeoutError::Disconnected) => disconnected = true,
        }
        let due = batch_started.is_some_and(|s| s.elapsed() >= config.batch_delay);
        if pending_rows >= config.batch_rows || due || (disconnected && pending_rows > 0) {
            write_pending(store, counters, &mut pending);
            last_save = Instant::now();
            pending_rows = 0;
            batch_started = None;
        }
        if last_retention.elapsed() >= config.retention_interval {
            retention(store, counters, &config.retention);
            last_retention = Instant::now();
        }
    }
    save_counters(store, counters);
    if let Err(error) = store.flush() {
        tracing::warn!(%error, "flushing the event store at shutdown failed");
    }
}

/// Encodes a batch into the rows waiting for each table; returns how many.
fn take(pending: &mut HashMap<EventTable, Vec<(u64, Vec<u8>)>>, batch: EventBatch) -> usize {
    let rows = batch.len();
    for event in batch {
        pending
            .entry(event.table())
            .or_default()
            .push((event.time_ns(), event.encode()));
    }
    rows
}

fn write_pending(
    store: &EventStore,
    counters: &Counters,
    pending: &mut HashMap<EventTable, Vec<(u64, Vec<u8>)>>,
) {
    let batches: Vec<super::TableRows<'_>> = pending
        .iter()
        .filter(|(_, rows)| !rows.is_empty())
        .map(|(table, rows)| (*table, rows.as_slice()))
        .collect();
    if batches.is_empty() {
        return;
    }
    // Counted as stored before the write, because the counters are saved in the same write as
    // the rows: after a crash, the saved counters say exactly which records made it.
    for (table, rows) in &batches {
        if let Some(c) = counters.table(table.name()) {
            TableCounters::add(&c.stored, rows.len() as u64);
            TableCounters::add(&c.resolved, rows.len() as u64);
        }
    }
    if let Err(error) = store.append_tables(&batches, Some(counters)) {
        for (table, rows) in &batches {
            // The batch is lost: count it where it was lost and say why once per batch.
            tracing::error!(%error, table = table.name(), rows = rows.len(),
                "events could not be stored and were dropped");
            if let Some(c) = counters.table(table.name()) {
                c.stored
                    .fetch_sub(rows.len() as u64, std::sync::atomic::Ordering::Relaxed);
                TableCounters::add(&c.dropped_store, rows.len() as u64);
            }
        }
        save_counters(store, counters);
    }
    for rows in pending.values_mut() {
        rows.clear();
    }
}

fn save_counters(store: &EventStore, counters: &Counters) {
    if let Err(error) = store.save_counters(counters) {
        tracing::warn!(%error, "saving event counters failed");
    }
}

fn retention(store: &EventStore, counters: &Counters, policy: &RetentionPolicy) {
    retention_pass(store, counters, policy, crate::wall_clock::unix_nanos());
}

/// One retention pass over every table, as if the time were `now_ns`: expiry by age up to what
/// scheduled queries have read, then `--events_max`, counting what it removes unread.
pub fn retention_pass(
    store: &EventStore,
    counters: &Counters,
    policy: &RetentionPolicy,
    now_ns: u64,
) {
    let expiry_cutoff = policy
        .expiry
        .map(|expiry| now_ns.saturating_sub(expiry.as_nanos().min(u128::from(u64::MAX)) as u64));
    for table in EventTable::ALL {
        let floor = policy.read_floor.as_ref().and_then(|f| f.get(*table));
        match store.enforce_retention_counting(*table, expiry_cutoff, policy.max_rows, floor) {
            Ok((0, _)) => {}
            Ok((removed, unread)) => {
                if let Some(c) = counters.table(table.name()) {
                    TableCounters::add(&c.expired, removed);
                    TableCounters::add(&c.expired_unread, unread);
                }
                if unread > 0 {
                    tracing::warn!(
                        table = table.name(),
                        lost = unread,
                        "--events_max removed events that scheduled queries had not read yet; \
                         raise --events_max or run those queries more often"
                    );
                }
            }
            Err(error) => tracing::warn!(%error, table = table.name(), "event retention failed"),
        }
    }
}
