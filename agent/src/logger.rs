//! The filesystem logger: writes the result, snapshot and status lines buffered in the store to
//! `<logger_path>/vigil.{results,snapshots,status}.log`, and forgets them only once written. A
//! full disk or an unwritable directory is reported and retried; lines wait in the store.

use std::{
    io::Write as _,
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use anyhow::Context as _;
use vigil_events::EventStore;
use vigil_state::logs::{self, LineKind, Logger, LoggerStats, Sink};

use crate::background::Background;

#[derive(Debug, Clone)]
pub struct LoggerSettings {
    pub path: PathBuf,
    /// `--logger_mode`: permissions of new log files.
    pub mode: u32,
    /// `--logger_rotate`, `--logger_rotate_size`, `--logger_rotate_max_files`.
    pub rotate: bool,
    pub rotate_size: u64,
    pub rotate_max_files: u32,
}

pub struct FilesystemLogger(Background);

fn file_name(kind: LineKind) -> &'static str {
    match kind {
        LineKind::Result => "vigil.results.log",
        LineKind::Snapshot => "vigil.snapshots.log",
        LineKind::Status => "vigil.status.log",
    }
}

/// `file` → `file.1` → ... → `file.N`; the oldest beyond `max_files` is removed.
fn rotate(path: &Path, max_files: u32) -> std::io::Result<()> {
    let numbered = |n: u32| PathBuf::from(format!("{}.{n}", path.display()));
    let _ = std::fs::remove_file(numbered(max_files.max(1)));
    for n in (1..max_files.max(1)).rev() {
        if numbered(n).exists() {
            std::fs::rename(numbered(n), numbered(n + 1))?;
        }
    }
    std::fs::rename(path, numbered(1))
}

fn append(settings: &LoggerSettings, kind: LineKind, lines: &[&str]) -> std::io::Result<()> {
    let path = settings.path.join(file_name(kind));
    let incoming: u64 = lines.iter().map(|l| l.len() as u64 + 1).sum();
    if settings.rotate
        && let Ok(meta) = std::fs::metadata(&path)
        && meta.len() > 0
        && meta.len() + incoming > settings.rotate_size
    {
        rotate(&path, settings.rotate_max_files)?;
    }
    let mut file = crate::os::open_log_file(&path, settings.mode)?;
    let mut text = String::with_capacity(incoming as usize);
    for line in lines {
        text.push_str(line);
        text.push('\n');
    }
    // A write cut short (a full disk) would leave a torn line, and the retry would write the
    // lines that did get through a second time: cut the file back to where this write began.
    let before = file.metadata()?.len();
    if let Err(error) = file.write_all(text.as_bytes()) {
        if let Err(truncate) = file.set_len(before) {
            tracing::error!(%truncate, file = %path.display(),
                "a partly written log chunk could not be removed; the file may hold a torn line");
        }
        return Err(error);
    }
    Ok(())
}

/// Writes what is buffered; returns how many lines were written, or why not all could be.
fn drain(store: &EventStore, settings: &LoggerSettings) -> anyhow::Result<u64> {
    let mut total = 0;
    loop {
        let lines = logs::waiting(store, Sink::Filesystem, 1024)?;
        if lines.is_empty() {
            return Ok(total);
        }
        // Consecutive lines of one kind go in one write; order within each file is kept.
        let mut written = Vec::with_capacity(lines.len());
        let mut start = 0;
        while start < lines.len() {
            let kind = lines[start].kind;
            let end = lines[start..]
                .iter()
                .position(|l| l.kind != kind)
                .map_or(lines.len(), |i| start + i);
            let chunk: Vec<&str> = lines[start..end].iter().map(|l| l.line.as_str()).collect();
            if let Err(error) = append(settings, kind, &chunk) {
                logs::forget(store, &written)?;
                return Err(error).with_context(|| {
                    format!("writing {} in {}", file_name(kind), settings.path.display())
                });
            }
            written.extend(lines[start..end].iter().map(|l| l.key));
            start = end;
        }
        logs::forget(store, &written)?;
        total += written.len() as u64;
    }
}

impl FilesystemLogger {
    pub fn spawn(store: Arc<EventStore>, settings: LoggerSettings) -> anyhow::Result<Self> {
        let thread = Background::spawn("vigil-logger", move |stopping| {
            let mut failing = false;
            let stats_key = logs::stats(Logger::Filesystem);
            let mut stats: LoggerStats = stats_key.get(&store).ok().flatten().unwrap_or_default();
            loop {
                let last_round = stopping.is_set();
                let before = stats.clone();
                match drain(&store, &settings) {
                    Ok(written) => {
                        stats.sent += written;
                        if failing {
                            tracing::info!("result logs are being written again");
                            failing = false;
                            stats.last_error.clear();
                        }
                    }
                    Err(error) => {
                        stats.failed_attempts += 1;
                        stats.last_error = format!("{error:#}");
                        if !failing {
                            tracing::error!(error = %stats.last_error,
                                "result logs cannot be written; they stay buffered in the database \
                                 and are retried");
                            failing = true;
                        }
                    }
                }
                if stats != before {
                    let _ = stats_key.set(&store, &stats);
                }
                if last_round {
                    break;
                }
                std::thread::sleep(Duration::from_millis(250));
            }
        })
        .context("starting the filesystem logger")?;
        Ok(Self(thread))
    }

    /// Writes what is left, then stops.
    pub fn stop(self) {
        self.0.stop();
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use vigil_state::Commit;

    use super::*;

    /// Queues `lines` as the scheduler does.
    fn buffer(store: &EventStore, lines: impl IntoIterator<Item = (LineKind, String)>) {
        let mut commit = Commit::default();
        for (kind, line) in lines {
            commit.log(kind, line);
        }
        commit.apply(store).expect("buffer");
    }

    #[test]
    fn lines_go_to_their_files_with_0640_and_rotate() {
        let dir = tempfile::tempdir().expect("dir");
        let store = EventStore::open_primary(&dir.path().join("db")).expect("store");
        let settings = LoggerSettings {
            path: dir.path().to_path_buf(),
            mode: 0o640,
            rotate: true,
            rotate_size: 20,
            rotate_max_files: 2,
        };
        buffer(
            &store,
            [
                (LineKind::Result, "r1-0123456789".into()),
                (LineKind::Snapshot, "s1".into()),
                (LineKind::Result, "r2-0123456789".into()),
            ],
        );
        drain(&store, &settings).expect("drain");
        assert!(
            logs::waiting(&store, Sink::Filesystem, 10)
                .expect("lines")
                .is_empty(),
            "written lines are forgotten"
        );
        let results = dir.path().join("vigil.results.log");
        assert_eq!(
            std::fs::read_to_string(&results).expect("read"),
            "r2-0123456789\n"
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("vigil.results.log.1")).expect("rotated"),
            "r1-0123456789\n"
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("vigil.snapshots.log")).expect("read"),
            "s1\n"
        );
        let mode = std::fs::metadata(&results)
            .expect("stat")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o640);
    }

    #[test]
    fn an_unwritable_directory_keeps_lines_buffered() {
        let dir = tempfile::tempdir().expect("dir");
        let store = EventStore::open_primary(&dir.path().join("db")).expect("store");
        let settings = LoggerSettings {
            path: dir.path().join("missing-dir"),
            mode: 0o640,
            rotate: false,
            rotate_size: 0,
            rotate_max_files: 1,
        };
        buffer(&store, [(LineKind::Result, "kept".into())]);
        let error = drain(&store, &settings).expect_err("no such directory");
        assert!(
            format!("{error:#}").contains("vigil.results.log"),
            "{error:#}"
        );
        assert_eq!(
            logs::waiting(&store, Sink::Filesystem, 10)
                .expect("lines")
                .len(),
            1,
            "nothing lost"
        );
        std::fs::create_dir(dir.path().join("missing-dir")).expect("mkdir");
        drain(&store, &settings).expect("writes once it can");
        assert!(
            logs::waiting(&store, Sink::Filesystem, 10)
                .expect("lines")
                .is_empty()
        );
    }

    /// A tmpfs of `bytes` mounted on a new directory, unmounted on drop.
    struct SmallDisk {
        dir: tempfile::TempDir,
    }

    impl SmallDisk {
        fn mount(bytes: u64) -> Self {
            let dir = tempfile::tempdir().expect("dir");
            let status = std::process::Command::new("mount")
                .args(["-t", "tmpfs", "-o", &format!("size={bytes}"), "vigil-test"])
                .arg(dir.path())
                .status()
                .expect("run mount");
            assert!(
                status.success(),
                "mounting a small tmpfs needs root (CI runs as root)"
            );
            Self { dir }
        }
    }

    impl Drop for SmallDisk {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount")
                .arg("-l")
                .arg(self.dir.path())
                .status();
        }
    }

    #[test]
    fn a_full_disk_leaves_no_torn_line_and_the_retry_writes_each_line_once() {
        let disk = SmallDisk::mount(64 * 1024);
        let dir = tempfile::tempdir().expect("dir");
        let store = EventStore::open_primary(&dir.path().join("db")).expect("store");
        let settings = LoggerSettings {
            path: disk.dir.path().to_path_buf(),
            mode: 0o640,
            rotate: false,
            rotate_size: 0,
            rotate_max_files: 1,
        };
        // Leave less room than the lines need: the write gets part of the way, then ENOSPC.
        let filler = disk.dir.path().join("filler");
        let mut fill = std::fs::File::create(&filler).expect("filler");
        let chunk = vec![b'x'; 4096];
        while fill.write_all(&chunk).is_ok() {}
        drop(fill);
        let size = std::fs::metadata(&filler).expect("stat").len();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&filler)
            .expect("open filler")
            .set_len(size - 6000)
            .expect("make room");
        let lines: Vec<String> = (0..200)
            .map(|i| format!("{{\"line\":{i:04},\"pad\":\"{}\"}}", "p".repeat(60)))
            .collect();
        buffer(&store, lines.iter().map(|l| (LineKind::Result, l.clone())));
        let results = disk.dir.path().join("vigil.results.log");
        drain(&store, &settings).expect_err("the disk is full");
        let partial = std::fs::read_to_string(&results).unwrap_or_default();
        assert!(
            partial.is_empty() || partial.ends_with('\n'),
            "no torn line: {} bytes ending {:?}",
            partial.len(),
            partial.chars().rev().take(20).collect::<String>()
        );
        assert_eq!(
            logs::waiting(&store, Sink::Filesystem, usize::MAX)
                .expect("lines")
                .len()
                + partial.lines().count(),
            200,
            "every line is written or still waiting"
        );
        std::fs::remove_file(&filler).expect("free the disk");
        drain(&store, &settings).expect("writes once there is room");
        let written: Vec<String> = std::fs::read_to_string(&results)
            .expect("read")
            .lines()
            .map(str::to_owned)
            .collect();
        assert_eq!(written, lines, "each line once, in order");
    }
}
