//! `crontab`: the jobs of the system's and users' cron tables: `/etc/crontab`, then the files of
//! `/etc/cron.d/`, `/var/spool/cron/` (Red Hat's user tables) and `/var/spool/cron/crontabs/`
//! (Debian's).

use std::path::{Path, PathBuf};

use vigil_formats::crontab;

use crate::row::table_row;
use crate::snapshot::linux::bounded;
use crate::snapshot::linux::namespace::{NamespaceColumns, scan_in_namespaces};
use crate::snapshot::util::rows;
use crate::table::{Column, Row, Rows, ScanRequest, Table, TableError, Value};

const NAME: &str = "crontab";
const SYSTEM_CRONTAB: &str = "/etc/crontab";
const CRON_DIRS: &[&str] = &["/etc/cron.d", "/var/spool/cron", "/var/spool/cron/crontabs"];
/// A cron table is a few lines; this bounds a runaway one.
const MAX_CRONTAB_BYTES: u64 = 4 * 1024 * 1024;

table_row! {
    struct CrontabRow {
        event: Text,
        minute: Text,
        hour: Text,
        day_of_month: Text,
        month: Text,
        day_of_week: Text,
        command: Text,
        path: Text,
        #[hidden]
        pid_with_namespace: Integer,
    }
}

const NAMESPACE: NamespaceColumns = NamespaceColumns {
    pid_with_namespace: CrontabRow::pid_with_namespace,
    mount_namespace_id: None,
};

pub struct Crontab;

impl Table for Crontab {
    fn name(&self) -> &'static str {
        NAME
    }

    fn columns(&self) -> &'static [Column] {
        CrontabRow::COLUMNS
    }

    fn pushdown_columns(&self) -> &'static [usize] {
        &[CrontabRow::pid_with_namespace]
    }

    fn scan(&self, request: &ScanRequest) -> Result<Rows, TableError> {
        Ok(rows(scan_in_namespaces(NAME, request, NAMESPACE, || {
            let dirs: Vec<&Path> = CRON_DIRS.iter().map(Path::new).collect();
            Ok(read(Path::new(SYSTEM_CRONTAB), &dirs))
        })?))
    }
}

fn read(system_crontab: &Path, dirs: &[&Path]) -> Vec<Row> {
    let mut files: Vec<PathBuf> = vec![system_crontab.to_owned()];
    for dir in dirs {
        files.extend(
            bounded::list_dir(NAME, dir, bounded::MAX_DIR_ENTRIES)
                .into_iter()
                .filter(|p| p.is_file()),
        );
    }
    let mut out = Vec::new();
    for file in files {
        let Some(text) = bounded::read_text(NAME, &file, MAX_CRONTAB_BYTES) else {
            continue;
        };
        let path = file.to_string_lossy().into_owned();
        out.extend(text.lines().filter_map(crontab::line).map(|job| {
            Row::from(CrontabRow {
                event: job.event.into(),
                minute: job.minute.into(),
                hour: job.hour.into(),
                day_of_month: job.day_of_month.into(),
                month: job.month.into(),
                day_of_week: job.day_of_week.into(),
                command: job.command.into(),
                path: path.clone().into(),
                pid_with_namespace: Value::Int(0),
            })
        }));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn system_and_user_tables() {
        let root = tempfile::tempdir().expect("tempdir");
        let system = root.path().join("crontab");
        std::fs::write(
            &system,
            "SHELL=/bin/sh\n# m h dom mon dow user\tcommand\n17 *\t* * *\troot    cd / && run-parts --report /etc/cron.hourly\n",
        )
        .expect("write");
        let cron_d = root.path().join("cron.d");
        let spool = root.path().join("crontabs");
        std::fs::create_dir(&cron_d).expect("mkdir");
        std::fs::create_dir(&spool).expect("mkdir");
        std::fs::write(
            cron_d.join("e2scrub_all"),
            "30 3 * * 0 root test -e /run/systemd/system || /sbin/e2scrub_all\n",
        )
        .expect("write");
        std::fs::write(
            spool.join("alice"),
            "@reboot /home/alice/bin/agent\n*/5 9-17 * jan-mar mon-fri /bin/true\n",
        )
        .expect("write");
        let rows = read(&system, &[&cron_d, &spool, &root.path().join("missing")]);
        assert_eq!(rows.len(), 4);
        assert_eq!(rows[0][CrontabRow::minute], Value::from("17"));
        assert_eq!(
            rows[0][CrontabRow::command],
            Value::from("root cd / && run-parts --report /etc/cron.hourly")
        );
        assert_eq!(
            rows[1][CrontabRow::path],
            Value::Text(cron_d.join("e2scrub_all").to_string_lossy().into_owned())
        );
        assert_eq!(rows[2][CrontabRow::event], Value::from("@reboot"));
        assert_eq!(rows[3][CrontabRow::month], Value::from("jan-mar"));
    }

    /// osquery's check of a cron field: `*`, or comma-separated numbers, ranges and steps in
    /// bounds, or names.
    fn cron_field_ok(field: &str, min: u32, max: u32, names: &[&str]) -> bool {
        field.split(',').all(|part| {
            let (range, step) = part.split_once('/').unwrap_or((part, "1"));
            step.parse::<u32>().is_ok()
                && (range == "*"
                    || range.split('-').all(|v| {
                        v.parse::<u32>().is_ok_and(|n| (min..=max).contains(&n))
                            || names.contains(&v.to_ascii_lowercase().as_str())
                    }))
        })
    }

    #[test]
    fn the_host_jobs_are_well_formed() {
        let rows: Vec<Row> = Crontab
            .scan(&ScanRequest::default())
            .expect("scan")
            .collect::<Result<_, _>>()
            .expect("rows");
        let months = [
            "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
        ];
        let days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
        for row in &rows {
            let text = |c: usize| row[c].as_text().unwrap_or("").to_owned();
            assert!(!text(CrontabRow::command).is_empty());
            assert!(Path::new(&text(CrontabRow::path)).is_file());
            if text(CrontabRow::event).is_empty() {
                assert!(
                    cron_field_ok(&text(CrontabRow::minute), 0, 59, &[]),
                    "{row:?}"
                );
                assert!(
                    cron_field_ok(&text(CrontabRow::hour), 0, 23, &[]),
                    "{row:?}"
                );
                assert!(
                    cron_field_ok(&text(CrontabRow::day_of_month), 1, 31, &[]),
                    "{row:?}"
                );
                assert!(
                    cron_field_ok(&text(CrontabRow::month), 1, 12, &months),
                    "{row:?}"
                );
                assert!(
                    cron_field_ok(&text(CrontabRow::day_of_week), 0, 7, &days),
                    "{row:?}"
                );
            } else {
                assert!(text(CrontabRow::event).starts_with('@'));
            }
        }
    }
}
