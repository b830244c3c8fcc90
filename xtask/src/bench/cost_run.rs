//! `cargo xtask kernel-cost`: what each vigil program costs per run, quickly and repeatably. It
//! starts the dev build's daemon with the kernel's program statistics on, makes a fixed load that
//! runs every process, file and socket program many times (an exec storm with some failed execs,
//! [`syscall_load`]), and prints `run_time_ns / run_cnt` per program for each round of it.

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::{Context as _, bail};

use super::{
    figures::{KernelProfile, ProgramCost, ProgramProfile},
    kernel_cost, kernel_profile,
    load::{self, LoadKind, LoadSpec, Workspace},
    syscall_load,
    tools::{self, ToolKind},
};
use crate::{cargo, run as run_cmd, target_dir};

pub struct Options {
    /// Times the load runs, each measured apart (the spread between them is the noise).
    pub rounds: u32,
    /// Execs of the exec storm in each round.
    pub execs: u64,
    /// Rounds of the file and socket syscalls in each round.
    pub syscalls: u64,
    /// Measure this vigil binary instead of building the dev profile's (to compare two builds
    /// on the same load, one after the other).
    pub vigil: Option<PathBuf>,
    /// Record with `perf` too, and print where each program's time goes.
    pub perf: bool,
}

/// The load's defaults (`--execs`, `--syscalls`).
pub const DEFAULT_EXECS: u64 = 2000;
pub const DEFAULT_SYSCALLS: u64 = 2000;

pub fn main(options: &Options) -> anyhow::Result<()> {
    if !crate::is_root() {
        bail!("kernel-cost loads eBPF programs and reads their statistics: run it as root");
    }
    let vigil = match &options.vigil {
        Some(vigil) => vigil.clone(),
        None => {
            run_cmd(cargo().args(["build", "--package", "vigil"]))?;
            target_dir().join("debug").join("vigil")
        }
    };
    let mut rounds = Vec::new();
    let recording = options.perf.then(perf_out).transpose()?;
    let profiles = with_vigil(&vigil, recording.as_deref(), |worker, workspace| {
        for round in 1..=options.rounds {
            let before = kernel_cost::programs_of(worker)?;
            run_load(options.execs, options.syscalls, workspace)?;
            // The programs' counts are updated as they run: nothing to wait for but the last
            // exits of the storm's children, which the generator waited for.
            let after = kernel_cost::programs_of(worker)?;
            eprintln!("kernel-cost: round {round} of {}", options.rounds);
            rounds.push(kernel_cost::since(&before, &after));
            std::thread::sleep(Duration::from_millis(200));
        }
        Ok(())
    })?;
    print!("{}", table(&rounds));
    for profile in profiles {
        let hottest: Vec<String> = profile
            .hottest
            .iter()
            .map(|(function, share)| format!("{function} {share:.1} %"))
            .collect();
        println!(
            "{} ({} samples): {}",
            profile.program,
            profile.samples,
            hottest.join(", ")
        );
    }
    Ok(())
}

/// What the full bench reports of the programs: one round of this command's load, its cost per
/// program, and where each program's time goes when `perf` runs here.
pub fn profile(vigil: &Path) -> anyhow::Result<KernelProfile> {
    let (execs, syscalls) = (DEFAULT_EXECS, DEFAULT_SYSCALLS);
    let perf_missing = (!kernel_profile::available())
        .then(|| "`perf` does not run here (Debian: apt-get install linux-perf)".to_owned());
    let recording = if perf_missing.is_none() {
        Some(perf_out()?)
    } else {
        None
    };
    let mut costs = Vec::new();
    let programs = with_vigil(vigil, recording.as_deref(), |worker, workspace| {
        let before = kernel_cost::programs_of(worker)?;
        run_load(execs, syscalls, workspace)?;
        costs = kernel_cost::since(&before, &kernel_cost::programs_of(worker)?);
        Ok(())
    })?;
    Ok(KernelProfile {
        load: format!(
            "{execs} execs as fast as they go (and {} failed ones), then {syscalls} rounds of \
             every file and socket syscall vigil hooks (`cargo xtask kernel-cost --rounds 1`)",
            execs.div_ceil(100)
        ),
        costs,
        programs,
        perf_missing,
    })
}

/// Where `perf record` writes.
fn perf_out() -> anyhow::Result<PathBuf> {
    let dir = target_dir().join("bench");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir.join("kernel-profile.perf.data"))
}

/// Runs `measure` with vigil started (statistics on, and `perf` recording into `record` when
/// given), with the pid of the worker holding its programs; stops vigil, and returns what
/// `perf` saw of each program.
fn with_vigil(
    vigil: &Path,
    record: Option<&Path>,
    measure: impl FnOnce(i32, &Workspace) -> anyhow::Result<()>,
) -> anyhow::Result<Vec<ProgramProfile>> {
    let workspace = Workspace::create()?;
    let _stats = kernel_cost::StatsEnabled::enable()?;
    let ctx = tools::Context {
        vigil,
        workspace: &workspace,
    };
    let mut tool = match tools::start(ToolKind::Vigil, &ctx) {
        Ok(Some(tool)) => tool,
        Ok(None) => bail!("vigil did not start"),
        Err(tools::StartError::Unavailable(reason)) => bail!("vigil did not start: {reason}"),
        Err(tools::StartError::Failed(error)) => return Err(error.context("starting vigil")),
    };
    let measured = (|| -> anyhow::Result<Vec<ProgramProfile>> {
        let worker = *tool
            .bpf_holders()
            .first()
            .context("the daemon has no worker holding its programs")?;
        let recording = record.map(kernel_profile::Recording::start).transpose()?;
        let measured = measure(worker, &workspace);
        let profiles = match recording {
            Some(recording) => recording.finish()?,
            None => Vec::new(),
        };
        measured.map(|()| profiles)
    })();
    let stopped = tool.stop();
    let profiles = measured?;
    stopped?;
    Ok(profiles)
}

/// One round of the load: execs (and a few failed ones) from a process of their own, then the
/// file and socket syscalls from this one.
fn run_load(execs: u64, syscalls: u64, workspace: &Workspace) -> anyhow::Result<()> {
    let spec = LoadSpec {
        kind: LoadKind::Exec,
        rate: None,
        count: execs,
    };
    load::run(&spec, workspace)?;
    for _ in 0..execs.div_ceil(100) {
        failed_exec(&workspace.dir)?;
    }
    let dir = workspace.files_dir();
    syscall_load::run(&dir, syscalls)
}

/// An exec of a file that does not exist: the failed-exec path of the exec programs.
fn failed_exec(dir: &Path) -> anyhow::Result<()> {
    match std::process::Command::new(dir.join("absent")).status() {
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(error) => Err(error).context("running an absent executable"),
        Ok(status) => bail!("an absent executable ran ({status})"),
    }
}

/// Per program: runs and ns per run in each round, the mean over the rounds, and the least of
/// the rounds' (on a shared machine, the round least disturbed by other work).
fn table(rounds: &[Vec<ProgramCost>]) -> String {
    let mut names: Vec<&str> = rounds
        .iter()
        .flatten()
        .filter(|p| p.run_cnt > 0)
        .map(|p| p.program.as_str())
        .collect();
    names.sort_unstable();
    names.dedup();
    let mut out = String::from("program");
    for round in 1..=rounds.len() {
        out.push_str(&format!("\tround {round} runs\tns/run"));
    }
    out.push_str("\tall rounds ns/run\tleast ns/run\n");
    let mut all = Vec::new();
    for name in names {
        out.push_str(name);
        let mut total = ProgramCost {
            program: name.to_owned(),
            run_cnt: 0,
            run_time_ns: 0,
        };
        let mut least: Option<u64> = None;
        for round in rounds {
            match round.iter().find(|p| p.program == name) {
                Some(cost) => {
                    out.push_str(&format!("\t{}\t{}", cost.run_cnt, per_run(cost)));
                    total.run_cnt += cost.run_cnt;
                    total.run_time_ns += cost.run_time_ns;
                    if let Some(ns) = cost.run_time_ns.checked_div(cost.run_cnt) {
                        least = Some(least.map_or(ns, |l| l.min(ns)));
                    }
                }
                None => out.push_str("\t0\t-"),
            }
        }
        let least = least.map_or_else(|| "-".to_owned(), |ns| ns.to_string());
        out.push_str(&format!("\t{}\t{least}\n", per_run(&total)));
        all.push(total);
    }
    let run_cnt = all.iter().map(|p| p.run_cnt).sum();
    let run_time_ns = all.iter().map(|p| p.run_time_ns).sum();
    out.push_str(&format!(
        "all programs: {} ns per run over {run_cnt} runs\n",
        per_run(&ProgramCost {
            program: String::new(),
            run_cnt,
            run_time_ns,
        })
    ));
    out
}

fn per_run(cost: &ProgramCost) -> String {
    if cost.run_cnt == 0 {
        return "-".into();
    }
    (cost.run_time_ns / cost.run_cnt).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_gives_each_round_and_the_mean_over_them() {
        let cost = |program: &str, run_cnt, run_time_ns| ProgramCost {
            program: program.into(),
            run_cnt,
            run_time_ns,
        };
        let rounds = vec![
            vec![cost("b", 10, 1000), cost("a", 0, 0)],
            vec![cost("b", 30, 6000)],
        ];
        let text = table(&rounds);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[1], "b\t10\t100\t30\t200\t175\t100");
        assert_eq!(
            lines.len(),
            3,
            "a program that never ran is left out: {text}"
        );
        assert!(lines[2].starts_with("all programs: 175 ns per run over 40 runs"));
    }
}
