//! The bench drives Linux workloads and reads Linux's /proc and eBPF statistics: on other
//! platforms its commands say so.

use std::path::PathBuf;

/// What the command line asks of the bench (read only where it runs).
#[allow(dead_code)]
pub struct Options {
    pub full: bool,
    pub no_peers: bool,
    pub release: bool,
    pub report: Option<PathBuf>,
    pub resume: Option<PathBuf>,
}

const LINUX_ONLY: &str = "the bench measures vigil's eBPF event path and its Linux peers: it runs on \
                          Linux only";

pub fn main(_options: &Options) -> anyhow::Result<()> {
    anyhow::bail!(LINUX_ONLY)
}

pub mod load {
    use std::path::Path;

    /// The loads the bench generates (the same names as on Linux, so the command line parses).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
    pub enum LoadKind {
        Exec,
        File,
        Tcp,
    }

    pub fn generate(
        _kind: LoadKind,
        _rate: Option<u32>,
        _count: u64,
        _dir: &Path,
    ) -> anyhow::Result<()> {
        anyhow::bail!(super::LINUX_ONLY)
    }
}

pub mod cost_run {
    /// What the command line asks of `kernel-cost` (read only where it runs).
    #[allow(dead_code)]
    pub struct Options {
        pub rounds: u32,
        pub execs: u64,
        pub syscalls: u64,
        pub vigil: Option<std::path::PathBuf>,
        pub perf: bool,
    }

    pub const DEFAULT_EXECS: u64 = 2000;
    pub const DEFAULT_SYSCALLS: u64 = 2000;

    pub fn main(_options: &Options) -> anyhow::Result<()> {
        anyhow::bail!(super::LINUX_ONLY)
    }
}
