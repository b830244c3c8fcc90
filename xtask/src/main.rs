//! Developer commands: `cargo xtask setup | run | test | build | bench | fuzz | kernel-matrix |
//! check-platforms | osquery-specs | deny | unsafe-count | hardening | package | package-test |
//! repro`.
//!
//! `setup` installs, idempotently, what building vigil's eBPF programs needs on a fresh Debian
//! machine; `run` and `test` call it first, so a clean clone needs no other step.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context as _, bail};
use clap::{Parser, Subcommand};

// It makes Linux syscalls and reads Linux's /proc: elsewhere it says so.
#[cfg_attr(not(target_os = "linux"), path = "bench_unsupported.rs")]
mod bench;
mod check_platforms;
mod fuzz;
mod hardening;
mod osquery_specs;
// It boots Linux kernels and makes Linux syscalls: elsewhere it says so.
#[cfg_attr(not(target_os = "linux"), path = "kernel_matrix_unsupported.rs")]
mod kernel_matrix;
mod package;
mod package_test;
mod repro;
mod supply_chain;
mod unsafe_count;

/// LLVM that rustc 1.95 / nightly 1.97 use, and that bpf-linker must link against.
const LLVM_PREFIX: &str = "/usr/lib/llvm-22";
/// The eBPF build's LLVM, libclang for RocksDB's bindings, and what the kernel matrix boots
/// guests with (qemu, a static busybox, cpio, xz for the modules it gives them; objcopy and ldd
/// come with binutils and libc-bin).
const APT_PACKAGES: &[&str] = &[
    "llvm-22-dev",
    "libpolly-22-dev",
    "libclang-dev",
    "qemu-system-x86",
    "busybox-static",
    "cpio",
    "xz-utils",
    "binutils",
    // The package test's clean Debian root.
    "debootstrap",
    // The Kafka logger (`--features kafka`) links it; its tests' broker is its mock cluster.
    "librdkafka-dev",
    // rdkafka-sys finds librdkafka through it (`dynamic-linking`).
    "pkg-config",
];
const BPF_LINKER_VERSION: &str = "0.13.0";
const TRACEFS: &str = "/sys/kernel/tracing";

#[derive(Parser)]
#[command(about = "vigil's developer commands")]
struct Cli {
    #[command(subcommand)]
    command: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Install what the eBPF build, the fuzz targets, the kernel matrix and the package test
    /// need (apt packages, rust-src, bpf-linker, cargo-fuzz, cargo-deny) and mount tracefs.
    Setup,
    /// Build everything, eBPF programs included.
    Build {
        /// Build with the release profile.
        #[arg(long)]
        release: bool,
    },
    /// Set up, build, and open `vigil shell` with kernel events on (extra arguments go to it).
    Run {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Measure vigil beside the tools users pick instead (auditd, bpftrace, execsnoop) on exec,
    /// file and TCP storms, and the store and SQL benches. Without `--full`: a smoke run of
    /// seconds (small rates, vigil only) that checks the harness; `--full` (root, ~15 minutes)
    /// writes BENCHMARKS.md and its plot at the repository's root.
    Bench {
        /// The whole run: every rate, the peers, the store and SQL benches, the profile.
        #[arg(long)]
        full: bool,
        /// Leave the peers out of a full run.
        #[arg(long)]
        no_peers: bool,
        /// Measure the dev-profile binary and benches (what the tests build) in a full run,
        /// instead of the release build users run (whose RocksDB C++ takes ~25 minutes to
        /// build the first time).
        #[arg(long, conflicts_with = "release")]
        dev: bool,
        /// Measure the release build in a smoke run too.
        #[arg(long)]
        release: bool,
        /// Only write BENCHMARKS.md and the plot again, from this figures file.
        #[arg(long, value_name = "FIGURES_JSON")]
        report: Option<PathBuf>,
        /// Take the storms' figures from this figures file (a full run stopped after them) and
        /// run what follows: the store and SQL benches, the profile, the report.
        #[arg(long, value_name = "FIGURES_JSON", requires = "full")]
        resume: Option<PathBuf>,
    },
    /// What each vigil program costs in the kernel per run (`run_time_ns / run_cnt` with
    /// `kernel.bpf_stats_enabled=1`): starts the dev build's daemon and runs, `--rounds` times,
    /// an exec storm and every file and socket syscall vigil hooks; prints each round.
    KernelCost {
        #[arg(long, default_value_t = 3)]
        rounds: u32,
        /// Execs per round.
        #[arg(long, default_value_t = bench::cost_run::DEFAULT_EXECS)]
        execs: u64,
        /// Rounds of the file and socket syscalls per round.
        #[arg(long, default_value_t = bench::cost_run::DEFAULT_SYSCALLS)]
        syscalls: u64,
        /// Measure this vigil binary instead of the dev build (e.g. a copy of another build's,
        /// to compare the two under the same load).
        #[arg(long)]
        vigil: Option<PathBuf>,
        /// Also record every CPU with `perf` (cpu-clock samples) and print, per program, the
        /// functions its time was spent in.
        #[arg(long)]
        perf: bool,
    },
    /// One load of the bench, in a process of its own (what `bench` runs and measures).
    #[command(hide = true)]
    BenchLoad {
        #[arg(long, value_enum)]
        kind: bench::load::LoadKind,
        /// Operations per second; as fast as it can when absent.
        #[arg(long)]
        rate: Option<u32>,
        #[arg(long)]
        count: u64,
        /// The bench's workspace (the exec storm's executable, the file storm's directory).
        #[arg(long)]
        dir: PathBuf,
    },
    /// Build the fuzz targets (fuzz/, with nightly and cargo-fuzz) and run each for a bounded
    /// time from its committed corpus; fails if any target crashes.
    Fuzz {
        /// Seconds each target runs.
        #[arg(long, default_value_t = fuzz::DEFAULT_SECONDS)]
        seconds: u64,
    },
    /// Type-check (clippy, warnings denied) every default member's libraries and binaries for
    /// Windows (x86_64-pc-windows-msvc) and macOS (x86_64-apple-darwin, aarch64-apple-darwin)
    /// with nightly's `-Z build-std`, C/C++ stand-ins generated under the target dir.
    CheckPlatforms,
    /// Set up, then run formatting and lint checks, the Windows and macOS type-checks, every
    /// test, and (without test arguments, as in CI) the fuzz targets for a short time each and
    /// the kernel matrix.
    Test {
        /// Arguments for `cargo test` (for example a test name filter).
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Boot each kernel of the matrix under qemu, run vigil's scenario in it, and on the host's
    /// kernel; print what loaded, attached and reported on each.
    KernelMatrix {
        /// Only this kernel (repeatable); every kernel of the matrix when absent.
        #[arg(long = "kernel")]
        kernels: Vec<String>,
        /// Leave out the host's kernel.
        #[arg(long)]
        no_host: bool,
        /// Write the table into README.md's kernel section.
        #[arg(long)]
        readme: bool,
    },
    /// Extract the Linux columns of osquery's table specs (specs/**/*.table) into
    /// tables/tests/osquery_integration/specs.tsv, which the osquery integration test compares
    /// vigil's tables with.
    OsquerySpecs {
        /// A clone of github.com/osquery/osquery (a work tree or a bare git directory).
        #[arg(long)]
        osquery: PathBuf,
        /// The revision whose specs to take.
        #[arg(long, default_value = "HEAD")]
        rev: String,
    },
    /// Build the release binary and the Debian package (`vigil_<version>_amd64.deb` under
    /// `$CARGO_TARGET_DIR/package/release/`).
    Package {
        /// Package the development build instead (for tests: no release build).
        #[arg(long)]
        dev: bool,
    },
    /// Build the package, then install, check and purge it in a clean Debian root (debootstrap,
    /// kept under the target dir) with chroot.
    PackageTest {
        /// Package the development build (what `cargo xtask test` does) instead of the release.
        #[arg(long)]
        dev: bool,
    },
    /// Two clean release builds, one after the other in the same place, compared byte for byte
    /// (each compiles RocksDB's C++ from nothing: long).
    Repro,
    /// `cargo deny check` (licences, bans, duplicate versions, sources) with deny.toml.
    Deny,
    /// Check that a release binary is PIE, full RELRO, with a non-executable stack and a stack
    /// protector (its ELF headers and dynamic symbols).
    Hardening {
        /// The binary (default: the release build's vigil).
        binary: Option<PathBuf>,
    },
    /// Count every `unsafe` per crate, check each has its SAFETY comment and SECURITY.md's
    /// table matches (a test does the same, so CI fails when it goes stale).
    UnsafeCount {
        /// Rewrite SECURITY.md's table from the sources.
        #[arg(long)]
        write: bool,
    },
    /// Run the matrix's scenario on the running kernel (what each guest runs).
    #[command(hide = true)]
    KernelScenario {
        /// The vigil binary to run.
        #[arg(long)]
        vigil: PathBuf,
        /// An empty work directory (removed first if it exists).
        #[arg(long)]
        work: Option<PathBuf>,
        /// Where to write the report line (stdout when absent).
        #[arg(long)]
        report: Option<PathBuf>,
    },
}

/// The checkout this xtask runs for. `cargo run` says at run time where the manifest is; the
/// compile-time value would name whichever checkout built this binary first, when several share
/// one `CARGO_TARGET_DIR` (cargo reuses the binary across them).
fn workspace_root() -> PathBuf {
    let manifest_dir = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    manifest_dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(workspace_root());
    cmd
}

fn run(cmd: &mut Command) -> anyhow::Result<()> {
    eprintln!("xtask: running {cmd:?}");
    let status = cmd
        .status()
        .with_context(|| format!("could not start {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed with {status}");
    }
    Ok(())
}

fn succeeds(cmd: &mut Command) -> bool {
    cmd.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().nth(1).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

fn apt_packages() -> anyhow::Result<()> {
    let missing: Vec<&str> = APT_PACKAGES
        .iter()
        .copied()
        .filter(|pkg| {
            let out = Command::new("dpkg-query")
                .args(["-W", "-f=${Status}", pkg])
                .output();
            !out.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    if !is_root() {
        bail!(
            "missing packages {}: run `sudo apt-get update && sudo apt-get install -y {}`",
            missing.join(" "),
            missing.join(" ")
        );
    }
    run(Command::new("apt-get").args(["update", "-q"]))?;
    run(Command::new("apt-get")
        .args(["install", "-y", "-q", "--no-install-recommends"])
        .args(&missing)
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

fn rust_src() -> anyhow::Result<()> {
    let installed = Command::new("rustup")
        .args(["component", "list", "--installed", "--toolchain", "nightly"])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("rust-src"));
    if installed {
        return Ok(());
    }
    run(Command::new("rustup").args(["component", "add", "rust-src", "--toolchain", "nightly"]))
}

fn bpf_linker() -> anyhow::Result<()> {
    let version = Command::new("bpf-linker").arg("--version").output();
    if version.is_ok_and(|o| {
        o.status.success() && String::from_utf8_lossy(&o.stdout).contains(BPF_LINKER_VERSION)
    }) {
        return Ok(());
    }
    // bpf-linker's build script finds LLVM through LLVM_PREFIX, llvm-sys through its own
    // versioned variable; without both it links against the system's older LLVM and fails.
    run(cargo()
        .args(["install", "bpf-linker", "--version", BPF_LINKER_VERSION])
        .args(["--no-default-features", "--features", "llvm-22"])
        .env("LLVM_PREFIX", LLVM_PREFIX)
        .env("LLVM_SYS_221_PREFIX", LLVM_PREFIX)
        // Not the workspace's target dir: the install must not invalidate the project's build.
        .env_remove("CARGO_TARGET_DIR"))
}

fn tracefs() -> anyhow::Result<()> {
    if Path::new(TRACEFS).join("events").exists() || !is_root() {
        return Ok(());
    }
    run(Command::new("mount").args(["-t", "tracefs", "tracefs", TRACEFS]))
}

fn setup() -> anyhow::Result<()> {
    apt_packages()?;
    rust_src()?;
    bpf_linker()?;
    fuzz::install_cargo_fuzz()?;
    supply_chain::install_cargo_deny()?;
    tracefs()?;
    if !succeeds(Command::new("bpf-linker").arg("--version")) {
        bail!("bpf-linker is installed but does not run; is ~/.cargo/bin on PATH?");
    }
    Ok(())
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// The release binary, its C and C++ parts with a stack protector (see `hardening`); the same
/// flags every time, so the build stays warm.
fn build_release() -> anyhow::Result<()> {
    run(cargo()
        .args(["build", "--release", "--package", "vigil"])
        .env("CFLAGS", hardening::C_FLAGS)
        .env("CXXFLAGS", hardening::C_FLAGS))
}

/// The release build (or, with `dev`, the development build the tests use), then its package.
fn package(dev: bool) -> anyhow::Result<PathBuf> {
    let profile_dir = if dev {
        run(cargo().args(["build", "--package", "vigil"]))?;
        "debug"
    } else {
        build_release()?;
        "release"
    };
    let out = target_dir().join("package").join(profile_dir);
    std::fs::create_dir_all(&out)?;
    package::build(
        &workspace_root(),
        &target_dir().join(profile_dir).join("vigil"),
        &out,
        !dev,
    )
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Task::Setup => setup(),
        Task::Build { release } => {
            setup()?;
            if release {
                return build_release();
            }
            run(cargo().args(["build", "--package", "vigil"]))
        }
        Task::Run { args } => {
            setup()?;
            run(cargo()
                .args([
                    "run",
                    "--package",
                    "vigil",
                    "--",
                    "shell",
                    "--disable_events=false",
                ])
                .args(args))
        }
        Task::Bench {
            full,
            no_peers,
            dev,
            release,
            report,
            resume,
        } => bench::main(&bench::Options {
            full,
            no_peers,
            release: release || (full && !dev),
            report,
            resume,
        }),
        Task::KernelCost {
            rounds,
            execs,
            syscalls,
            vigil,
            perf,
        } => bench::cost_run::main(&bench::cost_run::Options {
            rounds,
            execs,
            syscalls,
            vigil,
            perf,
        }),
        Task::BenchLoad {
            kind,
            rate,
            count,
            dir,
        } => bench::load::generate(kind, rate, count, &dir),
        Task::CheckPlatforms => check_platforms::run_all(),
        Task::OsquerySpecs { osquery, rev } => {
            osquery_specs::run(&workspace_root(), &osquery, &rev)
        }
        Task::Fuzz { seconds } => {
            fuzz::install_cargo_fuzz()?;
            fuzz::run_all(seconds)
        }
        Task::Test { args } => {
            setup()?;
            run(cargo().args(["fmt", "--all", "--check"]))?;
            // fuzz/ is a workspace of its own: `--all` does not reach it.
            run(cargo().args(["fmt", "--manifest-path", "fuzz/Cargo.toml", "--check"]))?;
            run(cargo().args(["clippy", "--all-targets", "--", "-D", "warnings"]))?;
            supply_chain::check()?;
            check_platforms::run_all()?;
            // A filter means a quick local check: the fuzz step and the kernel matrix are for
            // the whole run (CI).
            let filtered = !args.is_empty();
            run(cargo().arg("test").args(args))?;
            if !filtered {
                // The Kafka logger links the system's librdkafka, so it is a feature of its own
                // (off in the platform checks and the package): its lints and tests run here.
                run(cargo()
                    .args(["clippy", "-p", "vigil", "--all-targets", "--features"])
                    .args(["kafka", "--", "-D", "warnings"]))?;
                run(cargo().args(["test", "-p", "vigil", "--features", "kafka", "--", "kafka"]))?;
            }
            if filtered {
                eprintln!(
                    "xtask: bench smoke run, fuzz targets and kernel matrix skipped (cargo test got \
                     arguments); run them with `cargo xtask bench`, `cargo xtask fuzz` and \
                     `cargo xtask kernel-matrix`"
                );
                return Ok(());
            }
            // The bench harness's smoke run: seconds, small rates, vigil only (it builds the
            // binary the tests used; the full run is `cargo xtask bench --full`, by hand).
            bench::main(&bench::Options {
                full: false,
                no_peers: true,
                release: false,
                report: None,
                resume: None,
            })?;
            fuzz::run_all(fuzz::DEFAULT_SECONDS)?;
            // The matrix boots the binary the tests used (same profile: nothing rebuilds).
            run(cargo().args(["build", "--package", "vigil"]))?;
            kernel_matrix::run(
                &workspace_root(),
                &target_dir(),
                &kernel_matrix::Options {
                    kernels: Vec::new(),
                    no_host: false,
                    readme: false,
                },
            )?;
            // The package, installed and purged in a clean Debian root. Of the development
            // build the tests used: a release build compiles RocksDB's C++ again, which CI
            // cannot afford (SECURITY.md, "Release binary hardening"); `cargo xtask package`
            // makes the release.
            let deb = package(true)?;
            package_test::run(&workspace_root(), &target_dir(), &deb).map(|_| ())
        }
        Task::KernelMatrix {
            kernels,
            no_host,
            readme,
        } => {
            setup()?;
            run(cargo().args(["build", "--package", "vigil"]))?;
            kernel_matrix::run(
                &workspace_root(),
                &target_dir(),
                &kernel_matrix::Options {
                    kernels,
                    no_host,
                    readme,
                },
            )
        }
        Task::Package { dev } => package(dev).map(|_| ()),
        Task::PackageTest { dev } => {
            let deb = package(dev)?;
            package_test::run(&workspace_root(), &target_dir(), &deb).map(|_| ())
        }
        Task::Deny => supply_chain::check(),
        Task::Repro => repro::run(&target_dir()),
        Task::Hardening { binary } => {
            let binary = binary.unwrap_or_else(|| target_dir().join("release").join("vigil"));
            hardening::check(&binary, true)
        }
        Task::UnsafeCount { write } => unsafe_count::run(&workspace_root(), write),
        Task::KernelScenario {
            vigil,
            work,
            report,
        } => kernel_matrix::scenario_command(&vigil, work, report),
    }
}
