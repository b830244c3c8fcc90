//! The store and SQL benches (criterion, in events/benches and tables/benches), read back from
//! criterion's files, and `vigil query "SELECT 1"` on the store the SQL bench leaves behind.

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::Instant,
};

use anyhow::{Context as _, bail};

use super::{
    BuildProfile,
    figures::{BenchResult, StoreSql},
};
use crate::{cargo, run, target_dir};

/// The criterion benches the report reads: (package, bench target, group, names).
pub const BENCHES: &[(&str, &str, &str, &[&str])] = &[
    (
        "vigil-events",
        "store_ingest",
        "store_ingest",
        &["store_writer", "raw_rocksdb_batches", "raw_rocksdb_puts"],
    ),
    (
        "vigil-tables",
        "sql_scan",
        "sql_scan",
        &[
            "time_range_1pct",
            "vtab_count",
            "native_count",
            "vtab_path_like",
            "native_path_like",
        ],
    ),
    (
        "vigil-tables",
        "processes",
        "processes",
        &["baseline_read_proc_stat", "select_star", "select_pid_name"],
    ),
];

/// Events the SQL bench stores, and `vigil query` then opens.
pub const QUERY_STORE_ROWS: u64 = 1_000_000;

/// `cargo bench` for one bench target, in the profile vigil was built with. vigil-tables is
/// always among the packages: cargo resolves features over the packages a command names, and
/// vigil-events alone resolves RocksDB's build dependencies differently from the vigil build,
/// which rebuilt RocksDB's C++ (half an hour here) before its first bench ran.
pub fn cargo_bench(package: &str, bench: &str, profile: BuildProfile) -> Command {
    let mut cmd = cargo();
    cmd.args([
        "bench",
        "--profile",
        profile.cargo_name(),
        "--package",
        package,
        "--package",
        "vigil-tables",
        "--bench",
        bench,
    ]);
    cmd
}

pub fn query_store() -> PathBuf {
    target_dir().join("bench").join("store-1m")
}

pub fn run_all(vigil: &Path, profile: BuildProfile) -> anyhow::Result<StoreSql> {
    let store = query_store();
    for (package, bench, _, _) in BENCHES {
        let mut cmd = cargo_bench(package, bench, profile);
        if *bench == "sql_scan" {
            cmd.env("VIGIL_BENCH_STORE", &store)
                .env("VIGIL_BENCH_ROWS", QUERY_STORE_ROWS.to_string());
        }
        run(&mut cmd)?;
    }
    let mut figures = StoreSql {
        query_store_rows: QUERY_STORE_ROWS,
        ..StoreSql::default()
    };
    for (_, _, group, names) in BENCHES {
        for name in *names {
            let (mean_ns, elements) = criterion_result(group, name)?;
            figures.benches.push(BenchResult {
                id: format!("{group}/{name}"),
                mean_ns,
                elements,
            });
        }
    }
    figures.select_1_ms = select_1(vigil, &store, 10)?;
    Ok(figures)
}

/// `vigil query "SELECT 1"` on `db`, `tries` times: the time of each (ms).
pub fn select_1(vigil: &Path, db: &Path, tries: usize) -> anyhow::Result<Vec<f64>> {
    let mut times = Vec::with_capacity(tries);
    for _ in 0..tries {
        let started = Instant::now();
        let output = Command::new(vigil)
            .arg("query")
            .arg("--database_path")
            .arg(db)
            .arg("SELECT 1")
            .output()
            .context("running vigil query")?;
        let elapsed = started.elapsed().as_secs_f64() * 1e3;
        if !output.status.success() {
            bail!(
                "vigil query on {} failed: {}",
                db.display(),
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        times.push(elapsed);
    }
    Ok(times)
}

/// Mean time (ns) and elements per iteration of one criterion benchmark's latest run.
pub fn criterion_result(group: &str, name: &str) -> anyhow::Result<(f64, Option<f64>)> {
    let dir = target_dir()
        .join("criterion")
        .join(group)
        .join(name)
        .join("new");
    let read = |file: &str| -> anyhow::Result<serde_json::Value> {
        let path = dir.join(file);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        Ok(serde_json::from_str(&text)?)
    };
    let mean = read("estimates.json")?["mean"]["point_estimate"]
        .as_f64()
        .context("estimates.json has no mean")?;
    let elements = read("benchmark.json")?["throughput"]["Elements"].as_f64();
    Ok((mean, elements))
}
