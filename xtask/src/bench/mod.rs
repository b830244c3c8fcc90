//! `cargo xtask bench`: vigil side by side with the tools users would pick instead, on loads of
//! our own making, and the store and SQL benches. A smoke run (`cargo xtask bench`, run by
//! `cargo xtask test`) checks in seconds that the harness works; the full run (`--full`, by
//! hand) writes BENCHMARKS.md and its plot at the repository's root.
//!
//! One module per job: [`load`] generates loads, [`tools`] runs each tool, [`measure`] and
//! [`kernel_cost`] measure, [`store_sql`] and [`profile`] run the criterion benches and profile
//! them, [`analysis`], [`report`] and [`plot`] turn [`figures`] into BENCHMARKS.md.

pub mod analysis;
pub mod cost_run;
pub mod figures;
pub mod kernel_cost;
pub mod kernel_profile;
pub mod load;
pub mod measure;
pub mod plot;
pub mod profile;
pub mod report;
pub mod store_sql;
pub mod syscall_load;
pub mod tools;

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::Duration,
};

use anyhow::{Context as _, bail};

use self::{
    figures::{Figures, Machine, Run, Skipped},
    load::{LoadKind, LoadSpec, Workspace},
    tools::{LoadMarks, StartError, ToolKind},
};
use crate::{cargo, run as run_cmd, target_dir, workspace_root};

/// The Debian packages of the peers, and `perf` for the kernel profile (installed by the full
/// run, never by `cargo xtask setup`).
const PEER_PACKAGES: &[&str] = &["auditd", "bpftrace", "bpfcc-tools", "linux-perf"];

pub struct Options {
    pub full: bool,
    /// Leave the peers out.
    pub no_peers: bool,
    /// Measure the release build (what users run); else the dev profile the tests build.
    pub release: bool,
    /// Only write the report and the plot again from this figures file.
    pub report: Option<PathBuf>,
    /// The storms' figures from this file (a full run stopped after them): run the rest.
    pub resume: Option<PathBuf>,
}

/// The cargo profile vigil and the criterion benches are built with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuildProfile {
    /// What the tests build: quick to build, RocksDB's C++ unoptimised.
    Dev,
    /// What users run (`cargo build --release`).
    Release,
}

impl BuildProfile {
    /// The name cargo's `--profile` takes.
    pub fn cargo_name(self) -> &'static str {
        match self {
            BuildProfile::Dev => "dev",
            BuildProfile::Release => "release",
        }
    }

    /// Where cargo leaves the profile's binaries under the target directory.
    pub fn dir(self) -> &'static str {
        match self {
            BuildProfile::Dev => "debug",
            BuildProfile::Release => "release",
        }
    }

    /// How the measured binary was built; `rocksdb_lib_dir` is `ROCKSDB_LIB_DIR`, which makes
    /// librocksdb-sys link a RocksDB built elsewhere instead of compiling its own.
    pub fn describe(self, rocksdb_lib_dir: Option<&Path>) -> String {
        let profile = match self {
            BuildProfile::Dev => {
                "dev profile: vigil-events and vigil-tables at opt-level 2, the agent and the \
                 dependencies unoptimised, as the tests build it"
            }
            BuildProfile::Release => {
                "release profile (`cargo build --release`, what users run): every crate optimised"
            }
        };
        match rocksdb_lib_dir {
            Some(dir) => format!(
                "{profile}; RocksDB's C++ not compiled by this profile but linked from \
                 `ROCKSDB_LIB_DIR={}`, built with whatever options that build had (a dev \
                 build's is unoptimised)",
                dir.display()
            ),
            None => format!("{profile}; RocksDB's C++ compiled by the same profile"),
        }
    }
}

/// What a run measures.
struct Plan {
    loads: Vec<LoadSpec>,
    tools: Vec<ToolKind>,
    store_sql: bool,
}

impl Plan {
    /// Every load runs 4 s at a fixed rate, or a fixed number of operations as fast as it can:
    /// about 15 minutes in all on 2 shared cores.
    fn full(no_peers: bool) -> Self {
        let paced = |kind, rate: u32| LoadSpec {
            kind,
            rate: Some(rate),
            count: u64::from(rate) * 4,
        };
        let max = |kind, count| LoadSpec {
            kind,
            rate: None,
            count,
        };
        let mut tools = vec![ToolKind::None, ToolKind::Vigil];
        if !no_peers {
            tools.extend(ToolKind::PEERS);
        }
        Self {
            loads: vec![
                paced(LoadKind::Exec, 100),
                paced(LoadKind::Exec, 400),
                paced(LoadKind::Exec, 1600),
                paced(LoadKind::Exec, 6400),
                max(LoadKind::Exec, 8000),
                paced(LoadKind::File, 1000),
                paced(LoadKind::File, 10_000),
                max(LoadKind::File, 100_000),
                paced(LoadKind::Tcp, 1000),
                max(LoadKind::Tcp, 20_000),
            ],
            tools,
            store_sql: true,
        }
    }

    /// Seconds: small rates, vigil only.
    fn smoke() -> Self {
        let paced = |kind, rate: u32| LoadSpec {
            kind,
            rate: Some(rate),
            count: u64::from(rate),
        };
        Self {
            loads: vec![
                paced(LoadKind::Exec, 50),
                paced(LoadKind::File, 100),
                paced(LoadKind::Tcp, 50),
            ],
            tools: vec![ToolKind::None, ToolKind::Vigil],
            store_sql: false,
        }
    }
}

pub fn main(options: &Options) -> anyhow::Result<()> {
    if let Some(path) = &options.report {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the figures file {}", path.display()))?;
        let figures: Figures = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a figures file", path.display()))?;
        return write_report(&figures, &workspace_root());
    }
    if !crate::is_root() {
        bail!("the bench loads eBPF programs and audit rules: run it as root");
    }
    let full = options.full;
    let plan = if full {
        Plan::full(options.no_peers)
    } else {
        Plan::smoke()
    };
    let profile = if options.release {
        BuildProfile::Release
    } else {
        BuildProfile::Dev
    };
    run_cmd(cargo().args([
        "build",
        "--profile",
        profile.cargo_name(),
        "--package",
        "vigil",
    ]))?;
    let vigil = target_dir().join(profile.dir()).join("vigil");
    if full && !options.no_peers {
        install_peers();
    }
    let out_dir = target_dir().join("bench");
    std::fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let mut figures = Figures {
        mode: if full { "full" } else { "smoke" }.to_owned(),
        command: match (full, profile) {
            (true, BuildProfile::Release) => "cargo xtask bench --full".to_owned(),
            (true, BuildProfile::Dev) => "cargo xtask bench --full --dev".to_owned(),
            (false, BuildProfile::Release) => "cargo xtask bench --release".to_owned(),
            (false, BuildProfile::Dev) => "cargo xtask bench".to_owned(),
        },
        machine: machine(&vigil, profile),
        runs: Vec::new(),
        skipped: Vec::new(),
        kernel_cost: Vec::new(),
        store_sql: None,
        profile: None,
        kernel_profile: None,
    };
    match &options.resume {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading the figures file {}", path.display()))?;
            let stormed: Figures = serde_json::from_str(&text)
                .with_context(|| format!("{} is not a figures file", path.display()))?;
            // The storms' machine facts (commit, load, start) are those of the storms.
            figures.machine = stormed.machine;
            figures.runs = stormed.runs;
            figures.skipped = stormed.skipped;
            figures.kernel_cost = stormed.kernel_cost;
        }
        None => run_storms(&plan, &vigil, &mut figures)?,
    }
    let json = out_dir.join(if full { "figures.json" } else { "smoke.json" });
    // Written now too: the storms' figures survive a failure of what follows.
    std::fs::write(&json, serde_json::to_string_pretty(&figures)?)
        .with_context(|| format!("writing {}", json.display()))?;
    if full {
        eprintln!("bench: each program's kernel cost and where it goes");
        match cost_run::profile(&vigil) {
            Ok(kernel) => figures.kernel_profile = Some(kernel),
            Err(error) => {
                eprintln!("bench: the kernel profile failed, the report goes without: {error:#}")
            }
        }
    }
    if plan.store_sql {
        figures.store_sql = Some(store_sql::run_all(&vigil, profile)?);
        match profile::run(profile) {
            Ok(profile) => figures.profile = Some(profile),
            Err(error) => eprintln!("bench: profiling failed, the report goes without: {error:#}"),
        }
    }
    figures.machine.ended_unix = measure::unix_now();
    figures.machine.load_end = measure::loadavg();
    std::fs::write(&json, serde_json::to_string_pretty(&figures)?)
        .with_context(|| format!("writing {}", json.display()))?;
    eprintln!("bench: figures in {}", json.display());
    if full {
        write_report(&figures, &workspace_root())?;
    } else {
        write_report(&figures, &out_dir)?;
        check_smoke(&figures)?;
    }
    Ok(())
}

/// BENCHMARKS.md and its plot in `dir`.
fn write_report(figures: &Figures, dir: &Path) -> anyhow::Result<()> {
    let plot_name = "benchmarks-host-cost.svg";
    let has_plot = !plot::series(figures).is_empty();
    if has_plot {
        plot::write(figures, &dir.join(plot_name))?;
    }
    let md = report::render(figures, has_plot.then_some(plot_name));
    let path = dir.join("BENCHMARKS.md");
    std::fs::write(&path, md).with_context(|| format!("writing {}", path.display()))?;
    eprintln!("bench: report in {}", path.display());
    Ok(())
}

/// The smoke run proves the harness counts what it should: every event of each small load
/// stored by vigil, nothing dropped, and every figure taken.
fn check_smoke(figures: &Figures) -> anyhow::Result<()> {
    let mut problems = Vec::new();
    for run in figures.runs.iter().filter(|r| r.tool == "vigil") {
        if run.captured_events != Some(run.expected_events) {
            problems.push(format!(
                "{}: vigil stored {:?} of {} events",
                run.load.label(),
                run.captured_events,
                run.expected_events
            ));
        }
        if run.vigil_counters.as_ref().is_none_or(|c| c.dropped() > 0) {
            problems.push(format!(
                "{}: vigil_events reports drops or was not read: {:?}",
                run.load.label(),
                run.vigil_counters
            ));
        }
        if run.start_ms.is_none() || run.stop_ms.is_none() || run.peak_rss_kb == 0 {
            problems.push(format!(
                "{}: start, stop or peak RSS missing",
                run.load.label()
            ));
        }
        if analysis::host_cost(&figures.runs, run).is_none() {
            problems.push(format!(
                "{}: no host cost (no baseline run)",
                run.load.label()
            ));
        }
    }
    if figures.kernel_cost.iter().all(|p| p.run_cnt == 0) {
        problems.push("no vigil program counted a run (kernel.bpf_stats_enabled)".into());
    }
    if !problems.is_empty() {
        bail!(
            "the bench's smoke run found problems:\n  {}",
            problems.join("\n  ")
        );
    }
    eprintln!("bench: smoke run passed ({} runs)", figures.runs.len());
    Ok(())
}

/// apt-get install of the peers; a peer that does not install is skipped later, saying why.
fn install_peers() {
    let missing: Vec<&str> = PEER_PACKAGES
        .iter()
        .copied()
        .filter(|pkg| {
            !Command::new("dpkg-query")
                .args(["-W", "-f=${Status}", pkg])
                .output()
                .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
        })
        .collect();
    if missing.is_empty() {
        return;
    }
    let installed = run_cmd(Command::new("apt-get").args(["update", "-q"])).and_then(|()| {
        run_cmd(
            Command::new("apt-get")
                .args(["install", "-y", "-q", "--no-install-recommends"])
                .args(&missing)
                .env("DEBIAN_FRONTEND", "noninteractive"),
        )
    });
    if let Err(error) = installed {
        eprintln!("bench: installing {} failed: {error:#}", missing.join(" "));
    }
}

fn machine(vigil: &Path, profile: BuildProfile) -> Machine {
    let commit = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(workspace_root())
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    let own = std::process::id() as i32;
    let other_vigil = measure::all_processes()
        .iter()
        .filter(|p| p.comm == "vigil" && p.pid != own)
        .count();
    let vigil_programs_before = std::fs::read_to_string("/proc/kallsyms")
        .map(|symbols| kernel_profile::vigil_programs_in(&symbols))
        .unwrap_or(0);
    if vigil_programs_before > 0 {
        eprintln!(
            "bench: {vigil_programs_before} vigil programs are already in the kernel (pinned by a \
             daemon that did not stop in order?); with no vigil running, `rm -r /sys/fs/bpf/vigil` \
             removes them. The report says so."
        );
    }
    Machine {
        kernel: measure::kernel(),
        cpu_model: measure::cpu_model(),
        cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
        memory_mib: measure::memory_mib(),
        os: measure::os(),
        vigil_binary: vigil
            .strip_prefix(target_dir())
            .map(|p| format!("$CARGO_TARGET_DIR/{}", p.display()))
            .unwrap_or_else(|_| vigil.display().to_string()),
        vigil_build: profile.describe(
            std::env::var_os("ROCKSDB_LIB_DIR")
                .as_deref()
                .map(Path::new),
        ),
        profile: profile.cargo_name().to_owned(),
        git_commit: commit,
        started_unix: measure::unix_now(),
        ended_unix: 0,
        load_start: measure::loadavg(),
        load_end: [0.0; 3],
        other_vigil_processes: other_vigil,
        vigil_programs_before,
    }
}

fn run_storms(plan: &Plan, vigil: &Path, figures: &mut Figures) -> anyhow::Result<()> {
    let workspace = Workspace::create()?;
    let _stats = kernel_cost::StatsEnabled::enable()?;
    let ctx = tools::Context {
        vigil,
        workspace: &workspace,
    };
    for load in &plan.loads {
        // The workload alone before and after the tools: its mean is the baseline.
        let mut order: Vec<ToolKind> = plan
            .tools
            .iter()
            .copied()
            .filter(|t| t.runs_under(load.kind))
            .collect();
        order.push(ToolKind::None);
        for tool in order {
            if figures.skipped.iter().any(|s| s.tool == tool.name()) {
                continue;
            }
            eprintln!("bench: {} under {}", tool.name(), load.label());
            match measure_run(load, tool, &ctx) {
                Ok((run, programs)) => {
                    kernel_cost::accumulate(&mut figures.kernel_cost, &programs);
                    figures.runs.push(run);
                }
                Err(RunError::Unavailable(reason)) => {
                    eprintln!("bench: skipping {}: {reason}", tool.name());
                    figures.skipped.push(Skipped {
                        tool: tool.name().to_owned(),
                        reason,
                    });
                }
                Err(RunError::Failed(error)) => {
                    return Err(error.context(format!("{} under {}", tool.name(), load.label())));
                }
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }
    Ok(())
}

/// Each of a tool's processes over the run: peak memory, CPU, and CPU per thread.
fn summarise_processes(
    roles: &[(&'static str, i32)],
    before: &[Option<measure::ThreadSample>],
) -> Vec<figures::ProcessSummary> {
    roles
        .iter()
        .zip(before)
        .filter_map(|((role, pid), before)| {
            let (cpu_s, threads) =
                measure::thread_cpu(before.as_ref()?, &measure::thread_sample(*pid)?);
            Some(figures::ProcessSummary {
                role: (*role).to_owned(),
                peak_rss_kb: measure::peak_rss_kb_of(*pid).unwrap_or(0),
                cpu_s,
                threads,
                rss_at_end: measure::rss_breakdown(*pid).unwrap_or_default(),
            })
        })
        .collect()
}

enum RunError {
    Unavailable(String),
    Failed(anyhow::Error),
}

impl From<anyhow::Error> for RunError {
    fn from(error: anyhow::Error) -> Self {
        RunError::Failed(error)
    }
}

fn measure_run(
    load: &LoadSpec,
    kind: ToolKind,
    ctx: &tools::Context<'_>,
) -> Result<(Run, Vec<figures::ProgramCost>), RunError> {
    let load_avg_1m = measure::loadavg()[0];
    let tool = match tools::start(kind, ctx) {
        Ok(tool) => tool,
        // A peer that cannot run, or fails to start, is skipped; vigil must run.
        Err(StartError::Unavailable(reason)) if kind != ToolKind::Vigil => {
            return Err(RunError::Unavailable(reason));
        }
        Err(StartError::Failed(error)) if kind != ToolKind::Vigil => {
            return Err(RunError::Unavailable(format!("{error:#}")));
        }
        Err(StartError::Unavailable(reason)) => return Err(anyhow::anyhow!(reason).into()),
        Err(StartError::Failed(error)) => return Err(error.into()),
    };
    let expected = load.count * load.kind.events_per_op();
    let mut run = Run {
        load: load.clone(),
        tool: kind.name().to_owned(),
        load_avg_1m,
        ops: 0,
        wall_s: 0.0,
        workload_cpu_s: 0.0,
        tool_cpu_s: 0.0,
        programs_s: None,
        peak_rss_kb: 0,
        largest_peak_rss_kb: 0,
        expected_events: expected,
        captured_events: None,
        vigil_counters: None,
        start_ms: None,
        stop_ms: None,
        processes: Vec::new(),
        note: None,
    };
    let Some(mut tool) = tool else {
        let finished = load::run(load, ctx.workspace)?;
        run.ops = finished.outcome.ops;
        run.wall_s = finished.outcome.wall_s;
        run.workload_cpu_s = finished.cpu_s;
        return Ok((run, Vec::new()));
    };
    let (pids, kernel_threads) = (tool.pids(), tool.kernel_threads());
    let cpu = || measure::cpu_s(&pids, &kernel_threads);
    let holders = tool.bpf_holders();
    let programs = || {
        (!holders.is_empty())
            .then(|| kernel_cost::run_time_ns(&holders).ok())
            .flatten()
    };
    let programs_before = programs();
    let roles = tool.processes();
    let threads_before: Vec<Option<measure::ThreadSample>> = roles
        .iter()
        .map(|(_, pid)| measure::thread_sample(*pid))
        .collect();
    let cpu_before = cpu();
    let since_s = measure::unix_now().saturating_sub(1);
    let finished = load::run(load, ctx.workspace)?;
    run.ops = finished.outcome.ops;
    run.wall_s = finished.outcome.wall_s;
    run.workload_cpu_s = finished.cpu_s;
    let marks = LoadMarks {
        kind: load.kind,
        exe: ctx.workspace.load_exe(),
        files_dir: ctx.workspace.files_dir(),
        pid: finished.pid,
        since_s,
    };
    let target = (kind == ToolKind::Vigil).then_some(expected);
    if let Err(error) = tools::wait_caught_up(
        tool.as_mut(),
        &marks,
        target,
        Duration::from_secs(3),
        Duration::from_secs(180),
    ) {
        run.note = Some(format!("{error:#}"));
    }
    run.tool_cpu_s = cpu() - cpu_before;
    run.processes = summarise_processes(&roles, &threads_before);
    if let (Some(before), Some(after)) = (programs_before, programs()) {
        run.programs_s = Some(after.saturating_sub(before) as f64 / 1e9);
    }
    let peaks = measure::peak_rss_kb(&pids);
    run.peak_rss_kb = peaks.iter().map(|(_, kb)| kb).sum();
    run.largest_peak_rss_kb = peaks.iter().map(|(_, kb)| *kb).max().unwrap_or(0);
    let finish = tool.finish(&marks)?;
    run.vigil_counters = finish.counters;
    if let Some(note) = finish.note {
        run.note = Some(match run.note.take() {
            Some(earlier) => format!("{earlier}; {note}"),
            None => note,
        });
    }
    run.start_ms = tool.start_ms();
    let stop_ms = tool.stop()?;
    if kind == ToolKind::Vigil {
        run.stop_ms = Some(stop_ms);
    }
    run.captured_events = Some(tool.captured(&marks)?);
    Ok((run, finish.programs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_build_description_says_where_rocksdb_came_from() {
        let own = BuildProfile::Release.describe(None);
        assert!(own.starts_with("release profile"));
        assert!(own.ends_with("RocksDB's C++ compiled by the same profile"));
        let linked = BuildProfile::Release.describe(Some(Path::new("/t/debug/build/x/out")));
        assert!(linked.contains("linked from `ROCKSDB_LIB_DIR=/t/debug/build/x/out`"));
        assert_eq!(BuildProfile::Dev.dir(), "debug");
        assert_eq!(BuildProfile::Release.cargo_name(), "release");
    }
}
