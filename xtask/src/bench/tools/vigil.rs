//! vigil as a user runs it: `vigil daemon` on a database of its own, with default settings
//! (watchdog limits off, so that a storm is measured rather than a restart), read back through
//! `vigil query`.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::Duration,
};

use anyhow::{Context as _, bail};

use super::{Context, Finish, LoadMarks, StartError, Tool, stop_child, tail};
use crate::bench::{
    figures::VigilCounters,
    kernel_cost,
    load::LoadKind,
    measure::{self, unix_now_ns},
};

pub struct Vigil {
    vigil: PathBuf,
    probe_exe: PathBuf,
    dir: tempfile_dir::Dir,
    child: Child,
    started_ns: u64,
    first_event_ns: Option<u64>,
    stopped: bool,
}

/// A directory of its own, removed when dropped (xtask has no tempfile dependency).
mod tempfile_dir {
    use std::path::{Path, PathBuf};

    pub struct Dir(PathBuf);

    impl Dir {
        pub fn create(prefix: &str) -> std::io::Result<Self> {
            let path = std::env::temp_dir().join(format!(
                "{prefix}-{}-{}",
                std::process::id(),
                crate::kernel_matrix::scenario::wall_nanos()
            ));
            std::fs::create_dir_all(&path)?;
            Ok(Self(path))
        }

        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

impl Vigil {
    pub fn start(ctx: &Context<'_>) -> Result<Self, StartError> {
        let dir = tempfile_dir::Dir::create("vigil-bench-daemon")
            .context("creating the daemon's directory")?;
        let stderr = std::fs::File::create(dir.path().join("stderr"))
            .context("creating the daemon's stderr file")?;
        let started_ns = unix_now_ns();
        let child = Command::new(ctx.vigil)
            .arg("daemon")
            .arg("--database_path")
            .arg(dir.path().join("db"))
            .arg("--logger_path")
            .arg(dir.path().join("log"))
            .arg("--pidfile")
            .arg(dir.path().join("vigil.pid"))
            .arg("--watchdog_level=-1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("starting {}", ctx.vigil.display()))?;
        Ok(Self {
            vigil: ctx.vigil.to_owned(),
            probe_exe: ctx.workspace.ready_exe(),
            dir,
            child,
            started_ns,
            first_event_ns: None,
            stopped: false,
        })
    }

    fn db(&self) -> PathBuf {
        self.dir.path().join("db")
    }

    fn query(&self, sql: &str) -> anyhow::Result<Vec<serde_json::Value>> {
        query(&self.vigil, &self.db(), sql)
    }

    fn count(&self, sql: &str) -> anyhow::Result<u64> {
        let rows = self.query(sql)?;
        rows.first()
            .and_then(|row| number(&row["n"]))
            .with_context(|| format!("no count in the answer to {sql}"))
    }

    fn worker(&self) -> Option<i32> {
        measure::child_of(self.child.id() as i32)
    }
}

/// `vigil query --json` on `db`.
pub fn query(vigil: &Path, db: &Path, sql: &str) -> anyhow::Result<Vec<serde_json::Value>> {
    let output = Command::new(vigil)
        .arg("query")
        .arg("--database_path")
        .arg(db)
        .arg("--json")
        .arg(sql)
        .output()
        .context("running vigil query")?;
    if !output.status.success() {
        bail!(
            "vigil query failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    serde_json::from_slice(&output.stdout).context("vigil query's JSON")
}

/// A JSON value as a count: vigil's JSON gives numbers, or text for text columns.
pub fn number(value: &serde_json::Value) -> Option<u64> {
    match value {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

fn quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The SQL that counts the load's events in the table it fills.
pub fn load_count_sql(marks: &LoadMarks) -> String {
    let since = marks.since_s;
    match marks.kind {
        LoadKind::Exec => format!(
            "SELECT count(*) AS n FROM bpf_process_events WHERE time >= {since} AND path = {} \
             AND syscall IN ('execve', 'execveat')",
            quoted(&marks.exe.to_string_lossy())
        ),
        LoadKind::File => format!(
            "SELECT count(*) AS n FROM bpf_file_events WHERE time >= {since} AND pid = {} \
             AND path LIKE {}",
            marks.pid,
            quoted(&format!("{}/%", marks.files_dir.to_string_lossy()))
        ),
        LoadKind::Tcp => format!(
            "SELECT count(*) AS n FROM bpf_socket_events WHERE time >= {since} AND pid = {} \
             AND syscall IN ('connect', 'accept', 'accept4')",
            marks.pid
        ),
    }
}

impl Tool for Vigil {
    fn pids(&self) -> Vec<i32> {
        vec![self.child.id() as i32]
    }

    fn bpf_holders(&self) -> Vec<i32> {
        self.worker().into_iter().collect()
    }

    fn processes(&self) -> Vec<(&'static str, i32)> {
        let mut processes = vec![("watcher", self.child.id() as i32)];
        processes.extend(self.worker().map(|worker| ("worker", worker)));
        processes
    }

    fn saw_probe(&mut self) -> anyhow::Result<bool> {
        if let Some(status) = self.child.try_wait()? {
            bail!(
                "vigil daemon exited with {status}: {}",
                tail(&self.dir.path().join("stderr"), 10)
            );
        }
        if !self.db().join("CURRENT").exists() {
            return Ok(false);
        }
        let sql = format!(
            "SELECT min(ntime) AS n FROM bpf_process_events WHERE path = {} \
             AND syscall IN ('execve', 'execveat')",
            quoted(&self.probe_exe.to_string_lossy())
        );
        // The database exists before the daemon answers: a failing query means not yet.
        let Ok(rows) = self.query(&sql) else {
            return Ok(false);
        };
        self.first_event_ns = rows.first().and_then(|row| number(&row["n"]));
        Ok(self.first_event_ns.is_some())
    }

    fn progress(&mut self, marks: &LoadMarks) -> anyhow::Result<u64> {
        self.count(&load_count_sql(marks))
    }

    fn finish(&mut self, marks: &LoadMarks) -> anyhow::Result<Finish> {
        let mut finish = Finish::default();
        let rows = self.query(&format!(
            "SELECT name, seen, stored, dropped_ring_buffer, dropped_channel, dropped_store, \
             malformed, lost_in_flight FROM vigil_events WHERE name = {}",
            quoted(marks.kind.table())
        ))?;
        if let Some(row) = rows.first() {
            let n = |column: &str| number(&row[column]).unwrap_or(0);
            finish.counters = Some(VigilCounters {
                table: marks.kind.table().to_owned(),
                seen: n("seen"),
                stored: n("stored"),
                dropped_ring_buffer: n("dropped_ring_buffer"),
                dropped_channel: n("dropped_channel"),
                dropped_store: n("dropped_store"),
                malformed: n("malformed"),
                lost_in_flight: n("lost_in_flight"),
            });
        }
        match self.worker() {
            Some(worker) => match kernel_cost::programs_of(worker) {
                Ok(programs) => finish.programs = programs,
                Err(error) => finish.note = Some(format!("no program statistics: {error:#}")),
            },
            None => finish.note = Some("the daemon had no worker at the end of the run".into()),
        }
        Ok(finish)
    }

    fn stop(&mut self) -> anyhow::Result<f64> {
        self.stopped = true;
        stop_child(&mut self.child, libc::SIGTERM, Duration::from_secs(60))
    }

    fn captured(&mut self, marks: &LoadMarks) -> anyhow::Result<u64> {
        self.count(&load_count_sql(marks))
    }

    fn start_ms(&self) -> Option<f64> {
        self.first_event_ns
            .map(|first| first.saturating_sub(self.started_ns) as f64 / 1e6)
    }
}

impl Drop for Vigil {
    fn drop(&mut self) {
        if !self.stopped {
            let _ = stop_child(&mut self.child, libc::SIGTERM, Duration::from_secs(60));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_load_is_counted_in_its_own_table_by_what_marks_it() {
        let marks = |kind| LoadMarks {
            kind,
            exe: PathBuf::from("/tmp/vb-1/load"),
            files_dir: PathBuf::from("/tmp/vb-1/files"),
            pid: 77,
            since_s: 1_700_000_000,
        };
        let exec = load_count_sql(&marks(LoadKind::Exec));
        assert!(exec.contains("FROM bpf_process_events"));
        assert!(exec.contains("path = '/tmp/vb-1/load'"));
        let file = load_count_sql(&marks(LoadKind::File));
        assert!(file.contains("FROM bpf_file_events") && file.contains("pid = 77"));
        assert!(file.contains("LIKE '/tmp/vb-1/files/%'"));
        let tcp = load_count_sql(&marks(LoadKind::Tcp));
        assert!(tcp.contains("FROM bpf_socket_events") && tcp.contains("'accept4'"));
        assert_eq!(quoted("it's"), "'it''s'");
        assert_eq!(number(&serde_json::json!("12")), Some(12));
        assert_eq!(number(&serde_json::json!(12)), Some(12));
    }
}
