//! The kernel matrix boots Linux kernels under qemu and runs a scenario of Linux syscalls: on
//! other platforms its commands say so.

use std::path::{Path, PathBuf};

/// What the command line asks of the matrix (read only where it runs).
#[allow(dead_code)]
pub struct Options {
    pub kernels: Vec<String>,
    pub no_host: bool,
    pub readme: bool,
}

const LINUX_ONLY: &str = "the kernel matrix boots Linux kernels and runs vigil's eBPF scenario: \
                          it runs on Linux only";

pub fn run(_workspace: &Path, _target: &Path, _options: &Options) -> anyhow::Result<()> {
    anyhow::bail!(LINUX_ONLY)
}

pub fn scenario_command(
    _vigil: &Path,
    _work: Option<PathBuf>,
    _report: Option<PathBuf>,
) -> anyhow::Result<()> {
    anyhow::bail!(LINUX_ONLY)
}
