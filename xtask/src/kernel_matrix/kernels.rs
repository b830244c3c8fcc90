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

/// The module each guest may load and unload for real, from its own kernel's package: `crc7`
/// needs no other module and has neither init nor exit function, so loading it runs no code
/// and unloading it always works.
pub const GUEST_MODULE: &str = "crc7";
/// Where the guest's initramfs keeps it: `<GUEST_MODULES>/<kernel release>/crc7.ko`. Nowhere
/// else has this directory, so a scenario run on a host never loads a module into it.
pub const GUEST_MODULES: &str = "/lib/vigil-matrix";

/// What a guest boots, and the module it may load.
#[derive(Debug, Clone)]
pub struct Image {
    pub vmlinuz: PathBuf,
    /// `uname -r` of the kernel, as its package names its modules' directory.
    pub release: String,
    /// [`GUEST_MODULE`], uncompressed.
    pub module: PathBuf,
}

impl Image {
    /// Where the guest finds the module.
    pub fn module_in_guest(&self) -> PathBuf {
        Path::new(GUEST_MODULES)
            .join(&self.release)
            .join(format!("{GUEST_MODULE}.ko"))
    }
}

/// The kernel image of `kernel` and its module, from the cache or downloaded into it.
pub fn image(cache: &Path, kernel: &Kernel) -> anyhow::Result<Image> {
    let dir = cache.join(kernel.package);
    let vmlinuz = dir.join("vmlinuz");
    if let Some(cached) = cached(&dir, &vmlinuz)? {
        return Ok(cached);
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
    let (release, module) = keep_module(&unpacked, &dir)
        .with_context(|| format!("taking {GUEST_MODULE} from {}", deb.display()))?;
    // The other modules are not needed: everything else the scenario uses is built in.
    let _ = std::fs::remove_dir_all(&unpacked);
    Ok(Image {
        vmlinuz,
        release,
        module,
    })
}

/// The image and module an earlier run left in `dir`, if it left both.
fn cached(dir: &Path, vmlinuz: &Path) -> anyhow::Result<Option<Image>> {
    let modules = dir.join("modules");
    if !vmlinuz.exists() || !modules.exists() {
        return Ok(None);
    }
    let release = std::fs::read_dir(&modules)
        .with_context(|| format!("reading {}", modules.display()))?
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .next();
    let Some(release) = release else {
        return Ok(None);
    };
    let module = modules.join(&release).join(format!("{GUEST_MODULE}.ko"));
    Ok(module.exists().then(|| Image {
        vmlinuz: vmlinuz.to_owned(),
        release,
        module,
    }))
}

/// Copies the package's [`GUEST_MODULE`] to `<dir>/modules/<release>/`, uncompressed (newer
/// packages compress modules with xz; `init_module` takes the image itself).
fn keep_module(unpacked: &Path, dir: &Path) -> anyhow::Result<(String, PathBuf)> {
    let roots = [
        unpacked.join("lib/modules"),
        unpacked.join("usr/lib/modules"),
    ];
    let root = roots.iter().find(|r| r.exists()).with_context(|| {
        format!(
            "the package has no lib/modules under {}",
            unpacked.display()
        )
    })?;
    let release_dir = std::fs::read_dir(root)
        .with_context(|| format!("reading {}", root.display()))?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.join("kernel").is_dir())
        .with_context(|| format!("{} holds no kernel release", root.display()))?;
    let release = release_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .with_context(|| format!("{} has no name", release_dir.display()))?;
    let source = release_dir
        .join("kernel/lib")
        .join(format!("{GUEST_MODULE}.ko"));
    let out_dir = dir.join("modules").join(&release);
    std::fs::create_dir_all(&out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let module = out_dir.join(format!("{GUEST_MODULE}.ko"));
    let compressed = source.with_extension("ko.xz");
    if source.exists() {
        std::fs::copy(&source, &module).with_context(|| format!("copying {}", source.display()))?;
    } else if compressed.exists() {
        let out = std::fs::File::create(&module)
            .with_context(|| format!("creating {}", module.display()))?;
        let status = Command::new("xz")
            .arg("-dc")
            .arg(&compressed)
            .stdout(out)
            .status()
            .context("running xz (run `cargo xtask setup` to install xz-utils)")?;
        if !status.success() {
            bail!("xz -dc {} failed ({status})", compressed.display());
        }
    } else {
        bail!(
            "the package has neither {} nor {}",
            source.display(),
            compressed.display()
        );
    }
    Ok((release, module))
}

fn find_deb(dir: &Path) -> anyhow::Result<Option<PathBuf>> {
    Ok(std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "deb")))
}
