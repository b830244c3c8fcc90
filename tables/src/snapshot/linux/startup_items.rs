//! `startup_items`: what starts with the system or a session on Linux, as osquery lists it: XDG
//! autostart entries (`/etc/xdg/autostart/*.desktop`, `~/.config/autostart/`), autostart scripts
//! (`/etc/init.d/`, `~/.config/autostart-scripts/`), and systemd's enabled units (their state
//! as [`super::systemd`] tells it).

use std::path::Path;

use crate::row::table_row;
use crate::snapshot::linux::accounts::accounts;
use crate::snapshot::linux::bounded;
use crate::snapshot::linux::systemd::{self, Roots};
use crate::snapshot::util::rows;
use crate::table::{Column, Row, Rows, ScanRequest, Table, TableError};

const NAME: &str = "startup_items";
const XDG_AUTOSTART: &str = "/etc/xdg/autostart";
const INIT_SCRIPTS: &str = "/etc/init.d";
const MAX_DESKTOP_FILE_BYTES: u64 = 1024 * 1024;

table_row! {
    struct StartupItemRow {
        name: Text,
        path: Text,
        args: Text,
        r#type: Text,
        source: Text,
        status: Text,
        username: Text,
    }
}

pub struct StartupItems;

impl Table for StartupItems {
    fn name(&self) -> &'static str {
        NAME
    }

    fn columns(&self) -> &'static [Column] {
        StartupItemRow::COLUMNS
    }

    fn scan(&self, _request: &ScanRequest) -> Result<Rows, TableError> {
        let mut out = Vec::new();
        // Any uid: a startup item table has no uid column to narrow by.
        for account in accounts(NAME, &ScanRequest::default(), usize::MAX) {
            let config = account.home.join(".config");
            out.extend(autostart_entries(&config.join("autostart"), &account.name));
            out.extend(scripts(&config.join("autostart-scripts"), &account.name));
        }
        out.extend(scripts(Path::new(INIT_SCRIPTS), ""));
        out.extend(autostart_entries(Path::new(XDG_AUTOSTART), ""));
        out.extend(systemd_items(&Roots::default()));
        Ok(rows(out))
    }
}

fn item(
    name: String,
    path: String,
    args: String,
    kind: &str,
    source: &Path,
    status: &str,
    username: &str,
) -> Row {
    StartupItemRow {
        name: name.into(),
        path: path.into(),
        args: args.into(),
        r#type: kind.into(),
        source: source.to_string_lossy().into_owned().into(),
        status: status.into(),
        username: username.into(),
    }
    .into()
}

/// `.desktop` files: `Name=` and `Exec=` of the `[Desktop Entry]`, the command split into the
/// program and its arguments.
fn autostart_entries(dir: &Path, username: &str) -> Vec<Row> {
    bounded::list_dir(NAME, dir, bounded::MAX_DIR_ENTRIES)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "desktop"))
        .filter_map(|file| {
            let text = bounded::read_text(NAME, &file, MAX_DESKTOP_FILE_BYTES)?;
            let sections = vigil_formats::ini::sections(&text);
            let entry = sections.iter().find(|s| s.name == "Desktop Entry");
            let get = |key: &str| entry.and_then(|e| e.get(key)).unwrap_or("").to_owned();
            let exec = get("Exec");
            let (program, args) = exec.split_once(' ').unwrap_or((exec.as_str(), ""));
            Some(item(
                get("Name"),
                program.to_owned(),
                args.to_owned(),
                "Startup Item",
                dir,
                "enabled",
                username,
            ))
        })
        .collect()
}

fn scripts(dir: &Path, username: &str) -> Vec<Row> {
    bounded::list_dir(NAME, dir, bounded::MAX_DIR_ENTRIES)
        .into_iter()
        .filter(|p| p.is_file())
        .map(|file| {
            let name = file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            item(
                name,
                file.to_string_lossy().into_owned(),
                String::new(),
                "Startup Item",
                dir,
                "enabled",
                username,
            )
        })
        .collect()
}

fn systemd_items(roots: &Roots) -> Vec<Row> {
    systemd::units(roots, NAME)
        .into_iter()
        .filter(|u| u.unit_file_state == "enabled")
        .map(|unit| {
            let source = Path::new(&unit.fragment_path)
                .parent()
                .map(Path::to_owned)
                .unwrap_or_default();
            item(
                unit.id,
                unit.fragment_path.clone(),
                String::new(),
                "systemd unit",
                &source,
                &unit.active_state,
                &unit.user,
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::Value;

    #[test]
    fn desktop_entries_scripts_and_enabled_units() {
        let dir = tempfile::tempdir().expect("tempdir");
        let autostart = dir.path().join("autostart");
        std::fs::create_dir(&autostart).expect("mkdir");
        std::fs::write(
            autostart.join("xdg-user-dirs.desktop"),
            "[Desktop Entry]\nType=Application\nName=User folders update\nExec=xdg-user-dirs-update --force\nNoDisplay=true\n",
        )
        .expect("write");
        let rows = autostart_entries(&autostart, "alice");
        assert_eq!(rows.len(), 1);
        assert_eq!(
            rows[0][StartupItemRow::name],
            Value::from("User folders update")
        );
        assert_eq!(
            rows[0][StartupItemRow::path],
            Value::from("xdg-user-dirs-update")
        );
        assert_eq!(rows[0][StartupItemRow::args], Value::from("--force"));
        assert_eq!(rows[0][StartupItemRow::username], Value::from("alice"));

        let (_machine, roots) = systemd::fixture::machine();
        let units = systemd_items(&roots);
        let names: Vec<_> = units
            .iter()
            .map(|r| r[StartupItemRow::name].clone())
            .collect();
        assert_eq!(names, [Value::from("ssh.service")]);
        assert_eq!(
            units[0][StartupItemRow::r#type],
            Value::from("systemd unit")
        );
        assert_eq!(units[0][StartupItemRow::status], Value::from("inactive"));
    }

    #[test]
    fn the_host_items_have_osquery_statuses() {
        let rows: Vec<Row> = StartupItems
            .scan(&ScanRequest::default())
            .expect("scan")
            .collect::<Result<_, _>>()
            .expect("rows");
        let systemd_states = [
            "active",
            "inactive",
            "failed",
            "maintenance",
            "reloading",
            "activating",
            "deactivating",
        ];
        for row in &rows {
            let status = row[StartupItemRow::status].as_text().expect("status");
            match row[StartupItemRow::r#type].as_text() {
                Some("Startup Item") => assert_eq!(status, "enabled"),
                Some("systemd unit") => assert!(systemd_states.contains(&status), "{status}"),
                other => panic!("type {other:?}"),
            }
        }
        // Debian's init scripts are startup items.
        if Path::new("/etc/init.d/procps").exists() {
            assert!(
                rows.iter()
                    .any(|r| r[StartupItemRow::path] == Value::from("/etc/init.d/procps"))
            );
        }
    }
}
