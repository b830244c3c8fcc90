//! `cargo xtask fuzz`: builds the cargo-fuzz targets under `fuzz/` with nightly and runs each for
//! a bounded time, starting from its committed corpus (`fuzz/corpus/<target>/`).
//!
//! Targets are whatever `cargo fuzz list` names, so adding one is `cargo fuzz add <name>` (its
//! file under `fuzz/fuzz_targets/` and its `[[bin]]` line in `fuzz/Cargo.toml`) plus its seed
//! directory: nothing here changes.

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    process::{Command, ExitStatus},
    time::Instant,
};

use anyhow::{Context as _, bail};

use super::{cargo, run, target_dir, workspace_root};

/// Seconds each target runs by default (and in CI, through `cargo xtask test`).
pub const DEFAULT_SECONDS: u64 = 30;
/// Builds with stable 1.95 (`cargo install`) and drives nightly 1.97's sanitizer flags.
const CARGO_FUZZ_VERSION: &str = "0.13.2";
const FUZZ_DIR: &str = "fuzz";
/// Crates whose C or C++ the fuzzer's compiler flags would build again from scratch: RocksDB's
/// alone takes ~25 minutes on 2 cores. Nothing fuzzed needs them.
const KEPT_OUT_OF_FUZZ_BUILD: &[&str] = &["librocksdb-sys", "libsqlite3-sys"];

pub fn install_cargo_fuzz() -> anyhow::Result<()> {
    let installed = Command::new("cargo-fuzz")
        .arg("--version")
        .output()
        .is_ok_and(|o| {
            o.status.success()
                && String::from_utf8_lossy(&o.stdout)
                    .split_whitespace()
                    .any(|word| word == CARGO_FUZZ_VERSION)
        });
    if installed {
        return Ok(());
    }
    run(cargo()
        .args(["install", "cargo-fuzz", "--locked", "--version"])
        .arg(CARGO_FUZZ_VERSION)
        // Not the workspace's target dir: the install must not invalidate the project's build.
        .env_remove("CARGO_TARGET_DIR"))
}

/// `cargo fuzz` on nightly (sanitizers and coverage flags need it), from the workspace root.
fn cargo_fuzz() -> Command {
    let mut cmd = Command::new("rustup");
    cmd.args(["run", "nightly", "cargo", "fuzz"])
        .current_dir(workspace_root());
    // `cargo run` hands xtask the stable toolchain's paths; nightly's cargo must pick its own.
    for var in ["CARGO", "RUSTC", "RUSTDOC", "RUSTUP_TOOLCHAIN"] {
        cmd.env_remove(var);
    }
    cmd
}

/// The options `build` and `run` share (the same ones, or `run` would build again).
fn build_options(fuzz_target_dir: &Path) -> Vec<std::ffi::OsString> {
    vec![
        "--fuzz-dir".into(),
        FUZZ_DIR.into(),
        // Under CARGO_TARGET_DIR, so a second CI run on this machine reuses the build.
        "--target-dir".into(),
        fuzz_target_dir.into(),
    ]
}

/// Fails when the fuzz crate's dependencies would pull RocksDB (or bundled SQLite) in.
fn check_no_c_store() -> anyhow::Result<()> {
    let out = cargo()
        .args(["tree", "--manifest-path", "fuzz/Cargo.toml", "--edges"])
        .args(["normal,build", "--prefix", "none", "--format", "{p}"])
        .output()
        .context("running cargo tree for fuzz/")?;
    if !out.status.success() {
        bail!(
            "cargo tree for fuzz/ failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let tree = String::from_utf8_lossy(&out.stdout);
    let pulled: Vec<&str> = KEPT_OUT_OF_FUZZ_BUILD
        .iter()
        .copied()
        .filter(|krate| {
            tree.lines()
                .any(|line| line.split_whitespace().next() == Some(krate))
        })
        .collect();
    if !pulled.is_empty() {
        bail!(
            "the fuzz build would compile {} (its C/C++ again, with the fuzzer's flags): keep \
             what fuzz/ depends on free of the store (vigil-events with default-features = \
             false; store-only dependencies behind its `store` feature) and of the agent (the \
             parsers it fuzzes belong in vigil-config or vigil-remote-api, which do no I/O)",
            pulled.join(", ")
        );
    }
    Ok(())
}

fn list_targets() -> anyhow::Result<Vec<String>> {
    let out = cargo_fuzz()
        .args(["list", "--fuzz-dir", FUZZ_DIR])
        .output()
        .context("running cargo fuzz list")?;
    if !out.status.success() {
        bail!(
            "cargo fuzz list failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect())
}

fn files_in(dir: &Path) -> BTreeSet<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default()
}

struct Crash {
    target: String,
    status: ExitStatus,
    reproducers: Vec<PathBuf>,
}

/// Builds every target and runs each for `seconds`; fails if any crashed, naming its reproducer.
pub fn run_all(seconds: u64) -> anyhow::Result<()> {
    let started = Instant::now();
    check_no_c_store()?;
    let root = workspace_root();
    let fuzz_target_dir = target_dir().join("fuzz");
    let options = build_options(&fuzz_target_dir);
    run(cargo_fuzz().arg("build").args(&options))?;
    let build_time = started.elapsed();

    let targets = list_targets()?;
    let mut crashes = Vec::new();
    for target in &targets {
        let seeds = root.join(FUZZ_DIR).join("corpus").join(target);
        if !seeds.is_dir() {
            bail!(
                "fuzz target {target} has no seed corpus: add {} with a few real inputs",
                seeds.display()
            );
        }
        // libFuzzer adds what it finds to the first corpus directory: a working copy under the
        // target dir (kept for the next run), so the committed seeds stay as they are.
        let working = fuzz_target_dir.join("corpus").join(target);
        std::fs::create_dir_all(&working)
            .with_context(|| format!("creating {}", working.display()))?;
        let artifacts = root.join(FUZZ_DIR).join("artifacts").join(target);
        let before = files_in(&artifacts);
        let mut cmd = cargo_fuzz();
        cmd.args(["run", target])
            .args(&options)
            .arg(&working)
            .arg(&seeds)
            .arg("--")
            .arg(format!("-max_total_time={seconds}"))
            .arg("-print_final_stats=1");
        eprintln!("xtask: running {cmd:?}");
        let status = cmd
            .status()
            .with_context(|| format!("could not start {cmd:?}"))?;
        if !status.success() {
            crashes.push(Crash {
                target: target.clone(),
                status,
                reproducers: files_in(&artifacts).difference(&before).cloned().collect(),
            });
        }
    }
    eprintln!(
        "xtask: fuzzing took {:.0?} (build {:.0?}, then {} targets for {seconds} s each)",
        started.elapsed(),
        build_time,
        targets.len()
    );
    if crashes.is_empty() {
        return Ok(());
    }
    for crash in &crashes {
        eprintln!(
            "xtask: fuzz target {} failed ({})",
            crash.target, crash.status
        );
        if crash.reproducers.is_empty() {
            eprintln!("  it wrote no reproducer: see its output above");
        }
        for reproducer in &crash.reproducers {
            eprintln!(
                "  reproducer: {path}\n  run it again: cargo +nightly fuzz run --fuzz-dir {FUZZ_DIR} \
                 --target-dir {dir} {target} {path}\n  once fixed, copy it into \
                 {FUZZ_DIR}/corpus/{target}/ so every later run (and cargo test) replays it",
                path = reproducer.display(),
                dir = fuzz_target_dir.display(),
                target = crash.target,
            );
        }
    }
    bail!(
        "{} fuzz target(s) crashed: {}",
        crashes.len(),
        crashes
            .iter()
            .map(|c| c.target.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    )
}
