//! `cargo xtask package`: the Debian package an operator installs with `apt install
//! ./vigil_*.deb`, staged as a tree and built with `dpkg-deb`: the release binary (its hardening
//! checked first), the hardened systemd unit, `/etc/vigil/vigil.conf` (a commented flagfile, a
//! conffile), the maintainer scripts (a `vigil` system user; on purge, nothing left), and the
//! README, SECURITY.md and licence under `/usr/share/doc/vigil`.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context as _, bail};

/// The version of every crate of the workspace, and so of the package.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
pub const ARCHITECTURE: &str = "amd64";

/// What the binary links (`objdump -T`: GLIBC_2.34, GLIBCXX_3.4.30 from GCC 12, GCC_4.2.0), and
/// what the maintainer scripts run (`useradd`, `userdel`).
const DEPENDS: &str = "libc6 (>= 2.34), libgcc-s1 (>= 4.2), libstdc++6 (>= 12), passwd";

/// The files of the package: (path in the package, source in the workspace, mode).
const FILES: &[(&str, &str, u32)] = &[
    (
        "lib/systemd/system/vigil.service",
        "packaging/systemd/vigil.service",
        0o644,
    ),
    ("etc/vigil/vigil.conf", "packaging/vigil.conf", 0o644),
    ("usr/share/doc/vigil/README.md", "README.md", 0o644),
    ("usr/share/doc/vigil/SECURITY.md", "SECURITY.md", 0o644),
    ("DEBIAN/postinst", "packaging/debian/postinst", 0o755),
    ("DEBIAN/prerm", "packaging/debian/prerm", 0o755),
    ("DEBIAN/postrm", "packaging/debian/postrm", 0o755),
];

/// Kept on upgrade when the operator changed them, left by `remove`, gone with `purge`.
const CONFFILES: &[&str] = &["/etc/vigil/vigil.conf"];

/// The package's file name.
pub fn file_name() -> String {
    format!("vigil_{VERSION}_{ARCHITECTURE}.deb")
}

/// `DEBIAN/control` for a package whose files take `installed_kib`.
pub fn control(installed_kib: u64) -> String {
    format!(
        "Package: vigil\n\
         Version: {VERSION}\n\
         Architecture: {ARCHITECTURE}\n\
         Maintainer: vigil developers <vigil@example.invalid>\n\
         Installed-Size: {installed_kib}\n\
         Depends: {DEPENDS}\n\
         Section: admin\n\
         Priority: optional\n\
         Homepage: https://example.invalid/vigil\n\
         Description: SQL over kernel event history\n \
         vigil watches processes, files and sockets from the kernel with eBPF, keeps\n \
         what it saw in RocksDB, and answers SQL about it with osquery's table and\n \
         column names. It speaks osquery's TLS remote API, runs a schedule, and runs\n \
         as its own user with four capabilities (see SECURITY.md).\n"
    )
}

/// Debian's machine-readable copyright file.
fn copyright() -> String {
    "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\
     Upstream-Name: vigil\n\n\
     Files: *\n\
     Copyright: vigil developers\n\
     License: Apache-2.0\n \
     On Debian systems, the full text of the Apache License 2.0 is in\n \
     /usr/share/common-licenses/Apache-2.0.\n"
        .to_owned()
}

/// A Debian package is built on a POSIX system: the modes are set there (a no-op elsewhere,
/// where `dpkg-deb` does not run either).
fn set_mode(path: &Path, mode: u32) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .with_context(|| format!("chmod {}", path.display()))?;
    }
    #[cfg(not(unix))]
    let _ = (path, mode);
    Ok(())
}

fn write_file(path: &Path, contents: &[u8], mode: u32) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::write(path, contents).with_context(|| format!("writing {}", path.display()))?;
    set_mode(path, mode)
}

fn size_kib(dir: &Path) -> u64 {
    let mut bytes = 0;
    let mut stack = vec![dir.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n != "DEBIAN") {
                    stack.push(path);
                }
            } else if let Ok(meta) = entry.metadata() {
                bytes += meta.len();
            }
        }
    }
    bytes.div_ceil(1024)
}

/// Stages the package's tree in `stage` from the workspace at `root` and the `binary`.
pub fn stage(root: &Path, binary: &Path, stage: &Path) -> anyhow::Result<()> {
    if stage.exists() {
        std::fs::remove_dir_all(stage).with_context(|| format!("clearing {}", stage.display()))?;
    }
    let binary_bytes =
        std::fs::read(binary).with_context(|| format!("reading {}", binary.display()))?;
    write_file(&stage.join("usr/bin/vigil"), &binary_bytes, 0o755)?;
    for (to, from, mode) in FILES {
        let bytes = std::fs::read(root.join(from)).with_context(|| format!("reading {from}"))?;
        write_file(&stage.join(to), &bytes, *mode)?;
    }
    write_file(
        &stage.join("usr/share/doc/vigil/copyright"),
        copyright().as_bytes(),
        0o644,
    )?;
    let conffiles: String = CONFFILES.iter().map(|f| format!("{f}\n")).collect();
    write_file(&stage.join("DEBIAN/conffiles"), conffiles.as_bytes(), 0o644)?;
    let control = control(size_kib(stage));
    write_file(&stage.join("DEBIAN/control"), control.as_bytes(), 0o644)?;
    // Directories as a package wants them whatever the umask: 0755.
    let mut stack = vec![stage.to_owned()];
    while let Some(dir) = stack.pop() {
        set_mode(&dir, 0o755)?;
        for entry in std::fs::read_dir(&dir)?.flatten() {
            if entry.path().is_dir() {
                stack.push(entry.path());
            }
        }
    }
    Ok(())
}

/// The time of the last commit, so the package's file times do not depend on when it was built.
fn source_date_epoch(root: &Path) -> Option<String> {
    let out = Command::new("git")
        .args(["log", "-1", "--format=%ct"])
        .current_dir(root)
        .output()
        .ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let epoch = text.trim();
    (out.status.success() && !epoch.is_empty()).then(|| epoch.to_owned())
}

/// Builds the .deb from `binary` into `out_dir`; returns its path. A `release` binary must show
/// every hardening of `hardening`; a development one (the package test's, in CI) all but the C
/// parts' stack protector.
pub fn build(root: &Path, binary: &Path, out_dir: &Path, release: bool) -> anyhow::Result<PathBuf> {
    crate::hardening::check(binary, release)?;
    let staged = out_dir.join(format!("vigil_{VERSION}_{ARCHITECTURE}"));
    stage(root, binary, &staged)?;
    let deb = out_dir.join(file_name());
    let mut command = Command::new("dpkg-deb");
    command
        .args(["--root-owner-group", "-Zxz", "--build"])
        .arg(&staged)
        .arg(&deb);
    if let Some(epoch) = source_date_epoch(root) {
        command.env("SOURCE_DATE_EPOCH", epoch);
    }
    crate::run(&mut command)?;
    if !deb.exists() {
        bail!(
            "dpkg-deb said it built {}, which is not there",
            deb.display()
        );
    }
    eprintln!("xtask: built {}", deb.display());
    Ok(deb)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    #[test]
    fn the_staged_tree_holds_the_binary_unit_conffile_scripts_and_docs() {
        let root = crate::workspace_root();
        let dir = tempfile::tempdir().expect("dir");
        let binary = dir.path().join("vigil");
        std::fs::write(&binary, b"\x7fELF stand-in").expect("binary");
        let staged = dir.path().join("stage");
        stage(&root, &binary, &staged).expect("stages");
        let mode = |p: &str| {
            std::fs::metadata(staged.join(p))
                .unwrap_or_else(|e| panic!("{p}: {e}"))
                .permissions()
                .mode()
                & 0o7777
        };
        assert_eq!(mode("usr/bin/vigil"), 0o755);
        assert_eq!(mode("lib/systemd/system/vigil.service"), 0o644);
        assert_eq!(mode("etc/vigil/vigil.conf"), 0o644);
        for script in ["postinst", "prerm", "postrm"] {
            assert_eq!(mode(&format!("DEBIAN/{script}")), 0o755, "{script}");
        }
        assert_eq!(
            std::fs::read_to_string(staged.join("DEBIAN/conffiles")).expect("conffiles"),
            "/etc/vigil/vigil.conf\n"
        );
        let control = std::fs::read_to_string(staged.join("DEBIAN/control")).expect("control");
        assert!(
            control.starts_with("Package: vigil\nVersion: "),
            "{control}"
        );
        assert!(control.contains("\nDepends: libc6 (>= 2.34)"), "{control}");
        assert!(control.contains("\nInstalled-Size: "), "{control}");
        assert!(control.ends_with(".\n"), "{control}");
    }

    /// The flagfile shipped as the conffile parses (every line a comment), and the unit runs it.
    #[test]
    fn the_conffile_is_a_commented_flagfile_the_unit_reads() {
        let root = crate::workspace_root();
        let conf = std::fs::read_to_string(root.join("packaging/vigil.conf")).expect("conf");
        assert!(
            conf.lines().all(|l| l.is_empty() || l.starts_with('#')),
            "every example flag is commented out"
        );
        let unit =
            std::fs::read_to_string(root.join("packaging/systemd/vigil.service")).expect("unit");
        assert!(unit.contains("--flagfile=/etc/vigil/vigil.conf"), "{unit}");
        assert!(
            unit.contains(
                "CapabilityBoundingSet=CAP_BPF CAP_PERFMON CAP_DAC_READ_SEARCH CAP_SYS_PTRACE"
            ),
            "the unit bounds vigil to the capabilities SECURITY.md names"
        );
    }
}
