//! The supply chain, checked by `cargo deny` against `deny.toml`: licences, banned crates and
//! duplicate versions, and where crates come from. cargo-deny is installed at a pinned version
//! that builds with the workspace's rustc (1.95).
//!
//! Advisories are not checked here: RustSec's database is a git repository that CI machines
//! cannot fetch (only the package registries are reachable). `cargo deny check advisories`
//! runs it where the database can be had.

use std::process::Command;

use anyhow::bail;

/// cargo-deny's newest release; it declares rust-version 1.88 and builds with `--locked`.
pub const CARGO_DENY_VERSION: &str = "0.20.2";

/// What `cargo xtask test` checks.
const CHECKS: &[&str] = &["licenses", "bans", "sources"];

pub fn install_cargo_deny() -> anyhow::Result<()> {
    let installed = Command::new("cargo")
        .args(["deny", "--version"])
        .output()
        .is_ok_and(|o| {
            o.status.success() && String::from_utf8_lossy(&o.stdout).contains(CARGO_DENY_VERSION)
        });
    if installed {
        return Ok(());
    }
    crate::run(
        crate::cargo()
            .args([
                "install",
                "cargo-deny",
                "--locked",
                "--version",
                CARGO_DENY_VERSION,
            ])
            // Not the workspace's target dir: the install must not invalidate the project's build.
            .env_remove("CARGO_TARGET_DIR"),
    )
}

pub fn check() -> anyhow::Result<()> {
    install_cargo_deny()?;
    let status = crate::cargo()
        .args(["deny", "--all-features", "check"])
        .args(CHECKS)
        .status()?;
    if !status.success() {
        bail!(
            "cargo deny check {} failed ({status}): see above, and deny.toml for what is allowed",
            CHECKS.join(" ")
        );
    }
    Ok(())
}
