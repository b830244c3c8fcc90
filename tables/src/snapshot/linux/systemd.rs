//! systemd's units as its unit files describe them, for `systemd_units` and `startup_items`:
//! every unit file in the search path (the first of a name wins, as in systemd), what it is
//! (loaded, masked, an alias), whether it is enabled (`*.wants/`, `*.requires/` links under
//! `/etc/systemd/system`), its description and service user.
//!
//! What is running is systemd's to say, over D-Bus, which vigil does not speak: when systemd is
//! not the init system (containers, this CI machine) every unit is `inactive`/`dead`, which is
//! the truth; when it is, a unit systemd has an invocation for (`/run/systemd/units/`) is
//! `active`, others `inactive`, and `sub_state` is left empty rather than guessed.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use vigil_formats::ini;

use crate::snapshot::linux::bounded;

/// systemd's system unit search path, highest precedence first.
pub const UNIT_DIRS: &[&str] = &[
    "/etc/systemd/system",
    "/run/systemd/system",
    "/usr/local/lib/systemd/system",
    "/usr/lib/systemd/system",
    "/lib/systemd/system",
];
const UNIT_SUFFIXES: &[&str] = &[
    "service",
    "socket",
    "target",
    "timer",
    "mount",
    "automount",
    "path",
    "slice",
    "scope",
    "swap",
    "device",
];
const MAX_UNIT_FILE_BYTES: u64 = 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    pub id: String,
    pub description: String,
    /// `loaded`, or `masked` (a link to `/dev/null`).
    pub load_state: String,
    pub active_state: String,
    pub sub_state: String,
    /// `enabled`, `disabled` (installable, not enabled), `static` (no `[Install]`), `masked`,
    /// `alias`.
    pub unit_file_state: String,
    pub fragment_path: String,
    pub user: String,
}

/// Where systemd keeps what this module reads.
#[derive(Debug, Clone)]
pub struct Roots {
    pub unit_dirs: Vec<PathBuf>,
    /// `/etc/systemd/system`: the `*.wants/` links of enabled units.
    pub enablement_dir: PathBuf,
    /// `/run/systemd/system`: exists only while systemd runs as init.
    pub running_marker: PathBuf,
    /// `/run/systemd/units`: `invocation:<unit>` links of units systemd started.
    pub invocations: PathBuf,
}

impl Default for Roots {
    fn default() -> Self {
        Self {
            unit_dirs: UNIT_DIRS.iter().map(PathBuf::from).collect(),
            enablement_dir: "/etc/systemd/system".into(),
            running_marker: "/run/systemd/system".into(),
            invocations: "/run/systemd/units".into(),
        }
    }
}

/// Every unit, by id.
pub fn units(roots: &Roots, table: &str) -> Vec<Unit> {
    let enabled = enabled_units(roots, table);
    let running = roots.running_marker.is_dir();
    let mut found: BTreeMap<String, Unit> = BTreeMap::new();
    for dir in &roots.unit_dirs {
        for path in bounded::list_dir(table, dir, bounded::MAX_DIR_ENTRIES) {
            let Some(id) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else {
                continue;
            };
            let is_unit = id
                .rsplit_once('.')
                .is_some_and(|(stem, suffix)| !stem.is_empty() && UNIT_SUFFIXES.contains(&suffix));
            if !is_unit || found.contains_key(&id) || !path.is_file() && !is_masked(&path) {
                continue;
            }
            let unit = unit(table, &id, &path, &enabled, running, roots);
            found.insert(id, unit);
        }
    }
    found.into_values().collect()
}

fn unit(
    table: &str,
    id: &str,
    path: &Path,
    enabled: &HashSet<String>,
    running: bool,
    roots: &Roots,
) -> Unit {
    let masked = is_masked(path);
    let link_target = std::fs::read_link(path).ok();
    // A link to a unit file of another name: this name is an alias of that unit.
    let alias = link_target.as_ref().is_some_and(|target| {
        !masked
            && target
                .file_name()
                .is_some_and(|n| n.to_string_lossy() != id)
    });
    let fragment = if masked {
        PathBuf::new()
    } else {
        std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned())
    };
    let sections = if masked {
        Vec::new()
    } else {
        bounded::read_text(table, &fragment, MAX_UNIT_FILE_BYTES)
            .map(|t| ini::sections(&t))
            .unwrap_or_default()
    };
    let option = |section: &str, key: &str| {
        sections
            .iter()
            .filter(|s| s.name == section)
            .find_map(|s| s.get(key))
            .unwrap_or("")
            .to_owned()
    };
    let installable = sections
        .iter()
        .any(|s| s.name == "Install" && !s.options.is_empty());
    let unit_file_state = if masked {
        "masked"
    } else if alias {
        "alias"
    } else if enabled.contains(id) {
        "enabled"
    } else if installable {
        "disabled"
    } else {
        "static"
    };
    let (active_state, sub_state) = if !running {
        ("inactive", "dead")
    } else if std::fs::symlink_metadata(roots.invocations.join(format!("invocation:{id}"))).is_ok()
    {
        ("active", "")
    } else {
        ("inactive", "")
    };
    Unit {
        id: id.to_owned(),
        description: option("Unit", "Description"),
        load_state: if masked { "masked" } else { "loaded" }.to_owned(),
        active_state: active_state.to_owned(),
        sub_state: sub_state.to_owned(),
        unit_file_state: unit_file_state.to_owned(),
        fragment_path: fragment.to_string_lossy().into_owned(),
        user: option("Service", "User"),
    }
}

fn is_masked(path: &Path) -> bool {
    std::fs::read_link(path).is_ok_and(|t| t == Path::new("/dev/null"))
}

/// Units linked from a `*.wants/` or `*.requires/` directory: enabled.
fn enabled_units(roots: &Roots, table: &str) -> HashSet<String> {
    let mut out = HashSet::new();
    for dir in bounded::list_dir(table, &roots.enablement_dir, bounded::MAX_DIR_ENTRIES) {
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !(name.ends_with(".wants") || name.ends_with(".requires")) {
            continue;
        }
        for link in bounded::list_dir(table, &dir, bounded::MAX_DIR_ENTRIES) {
            if let Some(unit) = link.file_name() {
                out.insert(unit.to_string_lossy().into_owned());
            }
        }
    }
    out
}

/// systemd's D-Bus object path of a unit: `/org/freedesktop/systemd1/unit/` and the id with
/// every byte but ASCII letters and digits written `_xx` (hex).
pub fn object_path(id: &str) -> String {
    let mut path = String::from("/org/freedesktop/systemd1/unit/");
    for byte in id.bytes() {
        if byte.is_ascii_alphanumeric() {
            path.push(char::from(byte));
        } else {
            path.push_str(&format!("_{byte:02x}"));
        }
    }
    path
}

#[cfg(test)]
pub mod fixture {
    use super::*;

    /// A unit search path of two directories in a temporary directory.
    pub fn machine() -> (tempfile::TempDir, Roots) {
        let dir = tempfile::tempdir().expect("tempdir");
        let etc = dir.path().join("etc/systemd/system");
        let lib = dir.path().join("lib/systemd/system");
        std::fs::create_dir_all(etc.join("multi-user.target.wants")).expect("mkdir");
        std::fs::create_dir_all(&lib).expect("mkdir");
        std::fs::write(
            lib.join("ssh.service"),
            "[Unit]\nDescription=OpenBSD Secure Shell server\n\n[Service]\nExecStart=/usr/sbin/sshd -D\n\n[Install]\nWantedBy=multi-user.target\nAlias=sshd.service\n",
        )
        .expect("write");
        std::fs::write(
            lib.join("cron.service"),
            "[Unit]\nDescription=Regular background program processing daemon\n[Service]\nUser=daemon\n[Install]\nWantedBy=multi-user.target\n",
        )
        .expect("write");
        std::fs::write(
            lib.join("sysinit.target"),
            "[Unit]\nDescription=System Initialization\n",
        )
        .expect("write");
        std::fs::write(lib.join("README"), "not a unit").expect("write");
        std::os::unix::fs::symlink(
            lib.join("ssh.service"),
            etc.join("multi-user.target.wants/ssh.service"),
        )
        .expect("symlink");
        std::os::unix::fs::symlink(lib.join("ssh.service"), etc.join("sshd.service"))
            .expect("symlink");
        std::os::unix::fs::symlink("/dev/null", etc.join("rescue.service")).expect("symlink");
        let roots = Roots {
            unit_dirs: vec![etc.clone(), lib],
            enablement_dir: etc,
            running_marker: dir.path().join("run/systemd/system"),
            invocations: dir.path().join("run/systemd/units"),
        };
        (dir, roots)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_files_their_state_and_enablement() {
        let (_dir, roots) = fixture::machine();
        let units = units(&roots, "t");
        let ids: Vec<_> = units.iter().map(|u| u.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "cron.service",
                "rescue.service",
                "ssh.service",
                "sshd.service",
                "sysinit.target"
            ]
        );
        let by_id = |id: &str| units.iter().find(|u| u.id == id).expect("listed");
        let ssh = by_id("ssh.service");
        assert_eq!(ssh.description, "OpenBSD Secure Shell server");
        assert_eq!(ssh.unit_file_state, "enabled");
        assert_eq!(
            (ssh.active_state.as_str(), ssh.sub_state.as_str()),
            ("inactive", "dead")
        );
        assert!(
            ssh.fragment_path
                .ends_with("lib/systemd/system/ssh.service")
        );
        assert_eq!(by_id("sshd.service").unit_file_state, "alias");
        let cron = by_id("cron.service");
        assert_eq!(
            (cron.unit_file_state.as_str(), cron.user.as_str()),
            ("disabled", "daemon")
        );
        assert_eq!(by_id("sysinit.target").unit_file_state, "static");
        let rescue = by_id("rescue.service");
        assert_eq!(
            (rescue.load_state.as_str(), rescue.unit_file_state.as_str()),
            ("masked", "masked")
        );
        assert_eq!(rescue.fragment_path, "");
    }

    #[test]
    fn a_running_systemd_marks_started_units_active() {
        let (dir, roots) = fixture::machine();
        std::fs::create_dir_all(&roots.running_marker).expect("mkdir");
        std::fs::create_dir_all(&roots.invocations).expect("mkdir");
        std::os::unix::fs::symlink("0123abcd", roots.invocations.join("invocation:ssh.service"))
            .expect("symlink");
        let units = units(&roots, "t");
        let state = |id: &str| {
            units
                .iter()
                .find(|u| u.id == id)
                .map(|u| u.active_state.clone())
                .expect("listed")
        };
        assert_eq!(state("ssh.service"), "active");
        assert_eq!(state("cron.service"), "inactive");
        drop(dir);
    }

    #[test]
    fn object_paths_escape_as_systemd_does() {
        assert_eq!(
            object_path("ssh.service"),
            "/org/freedesktop/systemd1/unit/ssh_2eservice"
        );
        assert_eq!(
            object_path("systemd-fsck@dev-vda1.service"),
            "/org/freedesktop/systemd1/unit/systemd_2dfsck_40dev_2dvda1_2eservice"
        );
    }
}
