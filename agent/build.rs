//! Builds the eBPF programs (agent-ebpf, for the BPF target, with nightly and bpf-linker) and
//! leaves the object in OUT_DIR, where `src/probes.rs` embeds it: one self-contained binary.
//! `cargo xtask setup` installs what this needs.
//!
//! Only when building for Linux: the object is loaded by the Linux eBPF publisher alone, and a
//! check for Windows or macOS (`cargo xtask check-platforms`) must not need the BPF toolchain.

use anyhow::{Context as _, anyhow};
use aya_build::{Package, Toolchain};

fn main() -> anyhow::Result<()> {
    // Relative to this package, so each checkout watches its own eBPF sources: aya-build names
    // the absolute directory of whichever checkout ran this script last, and checkouts sharing a
    // CARGO_TARGET_DIR share this script's fingerprint.
    println!("cargo:rerun-if-changed=../agent-ebpf");
    // The target's, not the host's: a build script is compiled for the machine it runs on.
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() != Ok("linux") {
        return Ok(());
    }
    let metadata = cargo_metadata::MetadataCommand::new()
        .no_deps()
        .exec()
        .context("reading the workspace's metadata")?;
    let ebpf = metadata
        .packages
        .into_iter()
        .find(|p| p.name.as_str() == "vigil-ebpf")
        .ok_or_else(|| anyhow!("the workspace has no vigil-ebpf package"))?;
    let root_dir = ebpf
        .manifest_path
        .parent()
        .ok_or_else(|| anyhow!("vigil-ebpf's manifest has no directory"))?;
    aya_build::build_ebpf(
        [Package {
            name: ebpf.name.as_str(),
            root_dir: root_dir.as_str(),
            ..Default::default()
        }],
        Toolchain::Nightly,
    )
    .context(
        "building the eBPF programs failed; run `cargo xtask setup` once to install nightly's \
         rust-src and bpf-linker",
    )
}
