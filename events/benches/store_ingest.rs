//! Store ingest against raw RocksDB, in the same process and on the same values: the store's
//! writer thread (channel, encoding, one `WriteBatch` per table, counters saved in the same
//! write, flush at the end) against a loop of RocksDB `WriteBatch`es of the same size holding the
//! same encoded values under 16-byte keys, and against a loop of single puts.
//! `cargo xtask bench --full` reads the three and reports their ratio.
//!
//! `VIGIL_BENCH_EVENTS` sets the events per iteration (100,000 by default).

use std::{sync::Arc, time::Duration};

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use rocksdb::{DB, Options, WriteBatch};
use vigil_events::{
    Actor, Counters, Event, EventStore, EventTable, FileEvent, FileOperation, ProcessAction,
    ProcessEvent, Syscall, Task,
    store::{RetentionPolicy, StoreWriter, WriterConfig},
};

/// Rows per write: the store writer's default batch.
const BATCH_ROWS: usize = 1024;

fn events_per_iteration() -> usize {
    std::env::var("VIGIL_BENCH_EVENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(100_000)
}

fn task(i: usize) -> Task {
    Task {
        pid: 4000 + (i % 30_000) as u32,
        tid: 4000 + (i % 30_000) as u32,
        parent: 1,
        uid: 1000,
        gid: 1000,
        euid: 1000,
        egid: 1000,
        cgroup_id: 9,
        comm: "build".into(),
    }
}

/// What a storm stores: one exec with a command line of varying length for every two file
/// events (create, unlink), as the exec and file storms make them.
fn events(n: usize) -> Vec<Event> {
    let base = 1_700_000_000_000_000_000u64;
    (0..n)
        .map(|i| {
            let time_ns = base + i as u64 * 1_000;
            if i % 3 == 0 {
                let args = 1 + i % 7;
                Event::Process(ProcessEvent {
                    action: ProcessAction::Exec,
                    syscall: Syscall::Execve,
                    time_ns,
                    task: task(i),
                    path: "/usr/bin/cc".into(),
                    filename: "/usr/bin/cc".into(),
                    cwd: "/home/user/src/project".into(),
                    argv: (0..args).map(|a| format!("--argument-{a}-{i}")).collect(),
                    argv_truncated: false,
                    exit_code: 0,
                    exit_signal: 0,
                    child_pid: 0,
                    duration_ns: 90_000,
                    probe_error: 0,
                    parent_path: "/usr/bin/make".into(),
                })
            } else {
                Event::File(FileEvent {
                    operation: if i % 3 == 1 {
                        FileOperation::Open
                    } else {
                        FileOperation::Unlink
                    },
                    syscall: Syscall::Openat,
                    time_ns,
                    actor: Actor {
                        task: task(i),
                        path: "/usr/bin/cc".into(),
                        cmdline: "cc -c -o main.o main.c".into(),
                    },
                    path: format!("/home/user/src/project/build/obj-{i}.o"),
                    path_resolved: true,
                    dest_path: String::new(),
                    mode: 0o644,
                    flags: 0o1101,
                    inode: i as u64,
                    device: 2049,
                    fd: 3,
                    result: 3,
                    new_uid: u32::MAX,
                    new_gid: u32::MAX,
                    size: -1,
                    duration_ns: 3_000,
                    probe_error: 0,
                })
            }
        })
        .collect()
}

fn temp_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("vigil-bench-ingest-")
        .tempdir()
        .expect("a temporary directory for the bench")
}

/// The store's path: events through its writer thread, as the daemon stores them.
fn store_ingest(events: &[Event]) -> Duration {
    let dir = temp_dir();
    let store = Arc::new(EventStore::open_primary(&dir.path().join("db")).expect("store opens"));
    let counters = Counters::new(&EventTable::names());
    let (sender, receiver) = vigil_events::event_channel(65_536);
    let config = WriterConfig {
        retention: RetentionPolicy {
            expiry: None,
            max_rows: None,
            read_floor: None,
        },
        ..WriterConfig::default()
    };
    // The events are cloned outside the timed part: the publisher hands the writer owned events.
    let owned: Vec<Event> = events.to_vec();
    let started = std::time::Instant::now();
    let writer = StoreWriter::spawn(store, receiver, counters, config).expect("writer starts");
    // In batches, as a publisher sends them.
    let mut owned = owned.into_iter().peekable();
    while owned.peek().is_some() {
        let batch: Vec<Event> = owned.by_ref().take(vigil_events::BATCH_EVENTS).collect();
        sender.send(batch).expect("the writer is running");
    }
    drop(sender);
    writer.join();
    started.elapsed()
}

fn raw_db(dir: &std::path::Path) -> DB {
    let mut opts = Options::default();
    opts.create_if_missing(true);
    // The store's own settings for a table: LZ4, 8 MiB write buffers.
    opts.set_compression_type(rocksdb::DBCompressionType::Lz4);
    opts.set_write_buffer_size(8 * 1024 * 1024);
    opts.set_max_write_buffer_number(2);
    DB::open(&opts, dir.join("raw")).expect("RocksDB opens")
}

fn key(time_ns: u64, seq: u64) -> [u8; 16] {
    let mut key = [0u8; 16];
    key[..8].copy_from_slice(&time_ns.to_be_bytes());
    key[8..].copy_from_slice(&seq.to_be_bytes());
    key
}

/// RocksDB alone: the same encoded values in batches of the writer's size, then a flush.
fn raw_batches(values: &[(u64, Vec<u8>)]) -> Duration {
    let dir = temp_dir();
    let db = raw_db(dir.path());
    let started = std::time::Instant::now();
    for (chunk_index, chunk) in values.chunks(BATCH_ROWS).enumerate() {
        let mut batch = WriteBatch::default();
        for (i, (time_ns, value)) in chunk.iter().enumerate() {
            batch.put(key(*time_ns, (chunk_index * BATCH_ROWS + i) as u64), value);
        }
        db.write(batch).expect("RocksDB write");
    }
    db.flush().expect("RocksDB flush");
    started.elapsed()
}

/// RocksDB alone, one put per value, then a flush.
fn raw_puts(values: &[(u64, Vec<u8>)]) -> Duration {
    let dir = temp_dir();
    let db = raw_db(dir.path());
    let started = std::time::Instant::now();
    for (i, (time_ns, value)) in values.iter().enumerate() {
        db.put(key(*time_ns, i as u64), value).expect("RocksDB put");
    }
    db.flush().expect("RocksDB flush");
    started.elapsed()
}

fn bench(c: &mut Criterion) {
    let n = events_per_iteration();
    let events = events(n);
    let values: Vec<(u64, Vec<u8>)> = events.iter().map(|e| (e.time_ns(), e.encode())).collect();
    let mut group = c.benchmark_group("store_ingest");
    group.throughput(Throughput::Elements(n as u64));
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(5));
    group.bench_function("store_writer", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| store_ingest(&events)).sum())
    });
    group.bench_function("raw_rocksdb_batches", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| raw_batches(&values)).sum())
    });
    group.bench_function("raw_rocksdb_puts", |b| {
        b.iter_custom(|iters| (0..iters).map(|_| raw_puts(&values)).sum())
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
