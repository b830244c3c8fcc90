//! SQL over a store holding 1,000,000 process events: a 1 % `time` range (pushed down to a
//! RocksDB range scan), a full-scan count, and a full scan with `path LIKE`, the last two beside
//! the same rows in a native SQLite table (in memory) so `cargo xtask bench --full` can report
//! their ratio.
//!
//! `VIGIL_BENCH_ROWS` sets the number of events (1,000,000 by default); `VIGIL_BENCH_STORE`
//! keeps the store in that directory (replaced if it exists) for `vigil query` to open later.

use std::{sync::Arc, time::Duration};

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use rusqlite::Connection;
use vigil_events::{
    Counters, EventStore, EventTable, ProcessAction, ProcessEvent, Syscall, Task,
    event_table::process::encode_process_event,
};
use vigil_tables::{Table, Value, evented::bpf_process_events};

/// Events are 10 ms apart: 1,000,000 of them span 10,000 s.
const SPACING_NS: u64 = 10_000_000;
const BASE_NS: u64 = 1_700_000_000_000_000_000;
/// One event in this many runs the program the `LIKE` scans look for.
const NEEDLE_EVERY: usize = 1000;

fn rows() -> usize {
    std::env::var("VIGIL_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(1_000_000)
}

fn event(i: usize) -> ProcessEvent {
    let program = if i.is_multiple_of(NEEDLE_EVERY) {
        "/usr/local/bin/needle"
    } else {
        "/usr/bin/cc"
    };
    ProcessEvent {
        action: ProcessAction::Exec,
        syscall: Syscall::Execve,
        time_ns: BASE_NS + i as u64 * SPACING_NS,
        task: Task {
            pid: 1000 + (i % 60_000) as u32,
            tid: 1000 + (i % 60_000) as u32,
            parent: 999,
            uid: 1000,
            gid: 1000,
            euid: 1000,
            egid: 1000,
            cgroup_id: 9,
            comm: "cc".into(),
        },
        path: program.into(),
        filename: program.into(),
        cwd: "/home/user/src/project".into(),
        argv: vec![
            program.into(),
            "-c".into(),
            format!("src/module_{}.c", i % 500),
            "-o".into(),
            format!("build/module_{i}.o"),
        ],
        argv_truncated: false,
        exit_code: 0,
        exit_signal: 0,
        child_pid: 0,
        duration_ns: 80_000,
        probe_error: 0,
        parent_path: "/usr/bin/make".into(),
    }
}

struct Fixture {
    /// Keeps a temporary store directory alive (none when `VIGIL_BENCH_STORE` names one).
    _dir: Option<tempfile::TempDir>,
    vtab: Connection,
    native: Connection,
    rows: usize,
}

fn store_path() -> (Option<tempfile::TempDir>, std::path::PathBuf) {
    match std::env::var_os("VIGIL_BENCH_STORE") {
        Some(path) => {
            let path = std::path::PathBuf::from(path);
            if path.exists() {
                std::fs::remove_dir_all(&path).expect("removing the previous bench store");
            }
            (None, path)
        }
        None => {
            let dir = tempfile::Builder::new()
                .prefix("vigil-bench-sql-")
                .tempdir()
                .expect("a temporary directory");
            let path = dir.path().join("db");
            (Some(dir), path)
        }
    }
}

fn fixture() -> Fixture {
    let rows = rows();
    let (dir, path) = store_path();
    let store = Arc::new(EventStore::open_primary(&path).expect("store opens"));
    let native = Connection::open_in_memory().expect("SQLite opens");
    let columns = bpf_process_events::table(None, &Counters::new(&EventTable::names()))
        .columns()
        .to_vec();
    let names: Vec<&str> = columns.iter().map(|c| c.name).collect();
    let definitions: Vec<String> = columns
        .iter()
        .map(|c| format!("{} {}", c.name, c.ty.sql()))
        .collect();
    native
        .execute_batch(&format!("CREATE TABLE native ({})", definitions.join(", ")))
        .expect("native table");
    let insert = format!(
        "INSERT INTO native ({}) VALUES ({})",
        names.join(", "),
        vec!["?"; names.len()].join(", ")
    );
    native.execute_batch("BEGIN").expect("begin");
    {
        let mut statement = native.prepare(&insert).expect("insert statement");
        for chunk_start in (0..rows).step_by(10_000) {
            let chunk_end = (chunk_start + 10_000).min(rows);
            let events: Vec<ProcessEvent> = (chunk_start..chunk_end).map(event).collect();
            let encoded: Vec<(u64, Vec<u8>)> = events
                .iter()
                .map(|e| (e.time_ns, encode_process_event(e)))
                .collect();
            store
                .append(EventTable::BpfProcessEvents, &encoded)
                .expect("append");
            for (offset, event) in events.iter().enumerate() {
                let row = bpf_process_events::row(event, (chunk_start + offset + 1) as u64);
                let values = row.iter().map(|value| match value {
                    Value::Null => rusqlite::types::Value::Null,
                    Value::Int(i) => rusqlite::types::Value::Integer(*i),
                    Value::Text(t) => rusqlite::types::Value::Text(t.clone()),
                });
                statement
                    .execute(rusqlite::params_from_iter(values))
                    .expect("insert");
            }
        }
    }
    native.execute_batch("COMMIT").expect("commit");
    store.flush().expect("flush");
    let vtab = Connection::open_in_memory().expect("SQLite opens");
    let table: Arc<dyn Table> = Arc::new(bpf_process_events::table(
        Some(store),
        &Counters::new(&EventTable::names()),
    ));
    vigil_tables::register(&vtab, &[table]).expect("register");
    Fixture {
        _dir: dir,
        vtab,
        native,
        rows,
    }
}

/// Runs `sql` and steps through every row, reading every column; returns the rows.
fn run(conn: &Connection, sql: &str) -> usize {
    let mut statement = conn.prepare_cached(sql).expect("prepare");
    let width = statement.column_count();
    let mut rows = statement.query([]).expect("query");
    let mut n = 0;
    while let Some(row) = rows.next().expect("step") {
        for i in 0..width {
            std::hint::black_box(row.get_ref(i).expect("column"));
        }
        n += 1;
    }
    n
}

fn count(conn: &Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |row| row.get(0)).expect("count")
}

fn bench(c: &mut Criterion) {
    let f = fixture();
    let span_s = (f.rows as u64 * SPACING_NS) / 1_000_000_000;
    let from = BASE_NS / 1_000_000_000 + span_s / 2;
    let to = from + (span_s / 100).max(1) - 1;
    let range = format!("SELECT * FROM bpf_process_events WHERE time BETWEEN {from} AND {to}");
    let in_range = run(&f.vtab, &range);
    assert!(in_range > 0, "the 1 % range holds rows");
    let like = "WHERE path LIKE '%needle%'";
    assert_eq!(
        count(
            &f.vtab,
            &format!("SELECT count(*) FROM bpf_process_events {like}")
        ),
        count(&f.native, &format!("SELECT count(*) FROM native {like}")),
        "the store and the native table hold the same rows"
    );

    let mut group = c.benchmark_group("sql_scan");
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(4));
    group.throughput(Throughput::Elements(in_range as u64));
    group.bench_function("time_range_1pct", |b| b.iter(|| run(&f.vtab, &range)));
    group.throughput(Throughput::Elements(f.rows as u64));
    group.bench_function("vtab_count", |b| {
        b.iter(|| count(&f.vtab, "SELECT count(*) FROM bpf_process_events"))
    });
    group.bench_function("native_count", |b| {
        b.iter(|| count(&f.native, "SELECT count(*) FROM native"))
    });
    let vtab_like = format!("SELECT count(*) FROM bpf_process_events {like}");
    let native_like = format!("SELECT count(*) FROM native {like}");
    group.bench_function("vtab_path_like", |b| b.iter(|| count(&f.vtab, &vtab_like)));
    group.bench_function("native_path_like", |b| {
        b.iter(|| count(&f.native, &native_like))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
