//! Where the time of a missed target goes. `perf` where the machine counts instructions for it
//! (`perf stat -e instructions true`); otherwise callgrind on the store and SQL benches, with
//! collection on only inside criterion's timed loop (the fixture's setup left out).

use std::{path::PathBuf, process::Command};

use anyhow::{Context as _, bail};

use super::{
    figures::{Profile, ProfileSection},
    store_sql::cargo_bench,
};
use crate::target_dir;

/// Functions listed per profiled bench.
const HOTTEST: usize = 12;

/// Whether `perf` can count instructions here (in many VMs it cannot).
pub fn perf_works() -> bool {
    Command::new("perf")
        .args(["stat", "-e", "instructions", "true"])
        .output()
        .is_ok_and(|o| {
            o.status.success() && !String::from_utf8_lossy(&o.stderr).contains("not supported")
        })
}

/// (what, package, bench, filter, size variable, size): small sizes, callgrind runs ~50x slower.
const PROFILED: &[(&str, &str, &str, &str, &str, &str)] = &[
    (
        "store ingest through the store writer (store_ingest/store_writer, 5,000 events)",
        "vigil-events",
        "store_ingest",
        "store_writer",
        "VIGIL_BENCH_EVENTS",
        "5000",
    ),
    (
        "vtab full scan with path LIKE (sql_scan/vtab_path_like, 5,000 rows)",
        "vigil-tables",
        "sql_scan",
        "vtab_path_like",
        "VIGIL_BENCH_ROWS",
        "5000",
    ),
];

pub fn run() -> anyhow::Result<Profile> {
    let tool = if perf_works() {
        // The counters exist: still, callgrind's per-function instruction counts are what the
        // report lists, and they come out the same on a loaded machine.
        "callgrind (perf counts instructions here too; callgrind is used for its exact counts)"
    } else {
        "callgrind (`perf stat -e instructions true`: instructions not supported on this machine)"
    };
    let mut sections = Vec::new();
    for (what, package, bench, filter, variable, size) in PROFILED {
        let exe = bench_executable(package, bench)?;
        let out = target_dir()
            .join("bench")
            .join(format!("callgrind.{bench}.out"));
        let status = Command::new("valgrind")
            .arg("--tool=callgrind")
            .arg(format!("--callgrind-out-file={}", out.display()))
            .arg("--toggle-collect=*Bencher*iter*")
            .arg(&exe)
            .args(["--bench", "--profile-time", "3", filter])
            .env(variable, size)
            .status()
            .context("running valgrind (apt-get install valgrind)")?;
        if !status.success() {
            bail!("callgrind on {} failed: {status}", exe.display());
        }
        let annotate = Command::new("callgrind_annotate")
            .arg(&out)
            .output()
            .context("running callgrind_annotate")?;
        sections.push(ProfileSection {
            what: (*what).to_owned(),
            hottest: hottest(&String::from_utf8_lossy(&annotate.stdout), HOTTEST),
        });
    }
    Ok(Profile {
        tool: tool.to_owned(),
        sections,
    })
}

/// The bench's executable, built (cargo prints its path as JSON).
fn bench_executable(package: &str, bench: &str) -> anyhow::Result<PathBuf> {
    let output = cargo_bench(package, bench)
        .args(["--no-run", "--message-format=json"])
        .output()
        .context("building the bench")?;
    if !output.status.success() {
        bail!(
            "building {bench} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["target"]["name"] == *bench)
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .with_context(|| format!("cargo did not say where the {bench} executable is"))
}

/// The hottest functions of `callgrind_annotate`'s listing (`  1,234 (12.34%)  file:function`),
/// with their share, file names left out.
pub fn hottest(listing: &str, n: usize) -> Vec<(String, f64)> {
    listing
        .lines()
        .filter_map(|line| {
            let line = line.trim();
            let (_, rest) = line.split_once(" (")?;
            let (share, rest) = rest.split_once("%)")?;
            let share: f64 = share.trim().parse().ok()?;
            let location = rest.trim();
            let function = location.split_once(':').map_or(location, |(_, f)| f).trim();
            let function = function.split(" [").next().unwrap_or(function).to_owned();
            (!function.is_empty()).then_some((function, share))
        })
        .filter(|(_, share)| *share < 100.0)
        .take(n)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_annotated_listing_gives_functions_and_shares() {
        let listing = "\
--------------------------------------------------------------------------------
Ir                     file:function
--------------------------------------------------------------------------------
1,000,000 (100.0%)  PROGRAM TOTALS
  412,345 (41.23%)  ???:rocksdb::MemTable::Add(unsigned long) [/var/cache/x/store_ingest]
   98,765 ( 9.88%)  /rustc/x/library/core/src/slice.rs:core::slice::memchr::memchr
";
        let hottest = hottest(listing, 5);
        assert_eq!(
            hottest,
            vec![
                ("rocksdb::MemTable::Add(unsigned long)".to_owned(), 41.23),
                ("core::slice::memchr::memchr".to_owned(), 9.88),
            ]
        );
    }
}
