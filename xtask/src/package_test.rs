//! `cargo xtask package-test`: the .deb in a clean Debian root, as an operator would meet it.
//! The root (bookworm, minbase plus systemd, made by debootstrap from the host's own apt
//! mirror) is built once per machine and kept under the target dir; each run works on a copy.
//! In it, with `chroot`: `dpkg -i` installs the package; `systemd-analyze verify` passes on the
//! unit, and `systemd-analyze security` gives the exposure SECURITY.md states; `vigil --version`
//! runs from the installed path; the `vigil` user exists; `dpkg --purge` (after the daemon's
//! directories were filled as a running service would) leaves the root as it was.

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    process::{Command, Output},
};

use anyhow::{Context as _, bail};

const SUITE: &str = "bookworm";

/// What may change besides the package's own files: dpkg's records of what it did, and the
/// marker `systemd-analyze` leaves when this test runs it.
const NOT_THE_PACKAGES: &[&str] = &[
    "run/systemd/systemd-units-load",
    "var/lib/dpkg/",
    "var/log/dpkg.log",
    "var/log/alternatives.log",
    "var/cache/debconf/",
    "etc/passwd-",
    "etc/group-",
    "etc/shadow-",
    "etc/gshadow-",
    "etc/subuid-",
    "etc/subgid-",
    "etc/ld.so.cache",
];

/// The first Debian mirror the host's apt uses (deb822 `URIs:` or a one-line `deb` entry).
fn host_mirror() -> anyhow::Result<String> {
    let mut sources = vec![PathBuf::from("/etc/apt/sources.list")];
    if let Ok(dir) = std::fs::read_dir("/etc/apt/sources.list.d") {
        sources.extend(dir.flatten().map(|e| e.path()));
    }
    for path in sources {
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        for line in text.lines().map(str::trim) {
            let uri = line
                .strip_prefix("URIs:")
                .map(str::trim)
                .or_else(|| line.strip_prefix("deb ").map(str::trim))
                .and_then(|rest| rest.split_whitespace().find(|w| w.contains("://")));
            if let Some(uri) = uri
                && uri.ends_with("/debian")
            {
                return Ok(uri.to_owned());
            }
        }
    }
    bail!("no Debian mirror in /etc/apt/sources.list or /etc/apt/sources.list.d/")
}

/// The clean root, made by debootstrap the first time (a few minutes) and kept.
fn clean_root(target: &Path) -> anyhow::Result<PathBuf> {
    let base = target.join("debian-root");
    let root = base.join(SUITE);
    if root.join("usr/bin/dpkg").exists() {
        return Ok(root);
    }
    let partial = base.join(format!("{SUITE}.partial"));
    if partial.exists() {
        std::fs::remove_dir_all(&partial)
            .with_context(|| format!("clearing {}", partial.display()))?;
    }
    std::fs::create_dir_all(&base)?;
    crate::run(
        Command::new("debootstrap")
            .args(["--variant=minbase", "--include=systemd", SUITE])
            .arg(&partial)
            .arg(host_mirror()?),
    )?;
    std::fs::rename(&partial, &root)
        .with_context(|| format!("moving {} into place", partial.display()))?;
    Ok(root)
}

/// What a root holds: every path under it (relative), and the contents of its account files,
/// which must come back byte for byte.
struct Snapshot {
    paths: BTreeSet<String>,
    accounts: Vec<(String, Vec<u8>)>,
}

fn snapshot(root: &Path) -> anyhow::Result<Snapshot> {
    let mut paths = BTreeSet::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)?.flatten() {
            let path = entry.path();
            let relative = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .to_string_lossy()
                .into_owned();
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            if ["proc", "sys", "dev"].contains(&relative.as_str()) {
                continue;
            }
            paths.insert(relative);
            if is_dir {
                stack.push(path);
            }
        }
    }
    let accounts = ["etc/passwd", "etc/group", "etc/shadow", "etc/gshadow"]
        .iter()
        .map(|f| Ok((f.to_string(), std::fs::read(root.join(f))?)))
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Snapshot { paths, accounts })
}

fn in_chroot(root: &Path, args: &[&str]) -> anyhow::Result<Output> {
    Command::new("chroot")
        .arg(root)
        .args(args)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("DEBIAN_FRONTEND", "noninteractive")
        .env("LANG", "C.UTF-8")
        .output()
        .with_context(|| format!("running {args:?} in {}", root.display()))
}

/// Runs `args` in the chroot; fails with its output unless it succeeds. Returns its stdout.
fn must(root: &Path, args: &[&str]) -> anyhow::Result<String> {
    let out = in_chroot(root, args)?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        bail!(
            "{args:?} failed ({}):\n{stdout}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(stdout)
}

/// `systemd-analyze security`'s overall exposure: its score and verdict, e.g. `2.1 OK`.
pub fn exposure(report: &str) -> Option<String> {
    let (_, level) = report
        .lines()
        .find_map(|l| l.split_once("Overall exposure level for vigil.service:"))?;
    let words: Vec<&str> = level.split_whitespace().take(2).collect();
    (words.len() == 2).then(|| words.join(" "))
}

/// Installs, checks and purges `deb` in a copy of the clean root. Returns the unit's exposure.
pub fn run(root_dir: &Path, target: &Path, deb: &Path) -> anyhow::Result<String> {
    let clean = clean_root(target)?;
    let work = target.join("debian-root").join("test");
    if work.exists() {
        std::fs::remove_dir_all(&work).with_context(|| format!("clearing {}", work.display()))?;
    }
    crate::run(Command::new("cp").arg("-a").arg(&clean).arg(&work))?;
    let before = snapshot(&work)?;

    let deb_in_root = "/tmp/vigil.deb";
    std::fs::copy(deb, work.join(deb_in_root.trim_start_matches('/')))
        .context("copying the package into the root")?;
    must(&work, &["dpkg", "-i", deb_in_root])?;
    std::fs::remove_file(work.join(deb_in_root.trim_start_matches('/')))?;

    let version = must(&work, &["/usr/bin/vigil", "--version"])?;
    if version.trim() != format!("vigil {}", crate::package::VERSION) {
        bail!("/usr/bin/vigil --version said {version:?}");
    }
    let unit = "/lib/systemd/system/vigil.service";
    // --man=no: the unit's documentation is a file, not a manual page this root has.
    let verify = in_chroot(&work, &["systemd-analyze", "verify", "--man=no", unit])?;
    let complaints = String::from_utf8_lossy(&verify.stderr).into_owned();
    if !verify.status.success() || complaints.contains("vigil.service") {
        bail!(
            "systemd-analyze verify {unit}: {}\n{complaints}",
            verify.status
        );
    }
    let security = in_chroot(
        &work,
        &[
            "systemd-analyze",
            "security",
            "--offline=true",
            "--no-pager",
            unit,
        ],
    )?;
    let report = String::from_utf8_lossy(&security.stdout).into_owned();
    let level = exposure(&report).with_context(|| {
        format!(
            "systemd-analyze security gave no overall exposure:\n{report}{}",
            String::from_utf8_lossy(&security.stderr)
        )
    })?;
    let stated = std::fs::read_to_string(root_dir.join("SECURITY.md"))?;
    if !stated.contains(&format!("`systemd-analyze security` exposure: **{level}**")) {
        bail!(
            "SECURITY.md does not state the unit's exposure as measured now: write \
             \"`systemd-analyze security` exposure: **{level}**\" there. The report:\n{report}"
        );
    }
    let user = must(&work, &["getent", "passwd", "vigil"])?;
    if !user
        .trim_end()
        .ends_with(":/var/lib/vigil:/usr/sbin/nologin")
    {
        bail!("the vigil user is not a system user without a shell: {user}");
    }
    let conffiles = must(&work, &["dpkg-query", "-W", "-f=${Conffiles}", "vigil"])?;
    if !conffiles.contains("/etc/vigil/vigil.conf") {
        bail!("/etc/vigil/vigil.conf is not a conffile: {conffiles:?}");
    }

    // What a service that ran leaves: its database, logs and runtime directory.
    for (dir, file) in [
        ("var/lib/vigil/db", "CURRENT"),
        ("var/log/vigil", "vigil.status.log"),
        ("run/vigil", "vigil.pid"),
    ] {
        std::fs::create_dir_all(work.join(dir))?;
        std::fs::write(work.join(dir).join(file), "left by a run\n")?;
    }
    must(&work, &["dpkg", "--purge", "vigil"])?;
    let after = snapshot(&work)?;
    let left: Vec<&String> = after
        .paths
        .symmetric_difference(&before.paths)
        .filter(|p| !NOT_THE_PACKAGES.iter().any(|r| p.starts_with(r)))
        .collect();
    if !left.is_empty() {
        bail!("dpkg --purge vigil left the root changed: {left:?}");
    }
    for ((file, was), (_, is)) in before.accounts.iter().zip(&after.accounts) {
        if was != is {
            bail!("dpkg --purge vigil left /{file} changed (the vigil user or group)");
        }
    }
    std::fs::remove_dir_all(&work)?;
    eprintln!(
        "xtask: {} installs in a clean {SUITE} root, its unit verifies (exposure {level}), \
         vigil --version runs, and purge leaves nothing",
        deb.display()
    );
    Ok(level)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_overall_exposure_is_read_from_the_report() {
        let report = "  NAME  DESCRIPTION  EXPOSURE\n✗ PrivateNetwork= ...  0.5\n\n\
                      → Overall exposure level for vigil.service: 2.9 OK 🙂\n";
        assert_eq!(exposure(report).as_deref(), Some("2.9 OK"));
        assert_eq!(exposure("nothing"), None);
    }
}
