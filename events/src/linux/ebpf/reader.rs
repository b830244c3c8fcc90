//! Reading the ring buffer on a thread of its own: each record is counted in the in-flight
//! ledger, decoded, enriched from the process table, filtered and sent to the store; the kernel's
//! own counters are read every tick and accounted for with the positions they were read up to.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    thread::JoinHandle,
    time::Duration,
};

use aya::{
    Ebpf,
    maps::{MapData, PerCpuArray, RingBuf},
};
use crossbeam_channel::{Sender, TrySendError};
use tokio::io::{Interest, unix::AsyncFd};
use vigil_ebpf_common::{counter, names};

use super::{
    config::EbpfError,
    decode::{self, family_table},
    source::SOURCE,
};
use crate::{
    counters::{Counters, TableCounters},
    event_table::{Event, EventTable},
    file_filter::FileFilter,
    in_flight::InFlightLedger,
    linux::{clock::BootClock, proc_table::ProcessTable},
    publisher::{BATCH_EVENTS, EventBatch, Outlet, Settings},
};

/// How often kernel counters are read, the clock offset refreshed and the stop flag checked.
const TICK: Duration = Duration::from_millis(250);

/// Once the kernel says records are waiting, the reader waits this long before it reads, so that
/// one wakeup takes a burst of records rather than each record waking it (the kernel only
/// signals a record that finds the buffer empty). Scaled down for buffers smaller than
/// [`COALESCE_FULL_RING`]: what arrives meanwhile must fit with room to spare.
const COALESCE: Duration = Duration::from_millis(10);
const COALESCE_FULL_RING: u32 = 8 * 1024 * 1024;

fn coalescing_delay(ring_bytes: u32) -> Duration {
    COALESCE.mul_f64((f64::from(ring_bytes) / f64::from(COALESCE_FULL_RING)).min(1.0))
}

/// Positions in the kernel's counters, one per kernel counter.
type Positions = [u64; counter::COUNT as usize];

pub(super) struct Reader {
    kernel_counters: PerCpuArray<MapData, u64>,
    /// How far the kernel's counters are accounted for.
    last_kernel: Positions,
    sink: Sender<EventBatch>,
    /// Events read and not yet sent to the store writer.
    batch: EventBatch,
    coalesce: Duration,
    counters: Counters,
    /// The counters of each table this publisher fills.
    tables: Vec<(EventTable, Arc<TableCounters>)>,
    ledger: Option<Arc<InFlightLedger>>,
    file_filter: FileFilter,
    processes: ProcessTable,
    clock: BootClock,
    stop: Arc<AtomicBool>,
}

impl Reader {
    /// Takes the ring buffer and the counters from the loaded object. A set that takes a pinned
    /// kernel side over continues from the positions saved with the counters (older versions
    /// kept them in the map itself); new maps start at zero.
    pub fn new(
        ebpf: &mut Ebpf,
        settings: &Settings,
        outlet: Outlet,
        takes_over: bool,
        stop: Arc<AtomicBool>,
    ) -> Result<(Self, RingBuf<MapData>), EbpfError> {
        let ring = RingBuf::try_from(
            ebpf.take_map(names::EVENTS_MAP)
                .ok_or(EbpfError::MissingMap(names::EVENTS_MAP))?,
        )?;
        let kernel_counters: PerCpuArray<MapData, u64> = PerCpuArray::try_from(
            ebpf.take_map(names::COUNTERS_MAP)
                .ok_or(EbpfError::MissingMap(names::COUNTERS_MAP))?,
        )?;
        let saved = outlet
            .counters
            .source_positions(SOURCE.name)
            .and_then(|saved| Positions::try_from(saved.as_slice()).ok());
        let last_kernel = match (takes_over, saved) {
            (false, _) => [0; counter::COUNT as usize],
            (true, Some(saved)) => saved,
            (true, None) => accounted(&kernel_counters),
        };
        outlet
            .counters
            .account_source(SOURCE.name, &last_kernel, || {});
        let reader = Self {
            kernel_counters,
            last_kernel,
            tables: SOURCE
                .tables
                .iter()
                .map(|&table| (table, table_counters(&outlet.counters, table)))
                .collect(),
            sink: outlet.sink,
            batch: Vec::with_capacity(BATCH_EVENTS),
            coalesce: coalescing_delay(settings.ringbuf_bytes),
            counters: outlet.counters,
            ledger: outlet.ledger,
            file_filter: settings.file_filter.clone(),
            processes: ProcessTable::from_proc(),
            clock: BootClock::now(),
            stop,
        };
        Ok((reader, ring))
    }

    /// Reads until the stop flag is set. The programs stay attached as long as `ebpf` lives: it
    /// is kept on the reader's thread.
    pub fn spawn(self, ring: RingBuf<MapData>, ebpf: Ebpf) -> Result<JoinHandle<()>, EbpfError> {
        std::thread::Builder::new()
            .name("vigil-ebpf".into())
            .spawn(move || {
                let _attached = ebpf;
                self.run(ring);
            })
            .map_err(EbpfError::Thread)
    }

    fn run(self, ring: RingBuf<MapData>) {
        let runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .build()
        {
            Ok(rt) => rt,
            Err(error) => {
                tracing::error!(%error, "cannot start the eBPF reader's runtime");
                return;
            }
        };
        runtime.block_on(self.read_loop(ring));
    }

    async fn read_loop(mut self, ring: RingBuf<MapData>) {
        // SAFETY: the ring buffer's fd is owned by `ring`, which the AsyncFd owns from here on and
        // deregisters before dropping.
        let mut ring = match unsafe { AsyncFd::register_with_interest(ring, Interest::READABLE) } {
            Ok(fd) => fd,
            Err(error) => {
                tracing::error!(%error, "cannot poll the eBPF ring buffer");
                return;
            }
        };
        let mut tick = tokio::time::interval(TICK);
        loop {
            tokio::select! {
                guard = ring.readable_mut() => {
                    let mut guard = match guard {
                        Ok(guard) => guard,
                        Err(error) => {
                            tracing::error!(%error, "polling the eBPF ring buffer failed");
                            return;
                        }
                    };
                    if !self.coalesce.is_zero() {
                        tokio::time::sleep(self.coalesce).await;
                    }
                    while let Some(item) = guard.get_inner_mut().next() {
                        if !self.handle(&item) {
                            return;
                        }
                    }
                    if !self.send_batch() {
                        return;
                    }
                    guard.clear_ready();
                }
                _ = tick.tick() => {
                    self.poll_kernel_counters();
                    self.clock = BootClock::now();
                    if self.stop.load(Ordering::Relaxed) {
                        // Drain what the kernel already queued, then stop.
                        while let Some(item) = ring.get_mut().next() {
                            if !self.handle(&item) {
                                break;
                            }
                        }
                        self.send_batch();
                        self.poll_kernel_counters();
                        return;
                    }
                }
            }
        }
    }

    fn counters_for(&self, table: EventTable) -> Arc<TableCounters> {
        self.tables
            .iter()
            .find(|(t, _)| *t == table)
            .map(|(_, counters)| counters.clone())
            .unwrap_or_default()
    }

    /// Handles one record; false when the consumer is gone.
    fn handle(&mut self, bytes: &[u8]) -> bool {
        // Counted before the record leaves the ring buffer: from here until the store has it,
        // only the ledger remembers it if this process dies.
        if let Some(ledger) = &self.ledger {
            ledger.take(decode::record_table(bytes));
        }
        let mut event = match decode::decode_record(bytes, &self.clock) {
            Ok(event) => event,
            Err(error) => {
                let counters = self.counters_for(decode::record_table(bytes));
                TableCounters::add(&counters.resolved, 1);
                let seen = counters.malformed.fetch_add(1, Ordering::Relaxed);
                if seen.is_power_of_two() {
                    tracing::warn!(%error, malformed_so_far = seen + 1,
                        "malformed record from the kernel; skipped and counted");
                }
                return true;
            }
        };
        let counters = self.counters_for(event.table());
        match &mut event {
            Event::Process(process) => self.processes.enrich(process),
            // Paths named relative to a directory are only known here, once joined: the kernel
            // could not filter those.
            Event::File(file) if !self.file_filter.reports(file) => {
                TableCounters::add(&counters.filtered, 1);
                TableCounters::add(&counters.resolved, 1);
                return true;
            }
            other => {
                if let Some(actor) = other.actor_mut() {
                    self.processes.enrich_actor(actor);
                }
            }
        }
        TableCounters::add(&counters.seen, 1);
        self.batch.push(event);
        self.batch.len() < BATCH_EVENTS || self.send_batch()
    }

    /// Sends the events read so far to the store writer. False when the writer is gone.
    fn send_batch(&mut self) -> bool {
        if self.batch.is_empty() {
            return true;
        }
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH_EVENTS));
        match send_or_count(&self.sink, batch, |table| self.counters_for(table)) {
            Sent::Taken => true,
            Sent::Dropped(mut batch) => {
                // The allocation serves the next batch.
                batch.clear();
                self.batch = batch;
                true
            }
            Sent::WriterGone => false,
        }
    }

    fn poll_kernel_counters(&mut self) {
        let mut deltas = Vec::new();
        let mut positions = self.last_kernel;
        for &(index, family, meaning) in counter::REPORTED {
            let Ok(values) = self.kernel_counters.get(&index, 0) else {
                continue;
            };
            let total: u64 = values.iter().sum();
            let last = &mut positions[index as usize];
            let delta = total.saturating_sub(*last);
            *last = total;
            if delta > 0 {
                deltas.push((self.counters_for(family_table(family)), meaning, delta));
            }
        }
        if deltas.is_empty() {
            return;
        }
        // The counts and the positions they were read up to change together: saved with the
        // counters, so a worker that takes the maps over counts each loss once.
        self.counters.account_source(SOURCE.name, &positions, || {
            for (counters, meaning, delta) in deltas {
                let target = match meaning {
                    counter::Meaning::RingBufferFull => &counters.dropped_ring_buffer,
                    counter::Meaning::ArgvTruncated => &counters.argv_truncated,
                    counter::Meaning::Filtered => &counters.filtered,
                };
                TableCounters::add(target, delta);
            }
        });
        self.last_kernel = positions;
    }
}

enum Sent {
    Taken,
    /// The channel was full: the batch is back, its events counted as dropped.
    Dropped(EventBatch),
    WriterGone,
}

/// Sends a batch to the store writer; one that finds the channel full is dropped whole, each of
/// its events counted in its own table.
fn send_or_count(
    sink: &Sender<EventBatch>,
    batch: EventBatch,
    counters_for: impl Fn(EventTable) -> Arc<TableCounters>,
) -> Sent {
    match sink.try_send(batch) {
        Ok(()) => Sent::Taken,
        Err(TrySendError::Full(batch)) => {
            for event in &batch {
                let counters = counters_for(event.table());
                TableCounters::add(&counters.dropped_channel, 1);
                TableCounters::add(&counters.resolved, 1);
            }
            Sent::Dropped(batch)
        }
        Err(TrySendError::Disconnected(_)) => Sent::WriterGone,
    }
}

/// How much of each kernel counter userspace has accounted for: zero for a new map, what the
/// previous worker reached for a pinned one.
fn accounted(map: &PerCpuArray<MapData, u64>) -> Positions {
    let mut out = [0; counter::COUNT as usize];
    for (index, slot) in out.iter_mut().enumerate() {
        if let Ok(values) = map.get(&(counter::COUNT + index as u32), 0) {
            *slot = values.iter().sum();
        }
    }
    out
}

pub(super) fn table_counters(counters: &Counters, table: EventTable) -> Arc<TableCounters> {
    counters.table(table.name()).cloned().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_that_finds_the_channel_full_is_counted_event_by_event() {
        let counters = Counters::new(&EventTable::names());
        let counters_for = |table: EventTable| table_counters(&counters, table);
        let (sink, queue) = crossbeam_channel::bounded::<EventBatch>(1);
        let process = Event::Process(crate::event_table::process::stored::tests::sample_event(1));
        let socket =
            Event::Socket(crate::event_table::socket::stored::tests::sample_socket_event(2));
        assert!(matches!(
            send_or_count(&sink, vec![process.clone()], counters_for),
            Sent::Taken
        ));
        let batch = vec![process.clone(), socket, process];
        let Sent::Dropped(back) = send_or_count(&sink, batch, counters_for) else {
            panic!("a full channel takes nothing");
        };
        assert_eq!(back.len(), 3);
        let values = |table: EventTable| counters_for(table).values();
        assert_eq!(values(EventTable::BpfProcessEvents).dropped_channel, 2);
        assert_eq!(values(EventTable::BpfProcessEvents).resolved, 2);
        assert_eq!(values(EventTable::BpfSocketEvents).dropped_channel, 1);
        assert_eq!(values(EventTable::BpfFileEvents).dropped_channel, 0);
        assert_eq!(queue.len(), 1);
        drop(queue);
        assert!(matches!(
            send_or_count(&sink, Vec::new(), counters_for),
            Sent::WriterGone
        ));
    }

    #[test]
    fn the_coalescing_delay_shrinks_with_the_ring_buffer() {
        assert_eq!(coalescing_delay(8 * 1024 * 1024), COALESCE);
        assert_eq!(coalescing_delay(64 * 1024 * 1024), COALESCE);
        assert_eq!(coalescing_delay(4 * 1024 * 1024), COALESCE / 2);
        // The smallest ring (4 KiB) holds about two records: it is read at once.
        assert!(coalescing_delay(4096) < Duration::from_micros(10));
    }
}
