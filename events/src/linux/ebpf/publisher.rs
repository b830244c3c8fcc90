//! Loading the probes and reading their ring buffer.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    thread::JoinHandle,
    time::Duration,
};

use aya::{
    EbpfLoader,
    maps::{MapData, PerCpuArray, RingBuf},
};
use crossbeam_channel::{Sender, TrySendError};
use tokio::io::{Interest, unix::AsyncFd};
use vigil_ebpf_common::{
    ARGV_CAPACITY, DirKey, KernelOffsets, ProbeConfig, SocketOffsets, counter, dir_filter,
    filter_mode, names,
};

use super::{
    attach::{self, ProgramReport},
    btf::Btf,
    decode, layout, offsets,
    pins::{Attachment, Pins, detach_all, fnv1a},
    probes::FEATURES,
};
use crate::{
    counters::{Availability, Counters, TableCounters},
    event_table::{Event, EventTable},
    file_filter::{FileFilter, PathPattern},
    in_flight::InFlightLedger,
    linux::{clock::BootClock, proc_table::ProcessTable},
};

const TRACEFS: &str = "/sys/kernel/tracing";

#[derive(Debug, thiserror::Error)]
pub enum PublisherError {
    #[error(
        "vigil needs root (or the CAP_BPF and CAP_PERFMON capabilities) to load its eBPF \
         programs; run it as root, or pass --disable_events to query snapshot and agent tables \
         without kernel events"
    )]
    Permission,
    #[error(
        "tracefs is not mounted at {TRACEFS} and could not be mounted ({0}); mount it with \
         `mount -t tracefs tracefs {TRACEFS}`"
    )]
    Tracefs(std::io::Error),
    #[error("--bpf_ringbuf_size must be a power of two and at least 4096 bytes, got {0}")]
    RingBufferSize(u32),
    #[error("--bpf_argv_limit must be from 1 to {ARGV_CAPACITY} bytes, got {0}")]
    ArgvLimit(u32),
    #[error("the eBPF object has no map `{0}`")]
    MissingMap(&'static str),
    #[error("eBPF map setup failed: {0}")]
    Map(#[from] aya::maps::MapError),
    #[error("starting the reader thread failed: {0}")]
    Thread(std::io::Error),
}

/// Settings of the eBPF publisher.
#[derive(Debug, Clone)]
pub struct EbpfConfig {
    /// Ring buffer size in bytes (`--bpf_ringbuf_size`).
    pub ringbuf_bytes: u32,
    /// argv bytes kept per exec (`--bpf_argv_limit`).
    pub argv_limit: u32,
    /// Which file events are reported (`file_paths`, `exclude_paths`, `file_accesses`).
    pub file_filter: FileFilter,
    /// Event tables switched off (`events.disable_subscribers`): their probes are not attached.
    pub disabled_tables: Vec<EventTable>,
    /// Where (in bpffs) the ring buffer, counters and links are pinned so the kernel side outlives
    /// this process until the next one takes it over; `None`: it goes with this process.
    pub pin_dir: Option<std::path::PathBuf>,
    /// Where each record taken from the kernel is counted at once (see `in_flight`).
    pub ledger: Option<Arc<InFlightLedger>>,
}

impl Default for EbpfConfig {
    fn default() -> Self {
        Self {
            ringbuf_bytes: 8 * 1024 * 1024,
            argv_limit: vigil_ebpf_common::DEFAULT_ARGV_LIMIT,
            file_filter: FileFilter::defaults(),
            disabled_tables: Vec::new(),
            pin_dir: None,
            ledger: None,
        }
    }
}

/// A path's identity as the kernel's `super_block.s_dev` and inode number.
fn dir_key(path: &std::path::Path) -> Option<DirKey> {
    use std::os::unix::fs::MetadataExt as _;
    let meta = std::fs::metadata(path).ok()?;
    let dev = meta.dev();
    let (major, minor) = (libc::major(dev), libc::minor(dev));
    Some(DirKey {
        dev: (major << 20) | (minor & 0xf_ffff),
        _pad: 0,
        ino: meta.ino(),
    })
}

/// The nearest existing directory at or above a pattern's fixed part: a superset the kernel can
/// recognise; userspace then applies the pattern exactly.
fn nearest_existing(pattern: &PathPattern) -> Option<DirKey> {
    let prefix = pattern.static_prefix();
    std::path::Path::new(&prefix).ancestors().find_map(dir_key)
}

/// The kernel's share of the file filter: directory identities and the mode bits.
fn kernel_dir_filter(filter: &FileFilter) -> (Vec<(DirKey, u32)>, u32) {
    let mut entries: Vec<(DirKey, u32)> = Vec::new();
    let mut add = |key: DirKey, bits: u32| match entries.iter_mut().find(|(k, _)| *k == key) {
        Some((_, existing)) => *existing |= bits,
        None => entries.push((key, bits)),
    };
    for pattern in &filter.exclude {
        // Only a plain directory can be excluded by identity: excluding its parent instead
        // would hide events the pattern does not name.
        if pattern.is_plain_prefix() {
            match dir_key(std::path::Path::new(&pattern.static_prefix())) {
                Some(key) => add(key, dir_filter::EXCLUDE),
                None => tracing::debug!(pattern = pattern.text(), "exclude path does not exist"),
            }
        }
    }
    for pattern in &filter.include {
        if let Some(key) = nearest_existing(pattern) {
            add(key, dir_filter::INCLUDE);
        }
    }
    for pattern in &filter.accesses {
        if let Some(key) = nearest_existing(pattern) {
            add(key, dir_filter::ACCESSES);
        }
    }
    let mut mode = 0;
    if !filter.include.is_empty() {
        mode |= filter_mode::INCLUDE_ONLY;
    }
    if !filter.accesses.is_empty() {
        mode |= filter_mode::READ_OPENS;
    }
    (entries, mode)
}

/// The running kernel's BTF, or, without it, what each table loses.
fn kernel_types(disabled: &[EventTable]) -> (Option<Btf>, Vec<(EventTable, String)>) {
    let problem = match Btf::from_sys_fs() {
        Ok(Ok(btf)) => return (Some(btf), Vec::new()),
        Ok(Err(error)) => format!("the kernel's BTF does not parse ({error})"),
        Err(error) => {
            format!("the kernel has no readable BTF at /sys/kernel/btf/vmlinux ({error})")
        }
    };
    tracing::warn!(
        problem,
        "kernel struct offsets are unknown: events come without the fields \
        read from kernel structures"
    );
    let lost = |table: EventTable| match table {
        EventTable::BpfProcessEvents => {
            "parent, effective ids, argv, cwd, executable and exit codes"
        }
        EventTable::BpfSocketEvents => "parent, effective ids and the addresses read from sockets",
        EventTable::BpfFileEvents => {
            "parent, effective ids, and paths not given in full by the caller"
        }
    };
    let notes = EventTable::ALL
        .iter()
        .filter(|table| !disabled.contains(table))
        .map(|&table| (table, format!("{problem}: no {}", lost(table))))
        .collect();
    (None, notes)
}

impl EbpfConfig {
    fn validate(&self) -> Result<(), PublisherError> {
        if self.ringbuf_bytes < 4096 || !self.ringbuf_bytes.is_power_of_two() {
            return Err(PublisherError::RingBufferSize(self.ringbuf_bytes));
        }
        if self.argv_limit == 0 || self.argv_limit as usize > ARGV_CAPACITY {
            return Err(PublisherError::ArgvLimit(self.argv_limit));
        }
        Ok(())
    }
}

/// Whether this process may load tracing BPF programs: CAP_SYS_ADMIN, or CAP_BPF with
/// CAP_PERFMON (kernels since 5.8).
fn has_bpf_capabilities() -> bool {
    const CAP_SYS_ADMIN: u32 = 21;
    const CAP_PERFMON: u32 = 38;
    const CAP_BPF: u32 = 39;
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return false;
    };
    let effective = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .unwrap_or(0);
    let has = |cap: u32| effective & (1u64 << cap) != 0;
    has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON))
}

/// Tracepoints are attached by id, read from tracefs: mount it if a fresh machine has not.
fn ensure_tracefs() -> Result<(), PublisherError> {
    if std::path::Path::new(TRACEFS).join("events").exists() {
        return Ok(());
    }
    crate::linux::mount::mount_pseudo_fs(c"tracefs", c"/sys/kernel/tracing")
        .map_err(PublisherError::Tracefs)
}

fn raise_memlock_limit() {
    let unlimited = libc::rlimit {
        rlim_cur: libc::RLIM_INFINITY,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: a valid rlimit for the duration of the call. Failure only matters on kernels before
    // 5.11 (memcg accounting), where loading then reports its own error.
    unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &unlimited) };
}

/// The eBPF process publisher, running on its own thread until stopped.
pub struct EbpfPublisher {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    pins: Option<Pins>,
    links: Vec<Attachment>,
    programs: Vec<ProgramReport>,
}

impl EbpfPublisher {
    /// Loads and attaches the probes in `object` (the compiled eBPF ELF), then reads events into
    /// `sink` on a new thread. Errors come back here, before anything runs.
    pub fn start(
        object: &[u8],
        config: EbpfConfig,
        sink: Sender<Event>,
        counters: Counters,
    ) -> Result<Self, PublisherError> {
        config.validate()?;
        if !has_bpf_capabilities() {
            return Err(PublisherError::Permission);
        }
        ensure_tracefs()?;
        raise_memlock_limit();

        let (btf, notes) = kernel_types(&config.disabled_tables);
        let offsets: KernelOffsets = btf
            .as_ref()
            .and_then(|btf| {
                offsets::resolve(btf)
                    .inspect_err(|error| {
                        // Degrade rather than refuse: events still flow, without the fields that
                        // need them, and each record says what it lacks (probe_error).
                        tracing::warn!(%error, "kernel struct layout not understood; parent, \
                            euid, argv, cwd, paths and exit codes will be missing from events");
                    })
                    .ok()
            })
            .unwrap_or(KernelOffsets::UNRESOLVED);
        let socket_offsets: SocketOffsets = btf
            .as_ref()
            .and_then(|btf| {
                offsets::resolve_socket(btf)
                    .inspect_err(|error| {
                        tracing::warn!(%error, "kernel socket layout not understood; socket \
                            events will lack addresses read from the kernel");
                    })
                    .ok()
            })
            .unwrap_or(SocketOffsets::UNRESOLVED);
        let layout = layout::plan(std::path::Path::new(TRACEFS), btf.as_ref(), FEATURES);
        // The parsed BTF is tens of megabytes: not kept past what needs it.
        drop(btf);
        let (dir_entries, file_filter_mode) = kernel_dir_filter(&config.file_filter);

        let layout_hash = fnv1a(&[object, &config.ringbuf_bytes.to_le_bytes()]);
        let pin_dir = config.pin_dir.as_deref().filter(|_| {
            // Kernels before 5.15 attach tracepoints without BPF links, which cannot be pinned.
            let links = aya::features().bpf_perf_link();
            if !links {
                tracing::warn!(
                    "this kernel attaches tracepoint programs without BPF links \
                    (before Linux 5.15): they cannot be pinned, so events during a worker \
                    restart will be missed"
                );
            }
            links
        });
        let mut pins = match pin_dir.map(|dir| Pins::prepare(dir, layout_hash)) {
            Some(Ok(pins)) => Some(pins),
            Some(Err(error)) => {
                tracing::warn!(%error, "events during a worker restart will be missed");
                None
            }
            None => None,
        };
        // A set taken over keeps recording until this one is ready, then they switch at once.
        let generation = pins
            .as_ref()
            .filter(|p| p.reused)
            .and_then(|p| active_generation(&p.map_path(names::ACTIVE_MAP)))
            .map_or(1, |active| active.wrapping_add(1).max(1));
        let probe_config = ProbeConfig {
            agent_tgid: std::process::id(),
            argv_limit: config.argv_limit,
            file_filter_mode,
            generation,
        };
        let mut loader = EbpfLoader::new();
        loader
            .override_global(names::CONFIG_GLOBAL, &probe_config, true)
            .override_global(names::OFFSETS_GLOBAL, &offsets, true)
            .override_global(names::SOCKET_OFFSETS_GLOBAL, &socket_offsets, true)
            .override_global(names::TRACEPOINT_FIELDS_GLOBAL, &layout.fields, true)
            .map_max_entries(names::EVENTS_MAP, config.ringbuf_bytes);
        if let Some(pins) = &pins {
            // Taken over when a previous worker left them, created and pinned otherwise.
            loader
                .map_pin_path(names::EVENTS_MAP, pins.map_path(names::EVENTS_MAP))
                .map_pin_path(names::COUNTERS_MAP, pins.map_path(names::COUNTERS_MAP))
                .map_pin_path(names::ACTIVE_MAP, pins.map_path(names::ACTIVE_MAP));
            for name in names::PENDING_MAPS {
                loader.map_pin_path(name, pins.map_path(name));
            }
        }
        let mut ebpf = match loader.load(object) {
            Ok(ebpf) => ebpf,
            Err(error) => {
                // No map could be made (ring buffers need Linux 5.8): no table gets events, and
                // each says why; the rest of vigil runs on.
                let reason = format!("the kernel cannot load vigil's eBPF object: {error}");
                for table in EventTable::ALL {
                    if !config.disabled_tables.contains(table) {
                        table_counters(&counters, *table).set_availability(Availability {
                            available: false,
                            reason: reason.clone(),
                        });
                    }
                }
                tracing::error!(%error, "no kernel events on this kernel: loading the eBPF \
                    object failed");
                return Ok(Self {
                    stop: Arc::new(AtomicBool::new(false)),
                    thread: None,
                    pins: None,
                    links: Vec::new(),
                    programs: Vec::new(),
                });
            }
        };
        let attached = attach::attach_features(
            &mut ebpf,
            &layout,
            &config.disabled_tables,
            pins.as_mut(),
            &notes,
        );
        for (table, availability) in attached.tables {
            table_counters(&counters, table).set_availability(availability);
        }
        let links = attached.links;
        {
            let map = ebpf
                .map_mut(names::DIR_FILTER_MAP)
                .ok_or(PublisherError::MissingMap(names::DIR_FILTER_MAP))?;
            let mut dirs: aya::maps::HashMap<_, DirKey, u32> = aya::maps::HashMap::try_from(map)?;
            for (key, bits) in &dir_entries {
                dirs.insert(key, bits, 0)?;
            }
        }
        // Everything is attached and configured: this set records from now on, and the set it
        // took over stops, in the same instant.
        {
            let map = ebpf
                .map_mut(names::ACTIVE_MAP)
                .ok_or(PublisherError::MissingMap(names::ACTIVE_MAP))?;
            let mut active: aya::maps::Array<_, u32> = aya::maps::Array::try_from(map)?;
            active.set(0, generation, 0)?;
        }
        if let Some(pins) = &mut pins {
            if pins.reused {
                tracing::info!("took over the previous worker's kernel ring buffer and counters");
            }
            pins.detach_predecessors();
        }
        let ring = RingBuf::try_from(
            ebpf.take_map(names::EVENTS_MAP)
                .ok_or(PublisherError::MissingMap(names::EVENTS_MAP))?,
        )?;
        let kernel_counters: PerCpuArray<MapData, u64> = PerCpuArray::try_from(
            ebpf.take_map(names::COUNTERS_MAP)
                .ok_or(PublisherError::MissingMap(names::COUNTERS_MAP))?,
        )?;

        let stop = Arc::new(AtomicBool::new(false));
        // Kernel counters survive in pinned maps: a worker that takes them over continues from
        // the positions saved with the counters (older versions kept them in the map itself);
        // new maps start at zero.
        let reused = pins.as_ref().is_some_and(|p| p.reused);
        let saved = counters.source_positions();
        let last_kernel = if !reused {
            [0; counter::COUNT as usize]
        } else if let Ok(saved) = <[u64; counter::COUNT as usize]>::try_from(saved.as_slice()) {
            saved
        } else {
            accounted(&kernel_counters)
        };
        counters.account_source(&last_kernel, || {});
        let reader = Reader {
            kernel_counters,
            sink,
            process_counters: table_counters(&counters, EventTable::BpfProcessEvents),
            socket_counters: table_counters(&counters, EventTable::BpfSocketEvents),
            file_counters: table_counters(&counters, EventTable::BpfFileEvents),
            file_filter: config.file_filter.clone(),
            processes: ProcessTable::from_proc(),
            clock: BootClock::now(),
            last_kernel,
            counters: counters.clone(),
            ledger: config.ledger.clone(),
            stop: stop.clone(),
        };
        let thread = std::thread::Builder::new()
            .name("vigil-ebpf".into())
            .spawn(move || {
                // The programs stay attached as long as `ebpf` lives: keep it on this thread.
                let _attached = ebpf;
                reader.run(ring);
            })
            .map_err(PublisherError::Thread)?;
        Ok(Self {
            stop,
            thread: Some(thread),
            pins,
            links,
            programs: attached.programs,
        })
    }

    /// Stops reading (within a poll interval) and starts detaching the probes, which takes the
    /// kernel seconds: wait for it last, once everything else is saved.
    pub fn stop(mut self) -> Detaching {
        self.stop_and_join();
        if let Some(pins) = self.pins.take() {
            pins.release();
        }
        let links = std::mem::take(&mut self.links);
        Detaching(
            std::thread::Builder::new()
                .name("vigil-detach".into())
                .spawn(move || detach_all(links))
                .ok(),
        )
    }

    /// What each program did on this kernel: verified, attached where, or why not.
    pub fn programs(&self) -> &[ProgramReport] {
        &self.programs
    }

    /// Whether the probes are pinned (they outlive this publisher until another takes over).
    pub fn is_pinned(&self) -> bool {
        self.pins.is_some()
    }

    /// Stops reading but leaves the pinned probes recording, for the next worker to take over
    /// (probes that could not be pinned are detached).
    pub fn stop_keeping_kernel_side(mut self) {
        self.stop_and_join();
        detach_all(std::mem::take(&mut self.links));
    }

    fn stop_and_join(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for EbpfPublisher {
    fn drop(&mut self) {
        self.stop_and_join();
        detach_all(std::mem::take(&mut self.links));
    }
}

/// The generation recording in a pinned program set's switch map, if it can be read.
fn active_generation(path: &std::path::Path) -> Option<u32> {
    let map = aya::maps::MapData::from_pin(path).ok()?;
    let active: aya::maps::Array<_, u32> =
        aya::maps::Array::try_from(aya::maps::Map::Array(map)).ok()?;
    active.get(&0, 0).ok()
}

/// How much of each kernel counter userspace has accounted for: zero for a new map, what the
/// previous worker reached for a pinned one.
fn accounted(map: &PerCpuArray<MapData, u64>) -> [u64; counter::COUNT as usize] {
    let mut out = [0; counter::COUNT as usize];
    for (index, slot) in out.iter_mut().enumerate() {
        if let Ok(values) = map.get(&(counter::COUNT + index as u32), 0) {
            *slot = values.iter().sum();
        }
    }
    out
}

/// Probes being detached in the background.
pub struct Detaching(Option<JoinHandle<()>>);

impl Detaching {
    pub fn wait(mut self) {
        if let Some(thread) = self.0.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Detaching {
    fn drop(&mut self) {
        if let Some(thread) = self.0.take() {
            let _ = thread.join();
        }
    }
}

fn table_counters(counters: &Counters, table: EventTable) -> Arc<TableCounters> {
    counters.table(table.name()).cloned().unwrap_or_default()
}

struct Reader {
    kernel_counters: PerCpuArray<MapData, u64>,
    sink: Sender<Event>,
    process_counters: Arc<TableCounters>,
    socket_counters: Arc<TableCounters>,
    file_counters: Arc<TableCounters>,
    file_filter: FileFilter,
    processes: ProcessTable,
    clock: BootClock,
    last_kernel: [u64; counter::COUNT as usize],
    counters: Counters,
    ledger: Option<Arc<InFlightLedger>>,
    stop: Arc<AtomicBool>,
}

/// How often kernel counters are read, the clock offset refreshed and the stop flag checked.
const TICK: Duration = Duration::from_millis(250);

impl Reader {
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
                    while let Some(item) = guard.get_inner_mut().next() {
                        if !self.handle(&item) {
                            return;
                        }
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
                        self.poll_kernel_counters();
                        return;
                    }
                }
            }
        }
    }

    fn counters_for(&self, table: EventTable) -> &Arc<TableCounters> {
        match table {
            EventTable::BpfProcessEvents => &self.process_counters,
            EventTable::BpfSocketEvents => &self.socket_counters,
            EventTable::BpfFileEvents => &self.file_counters,
        }
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
        match &mut event {
            Event::Process(process) => self.processes.enrich(process),
            Event::Socket(socket) => self.processes.enrich_actor(&mut socket.actor),
            Event::File(file) => {
                // Paths named relative to a directory are only known here, once joined: the
                // kernel could not filter those.
                if !self.file_filter.reports(file) {
                    TableCounters::add(&self.file_counters.filtered, 1);
                    TableCounters::add(&self.file_counters.resolved, 1);
                    return true;
                }
                self.processes.enrich_actor(&mut file.actor);
            }
        }
        let counters = self.counters_for(event.table());
        TableCounters::add(&counters.seen, 1);
        match self.sink.try_send(event) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                TableCounters::add(&counters.dropped_channel, 1);
                TableCounters::add(&counters.resolved, 1);
                true
            }
            Err(TrySendError::Disconnected(_)) => false,
        }
    }

    fn poll_kernel_counters(&mut self) {
        let mut deltas = Vec::new();
        let mut positions = self.last_kernel;
        for index in [
            counter::RINGBUF_FULL_EXEC,
            counter::RINGBUF_FULL_FORK,
            counter::RINGBUF_FULL_EXIT,
            counter::ARGV_TRUNCATED,
            counter::RINGBUF_FULL_SOCKET,
            counter::RINGBUF_FULL_FILE,
            counter::FILE_FILTERED,
        ] {
            let Ok(values) = self.kernel_counters.get(&index, 0) else {
                continue;
            };
            let total: u64 = values.iter().sum();
            let last = &mut positions[index as usize];
            let delta = total.saturating_sub(*last);
            *last = total;
            if delta > 0 {
                deltas.push((index, delta));
            }
        }
        if deltas.is_empty() {
            return;
        }
        // The counts and the positions they were read up to change together: saved with the
        // counters, so a worker that takes the maps over counts each loss once.
        self.counters.account_source(&positions, || {
            for (index, delta) in deltas {
                let target = match index {
                    counter::ARGV_TRUNCATED => &self.process_counters.argv_truncated,
                    counter::RINGBUF_FULL_SOCKET => &self.socket_counters.dropped_ring_buffer,
                    counter::RINGBUF_FULL_FILE => &self.file_counters.dropped_ring_buffer,
                    counter::FILE_FILTERED => &self.file_counters.filtered,
                    _ => &self.process_counters.dropped_ring_buffer,
                };
                TableCounters::add(target, delta);
            }
        });
        self.last_kernel = positions;
    }
}
