//! The guest's initramfs: busybox, the `vigil` binary and this xtask (the scenario runner), each
//! with the shared libraries `ldd` names, each kernel's module to load, and an `/init` that runs
//! the scenario and powers off.

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
};

use anyhow::{Context as _, bail};

use super::kernels::Image;

const BUSYBOX: &str = "/bin/busybox";

/// The guest's `/init`: mount what vigil needs, run the scenario, write its report to the second
/// serial port, power off.
const INIT: &str = r#"#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mount -t tracefs tracefs /sys/kernel/tracing
mount -t bpf bpf /sys/fs/bpf
ip link set lo up
echo "guest: $(uname -r) up after $(cut -d' ' -f1 /proc/uptime) s"
cd /
/bin/xtask kernel-scenario --vigil /bin/vigil --work /tmp/scenario --report /dev/ttyS1
echo "guest: scenario done after $(cut -d' ' -f1 /proc/uptime) s"
poweroff -f
"#;

/// Builds `<dir>/initramfs.cpio` (uncompressed: the kernel unpacks it faster than it inflates),
/// one for every kernel of `images`.
pub fn build(dir: &Path, vigil: &Path, xtask: &Path, images: &[Image]) -> anyhow::Result<PathBuf> {
    let root = dir.join("root");
    if root.exists() {
        std::fs::remove_dir_all(&root).with_context(|| format!("clearing {}", root.display()))?;
    }
    for sub in ["bin", "dev", "proc", "sys", "tmp", "run", "etc"] {
        std::fs::create_dir_all(root.join(sub))?;
    }
    if !Path::new(BUSYBOX).exists() {
        bail!("{BUSYBOX} is missing: run `cargo xtask setup` (it installs busybox-static)");
    }
    copy_file(Path::new(BUSYBOX), &root.join("bin/busybox"))?;
    // Debug info is most of these binaries' size: leave it out of the guest's memory.
    strip_into(vigil, &root.join("bin/vigil"))?;
    strip_into(xtask, &root.join("bin/xtask"))?;
    for binary in [vigil, xtask] {
        for library in shared_libraries(binary)? {
            let inside = root.join(library.strip_prefix("/").unwrap_or(&library));
            if !inside.exists() {
                copy_file(&library, &inside)?;
            }
        }
    }
    for image in images {
        let inside = image.module_in_guest();
        copy_file(
            &image.module,
            &root.join(inside.strip_prefix("/").unwrap_or(&inside)),
        )?;
    }
    std::fs::write(root.join("etc/passwd"), "root:x:0:0:root:/:/bin/sh\n")?;
    std::fs::write(root.join("etc/group"), "root:x:0:\n")?;
    write_executable(&root.join("init"), INIT)?;
    let cpio = dir.join("initramfs.cpio");
    archive(&root, &cpio)?;
    let _ = std::fs::remove_dir_all(&root);
    Ok(cpio)
}

fn copy_file(from: &Path, to: &Path) -> anyhow::Result<()> {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::copy(from, to)
        .with_context(|| format!("copying {} to {}", from.display(), to.display()))?;
    Ok(())
}

fn write_executable(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::write(path, text)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))?;
    Ok(())
}

fn strip_into(binary: &Path, to: &Path) -> anyhow::Result<()> {
    let status = Command::new("objcopy")
        .arg("--strip-debug")
        .arg(binary)
        .arg(to)
        .status()
        .context("running objcopy (binutils)")?;
    if !status.success() {
        bail!(
            "objcopy --strip-debug {} failed ({status})",
            binary.display()
        );
    }
    Ok(())
}

/// The shared libraries `binary` loads, and its program interpreter, as `ldd` lists them.
fn shared_libraries(binary: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let output = Command::new("ldd")
        .arg(binary)
        .output()
        .context("running ldd")?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        // A static binary: nothing to bring along.
        if text.contains("not a dynamic executable") {
            return Ok(Vec::new());
        }
        bail!("ldd {} failed: {}", binary.display(), text.trim());
    }
    let mut libraries = Vec::new();
    for line in text.lines() {
        let path = match line.split_once("=>") {
            Some((_, right)) => right.split_whitespace().next(),
            None => line.split_whitespace().next(),
        };
        match path {
            Some(path) if path.starts_with('/') => libraries.push(PathBuf::from(path)),
            Some("not") => bail!("ldd {}: {}", binary.display(), line.trim()),
            _ => {}
        }
    }
    Ok(libraries)
}

/// `find . | cpio -o -H newc` in `root`, as root-owned files.
fn archive(root: &Path, to: &Path) -> anyhow::Result<()> {
    let out = std::fs::File::create(to).with_context(|| format!("creating {}", to.display()))?;
    let mut find = Command::new("find")
        .arg(".")
        .current_dir(root)
        .stdout(Stdio::piped())
        .spawn()
        .context("running find")?;
    let names = find.stdout.take().context("find's output")?;
    let status = Command::new("cpio")
        .args(["-o", "-H", "newc", "--owner", "0:0", "--quiet"])
        .current_dir(root)
        .stdin(names)
        .stdout(out)
        .status()
        .context("running cpio (run `cargo xtask setup` to install it)")?;
    let find_status = find.wait()?;
    if !status.success() || !find_status.success() {
        bail!(
            "archiving {} failed (cpio {status}, find {find_status})",
            root.display()
        );
    }
    Ok(())
}
