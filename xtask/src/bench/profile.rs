//! Where the time of a missed target goes. `perf` where the machine counts instructions for it
//! (`perf stat -e instructions true`); otherwise callgrind on the store and SQL benches, with
//! collection on only inside criterion's timed loop (the fixture's setup left out).

use std::{path::PathBuf, process::Command};

use anyhow::{Context as _, bail};

use super::{
    BuildProfile,
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

/// One bench to profile: callgrind runs ~50× slower, so on a small size.
struct Profiled {
    what: &'static str,
    package: &'static str,
    bench: &'static str,
    filter: &'static str,
    /// The environment variable that sets the bench's size, and the size.
    size: (&'static str, &'static str),
    /// Where collection is on: the function whose work is measured (and what it calls).
    collect: &'static str,
}

const PROFILED: &[Profiled] = &[
    Profiled {
        what: "store ingest: the store writer's thread (store_ingest/store_writer, 20,000 events)",
        package: "vigil-events",
        bench: "store_ingest",
        filter: "store_writer",
        size: ("VIGIL_BENCH_EVENTS", "20000"),
        // The writer thread alone: opening the store, which the bench does not time, is left
        // out.
        collect: "vigil_events::store::writer::run",
    },
    Profiled {
        what: "vtab full scan with path LIKE (sql_scan/vtab_path_like, 20,000 rows)",
        package: "vigil-tables",
        bench: "sql_scan",
        filter: "vtab_path_like",
        size: ("VIGIL_BENCH_ROWS", "20000"),
        // criterion's timed loop: the fixture's setup is left out.
        collect: "*Bencher*iter*",
    },
];

pub fn run(profile: BuildProfile) -> anyhow::Result<Profile> {
    let tool = if perf_works() {
        "callgrind (perf counts instructions here too; callgrind's counts are exact and do not \
         depend on the machine's load)"
    } else {
        "callgrind (`perf stat -e instructions true`: instructions not supported on this machine)"
    };
    let mut sections = Vec::new();
    for p in PROFILED {
        let exe = bench_executable(p.package, p.bench, profile)?;
        let out = target_dir()
            .join("bench")
            .join(format!("callgrind.{}.out", p.bench));
        let status = Command::new("valgrind")
            .arg("--tool=callgrind")
            .arg(format!("--callgrind-out-file={}", out.display()))
            .arg(format!("--toggle-collect={}", p.collect))
            .arg(&exe)
            .args(["--bench", "--profile-time", "3", p.filter])
            .env(p.size.0, p.size.1)
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
            what: p.what.to_owned(),
            hottest: hottest(&String::from_utf8_lossy(&annotate.stdout), HOTTEST),
        });
    }
    Ok(Profile {
        tool: tool.to_owned(),
        sections,
    })
}

/// The bench's executable, built (cargo prints its path as JSON).
fn bench_executable(package: &str, bench: &str, profile: BuildProfile) -> anyhow::Result<PathBuf> {
    let output = cargo_bench(package, bench, profile)
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
