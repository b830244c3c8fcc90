//! The kernels the matrix proves, and getting their images: Debian's packages, downloaded with
//! apt once and kept under `$CARGO_TARGET_DIR/kernels/`.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context as _, bail};

/// One kernel of the matrix.
#[derive(Debug, Clone, Copy)]
pub struct Kernel {
    /// Short name for tables and `--kernel`.
    pub name: &'static str,
    /// Where users meet it.
    pub description: &'static str,
    /// Debian's image package (`apt-get download`).
    pub package: &'static str,
    /// Features the kernel does not have at all (syscalls added later): reported by vigil as
    /// missing, and not a failure here.
    pub known_missing: &'static [&'static str],
}

/// The kernels proven in CI, under qemu. Package names carry Debian's ABI number: when the
/// archive drops one, `cargo xtask kernel-matrix` says so; pick the current one with
/// `apt-cache search linux-image-6.1 cloud` and update it here and in README.
pub const KERNELS: &[Kernel] = &[
    Kernel {
        name: "debian-6.1",
        description: "Debian 12's cloud kernel",
        package: "linux-image-6.1.0-50-cloud-amd64",
        known_missing: &["fchmodat2"],
    },
    Kernel {
        name: "debian-6.12",
        description: "Debian 12's 6.12 cloud kernel (the series Debian 13 runs)",
        package: "linux-image-6.12.117+deb12-cloud-amd64",
        known_missing: &[],
    },
];

/// The kernel image of `kernel`, from the cache or downloaded into it.
pub fn image(cache: &Path, kernel: &Kernel) -> anyhow::Result<PathBuf> {
    let dir = cache.join(kernel.package);
    let vmlinuz = dir.join("vmlinuz");
    if vmlinuz.exists() {
        return Ok(vmlinuz);
    }
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let deb = match find_deb(&dir)? {
        Some(deb) => deb,
        None => {
            eprintln!("xtask: downloading {} with apt", kernel.package);
            let status = Command::new("apt-get")
                // Root keeps the download (apt's own user cannot write into the target dir).
                .args([
                    "download",
                    "-q",
                    "-o",
                    "APT::Sandbox::User=root",
                    kernel.package,
                ])
                .current_dir(&dir)
                .status()
                .context("running apt-get download")?;
            if !status.success() {
                bail!(
                    "apt-get download {} failed ({status}): the archive may have dropped this \
                     ABI; run `apt-get update`, pick the current package with `apt-cache search \
                     linux-image cloud-amd64`, and update KERNELS in \
                     xtask/src/kernel_matrix/kernels.rs",
                    kernel.package
                );
            }
            find_deb(&dir)?
                .with_context(|| format!("apt-get download left no .deb in {}", dir.display()))?
        }
    };
    let unpacked = dir.join("unpacked");
    let status = Command::new("dpkg")
        .arg("-x")
        .arg(&deb)
        .arg(&unpacked)
        .status()
        .context("running dpkg -x")?;
    if !status.success() {
        bail!("dpkg -x {} failed ({status})", deb.display());
    }
    let boot = unpacked.join("boot");
    let image = std::fs::read_dir(&boot)
        .with_context(|| format!("reading {}", boot.display()))?
        .flatten()
        .map(|e| e.path())
        .find(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("vmlinuz-"))
        })
        .with_context(|| format!("{} holds no boot/vmlinuz-*", deb.display()))?;
    std::fs::copy(&image, &vmlinuz)
        .with_context(|| format!("copying {} to the cache", image.display()))?;
    // The modules are not needed: everything the scenario uses is built in.
    let _ = std::fs::remove_dir_all(&unpacked);
    Ok(vmlinuz)
}

fn find_deb(dir: &Path) -> anyhow::Result<Option<PathBuf>> {
    Ok(std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "deb")))
}
