//! `SELECT * FROM processes` on a host with 1,000 extra sleeping processes, against a baseline
//! measured in the same run: reading every `/proc/<pid>/stat`, the least any process lister does.
//! `cargo xtask bench` prints the ratio and rows per second.

use std::{
    process::{Child, Command, Stdio},
    sync::Arc,
};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rusqlite::Connection;
use vigil_tables::{Table, snapshot::processes::Processes};

const EXTRA_PROCESSES: usize = 1000;

struct Sleepers(Vec<Child>);

impl Drop for Sleepers {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn sleepers() -> Sleepers {
    Sleepers(
        (0..EXTRA_PROCESSES)
            .filter_map(|_| {
                Command::new("sleep")
                    .arg("600")
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .spawn()
                    .ok()
            })
            .collect(),
    )
}

fn read_all_stat() -> usize {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    dir.flatten()
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.parse::<u32>().is_ok())
        })
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .count()
}

fn bench(c: &mut Criterion) {
    let _sleepers = sleepers();
    let conn = Connection::open_in_memory().expect("sqlite");
    let table: Arc<dyn Table> = Arc::new(Processes);
    vigil_tables::register(&conn, &[table]).expect("register");
    let count_rows = |sql: &str| -> usize {
        let mut stmt = conn.prepare(sql).expect("prepare");
        let mut rows = stmt.query([]).expect("query");
        let mut n = 0;
        while let Ok(Some(_)) = rows.next() {
            n += 1;
        }
        n
    };
    let count = || count_rows("SELECT * FROM processes");
    let rows = count();
    let mut group = c.benchmark_group("processes");
    group.throughput(Throughput::Elements(rows as u64));
    group.sample_size(20);
    group.bench_function("baseline_read_proc_stat", |b| b.iter(read_all_stat));
    group.bench_function("select_star", |b| b.iter(count));
    // Columns a query does not read are not read from /proc.
    group.bench_function("select_pid_name", |b| {
        b.iter(|| count_rows("SELECT pid, name FROM processes"))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
