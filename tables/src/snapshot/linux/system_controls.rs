//! `system_controls`: the kernel's sysctl settings (`/proc/sys`), each with its current value and
//! the value the host's sysctl configuration sets, as osquery lists them on Linux: `name` is the
//! path below `/proc/sys` with dots (`net.ipv4.ip_forward`), `subsystem` its first part,
//! `type` `string`. `name = ...` reads one setting, `subsystem = ...` one subtree.
//!
//! `oid` stays empty: Linux has no numeric sysctl ids since the `sysctl(2)` call went (5.5);
//! osquery asks that call for `oid = ...` and gets nothing either, so such a query has no rows.
//! `config_value` follows systemd-sysctl's order (`sysctl.d(5)`): the `*.conf` files of
//! `/etc`, `/run`, `/usr/local/lib`, `/usr/lib` and `/lib`'s `sysctl.d` by file name (the first
//! directory's file of a name hiding the others'), then `/etc/sysctl.conf`; a later setting wins.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use vigil_formats::sysctl;

use crate::row::table_row;
use crate::snapshot::linux::bounded;
use crate::snapshot::util::rows;
use crate::table::{Column, Row, Rows, ScanRequest, Table, TableError, Value};

const NAME: &str = "system_controls";
const PROC_SYS: &str = "/proc/sys";
const CONFIG_DIRS: &[&str] = &[
    "/etc/sysctl.d",
    "/run/sysctl.d",
    "/usr/local/lib/sysctl.d",
    "/usr/lib/sysctl.d",
    "/lib/sysctl.d",
];
const CONFIG_FILE: &str = "/etc/sysctl.conf";
/// A configuration file is a few KiB.
const MAX_CONFIG_BYTES: u64 = 1024 * 1024;
/// A setting's value is a line or a table of a few lines (`dev.cdrom.info`).
const MAX_VALUE_BYTES: u64 = 64 * 1024;
/// `/proc/sys` is 6 levels deep (`net.ipv4.conf.eth0.forwarding` and the like).
const MAX_DEPTH: usize = 16;
/// A host has a few thousand settings (more with many interfaces: each adds ~100).
const MAX_SETTINGS: usize = 200_000;

table_row! {
    struct SystemControlRow {
        name: Text,
        oid: Text,
        subsystem: Text,
        current_value: Text,
        config_value: Text,
        r#type: Text,
    }
}

pub struct SystemControls;

impl Table for SystemControls {
    fn name(&self) -> &'static str {
        NAME
    }

    fn columns(&self) -> &'static [Column] {
        SystemControlRow::COLUMNS
    }

    fn pushdown_columns(&self) -> &'static [usize] {
        &[
            SystemControlRow::name,
            SystemControlRow::oid,
            SystemControlRow::subsystem,
        ]
    }

    fn scan(&self, request: &ScanRequest) -> Result<Rows, TableError> {
        let texts = |column: usize| -> Vec<String> {
            request
                .equal_values(column)
                .filter_map(|v| v.as_text().map(str::to_owned))
                .collect()
        };
        if request.equal_values(SystemControlRow::oid).next().is_some() {
            return Ok(rows(Vec::new()));
        }
        let config = config(&config_files());
        let root = Path::new(PROC_SYS);
        let names = texts(SystemControlRow::name);
        let subsystems = texts(SystemControlRow::subsystem);
        let mut out = Vec::new();
        if !names.is_empty() {
            for name in names {
                // A name is dot-separated parts below /proc/sys, none empty: `a..b` or a `/`
                // would name something else.
                if name.contains('/') || name.split('.').any(str::is_empty) {
                    continue;
                }
                let path = root.join(name.replace('.', "/"));
                if std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_file()) {
                    out.extend(setting_row(root, &path, &config));
                }
            }
        } else if !subsystems.is_empty() {
            for subsystem in subsystems {
                if !subsystem.contains(['/', '.']) && !subsystem.is_empty() {
                    walk(root, &root.join(subsystem), 0, &config, &mut out);
                }
            }
        } else {
            walk(root, root, 0, &config, &mut out);
        }
        Ok(rows(out))
    }
}

/// The configuration files in the order they apply.
fn config_files() -> Vec<PathBuf> {
    let mut by_name: BTreeMap<String, PathBuf> = BTreeMap::new();
    for dir in CONFIG_DIRS {
        for path in bounded::list_dir(NAME, Path::new(dir), bounded::MAX_DIR_ENTRIES) {
            let Some(name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else {
                continue;
            };
            if name.ends_with(".conf") {
                by_name.entry(name).or_insert(path);
            }
        }
    }
    let mut files: Vec<PathBuf> = by_name.into_values().collect();
    files.push(PathBuf::from(CONFIG_FILE));
    files
}

/// Each configured setting's value, the last file's winning.
fn config(files: &[PathBuf]) -> HashMap<String, String> {
    let mut settings = HashMap::new();
    for file in files {
        if let Some(text) = bounded::read_text(NAME, file, MAX_CONFIG_BYTES) {
            settings.extend(sysctl::settings(&text));
        }
    }
    settings
}

/// The settings below `dir`, depth first, files in name order.
fn walk(
    root: &Path,
    dir: &Path,
    depth: usize,
    config: &HashMap<String, String>,
    out: &mut Vec<Row>,
) {
    for path in bounded::list_dir(NAME, dir, bounded::MAX_DIR_ENTRIES) {
        if out.len() >= MAX_SETTINGS {
            tracing::warn!(
                table = NAME,
                max = MAX_SETTINGS,
                "more sysctl settings than the table lists: the rest are left out"
            );
            return;
        }
        let Ok(metadata) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if metadata.is_dir() {
            if depth < MAX_DEPTH {
                walk(root, &path, depth + 1, config, out);
            }
        } else if metadata.is_file() {
            out.extend(setting_row(root, &path, config));
        }
    }
}

fn setting_row(root: &Path, path: &Path, config: &HashMap<String, String>) -> Option<Row> {
    let relative = path
        .strip_prefix(root)
        .ok()?
        .to_string_lossy()
        .replace('/', ".");
    let subsystem = relative.split('.').next().unwrap_or_default().to_owned();
    // Write-only settings (`vm.drop_caches`) cannot be read, by root either: no value.
    let current = read_value(path);
    Some(
        SystemControlRow {
            config_value: config.get(&relative).cloned().into(),
            name: relative.into(),
            oid: Value::from(""),
            subsystem: subsystem.into(),
            current_value: current.into(),
            r#type: Value::from("string"),
        }
        .into(),
    )
}

fn read_value(path: &Path) -> Option<String> {
    use std::io::Read;
    let file = std::fs::File::open(path).ok()?;
    let mut bytes = Vec::new();
    file.take(MAX_VALUE_BYTES).read_to_end(&mut bytes).ok()?;
    Some(String::from_utf8_lossy(&bytes).trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(request: &ScanRequest) -> Vec<Row> {
        SystemControls
            .scan(request)
            .expect("scan")
            .collect::<Result<_, _>>()
            .expect("rows")
    }

    fn equal(column: usize, value: &str) -> ScanRequest {
        ScanRequest {
            constraints: vec![crate::table::Constraint {
                column,
                op: crate::table::ConstraintOp::Eq,
                value: Value::from(value),
            }],
            ..ScanRequest::default()
        }
    }

    #[test]
    fn later_files_win_and_the_first_directory_hides_the_others() {
        let dir = tempfile::tempdir().expect("tempdir");
        let write = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).expect("write");
            path
        };
        let files = [
            write("10-a.conf", "net.ipv4.ip_forward = 1\nvm.swappiness = 60\n"),
            write("20-b.conf", "vm.swappiness=10\n"),
        ];
        let settings = config(&files);
        assert_eq!(settings["net.ipv4.ip_forward"], "1");
        assert_eq!(settings["vm.swappiness"], "10");
    }

    #[test]
    fn the_hosts_settings() {
        let all = scan(&ScanRequest::default());
        assert!(all.len() > 100, "{} settings", all.len());
        let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").expect("hostname");
        let row = all
            .iter()
            .find(|r| r[SystemControlRow::name] == Value::from("kernel.hostname"))
            .expect("kernel.hostname");
        assert_eq!(
            row[SystemControlRow::current_value],
            Value::from(hostname.trim())
        );
        assert_eq!(row[SystemControlRow::subsystem], Value::from("kernel"));
        // One by name, one subtree, and no numeric ids.
        let one = scan(&equal(SystemControlRow::name, "kernel.hostname"));
        assert_eq!(one, vec![row.clone()]);
        let vm = scan(&equal(SystemControlRow::subsystem, "vm"));
        assert!(!vm.is_empty());
        assert!(
            vm.iter()
                .all(|r| r[SystemControlRow::subsystem] == Value::from("vm"))
        );
        assert!(scan(&equal(SystemControlRow::oid, "4.30.41.1")).is_empty());
        assert!(scan(&equal(SystemControlRow::name, "../../etc/passwd")).is_empty());
    }
}
