//! Running the real `vigil` binary as a user would, and waiting for what it should produce.

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Output, Stdio},
    time::{Duration, Instant},
};

pub const VIGIL: &str = env!("CARGO_BIN_EXE_vigil");

pub fn vigil() -> Command {
    let mut cmd = Command::new(VIGIL);
    cmd.env("VIGIL_LOG", "info");
    cmd
}

/// A string no other process on the machine will have in its command line.
pub fn marker(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("vigil-e2e-{name}-{}-{nanos}", std::process::id())
}

/// A SQL condition true when `cmdline` contains `mark`. The marker is spelled in hex so the
/// `vigil query` processes that run this SQL do not match it themselves.
pub fn cmdline_has(mark: &str) -> String {
    let hex: String = mark.bytes().map(|b| format!("{b:02x}")).collect();
    format!("instr(cmdline, CAST(unhex('{hex}') AS TEXT)) > 0")
}

/// Calls `probe` until it returns `Some`, or panics after `timeout` saying what was awaited.
pub fn poll<T>(what: &str, timeout: Duration, mut probe: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = probe() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `vigil query --database_path DB --json SQL`, parsed.
pub fn query_json(db: &Path, sql: &str) -> Vec<serde_json::Value> {
    let out = vigil()
        .args(["query", "--database_path"])
        .arg(db)
        .args(["--json", sql])
        .output()
        .expect("vigil query runs");
    assert!(
        out.status.success(),
        "vigil query failed: {}\n{}",
        out.status,
        text(&out.stderr)
    );
    serde_json::from_slice::<Vec<serde_json::Value>>(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "query output is not a JSON array ({e}): {}",
            text(&out.stdout)
        )
    })
}

pub fn field<'a>(row: &'a serde_json::Value, name: &str) -> &'a str {
    row[name]
        .as_str()
        .unwrap_or_else(|| panic!("row has no text column {name}: {row}"))
}

/// A `vigil daemon` in its own directory, stopped (SIGTERM) when dropped.
pub struct Daemon {
    pub dir: tempfile::TempDir,
    child: Option<Child>,
}

impl Daemon {
    pub fn start(extra_args: &[&str]) -> Self {
        Self::start_in(tempfile::tempdir().expect("tempdir"), extra_args)
    }

    /// A daemon on an existing directory (its database and logs as an earlier daemon left them).
    pub fn start_in(dir: tempfile::TempDir, extra_args: &[&str]) -> Self {
        Self::start_with_env(dir, extra_args, &[])
    }

    /// A daemon with more environment variables (fault injection).
    pub fn start_with_env(
        dir: tempfile::TempDir,
        extra_args: &[&str],
        env: &[(&str, &str)],
    ) -> Self {
        let mut command = vigil();
        command.envs(env.iter().copied());
        Self::start_command(dir, command, extra_args)
    }

    /// A daemon run by `command` (`vigil`, or a wrapper such as `setpriv ... vigil` that execs
    /// it in the same process), `daemon` and its arguments appended.
    pub fn start_command(
        dir: tempfile::TempDir,
        mut command: Command,
        extra_args: &[&str],
    ) -> Self {
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.path().join("stderr"))
            .expect("stderr file");
        let child = command
            .arg("daemon")
            .arg("--database_path")
            .arg(dir.path().join("db"))
            .arg("--logger_path")
            .arg(dir.path().join("log"))
            .arg("--pidfile")
            .arg(dir.path().join("vigil.pid"))
            .args(extra_args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("vigil daemon starts");
        let mut daemon = Daemon {
            dir,
            child: Some(child),
        };
        poll(
            "the daemon to report it is running",
            Duration::from_secs(60),
            || {
                if let Some(status) = daemon
                    .child
                    .as_mut()
                    .and_then(|c| c.try_wait().ok().flatten())
                {
                    panic!("the daemon exited early ({status}): {}", daemon.stderr());
                }
                daemon
                    .stderr()
                    .contains("vigil daemon running")
                    .then_some(())
            },
        );
        daemon
    }

    /// SIGKILL to the worker and the watcher: no chance to flush anything. Returns the
    /// directory for the next daemon.
    pub fn kill(mut self) -> tempfile::TempDir {
        self.kill_all();
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().expect("tempdir"));
        std::fs::write(dir.path().join("stderr"), "").expect("reset stderr");
        dir
    }

    pub fn log(&self, file: &str) -> String {
        std::fs::read_to_string(self.dir.path().join("log").join(file)).unwrap_or_default()
    }

    pub fn db(&self) -> PathBuf {
        self.dir.path().join("db")
    }

    /// The watcher's pid.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("daemon still running").id()
    }

    /// The pid of the watcher's current worker, once there is one.
    pub fn worker_pid(&self) -> Option<u32> {
        let watcher = self.child.as_ref()?.id();
        worker_of(watcher)
    }

    fn kill_all(&mut self) {
        if let Some(mut child) = self.child.take() {
            if let Some(worker) = worker_of(child.id()) {
                // SAFETY: signalling the worker of the daemon this test started.
                unsafe { libc::kill(worker as i32, libc::SIGKILL) };
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn pidfile(&self) -> PathBuf {
        self.dir.path().join("vigil.pid")
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stderr")).unwrap_or_default()
    }

    /// SIGTERM, then the exit status.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().expect("daemon still running");
        // SAFETY: signalling our own child.
        unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
        poll("the daemon to stop", Duration::from_secs(30), || {
            child.try_wait().ok().flatten()
        })
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // A failing test's daemon says what it went through: its log and its event counters.
        if std::thread::panicking() && self.child.is_some() {
            // Not `query_json`: a second panic here would abort the test run.
            let counters = vigil()
                .args(["query", "--database_path"])
                .arg(self.db())
                .arg("SELECT * FROM vigil_events")
                .output()
                .map(|out| format!("{}{}", text(&out.stdout), text(&out.stderr)))
                .unwrap_or_else(|e| format!("vigil query did not run: {e}"));
            eprintln!(
                "--- the daemon's stderr:\n{}\n--- vigil_events:\n{counters}",
                self.stderr()
            );
        }
        // An orderly stop: the worker removes its pinned kernel programs, which a killed worker
        // leaves recording for its successor.
        if let Some(mut child) = self.child.take() {
            // SAFETY: signalling our own child.
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(60);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            self.child = Some(child);
            self.kill_all();
        }
    }
}

/// The child process of `watcher` (a watcher has exactly one: its worker).
pub fn worker_of(watcher: u32) -> Option<u32> {
    let children =
        std::fs::read_to_string(format!("/proc/{watcher}/task/{watcher}/children")).ok()?;
    children.split_whitespace().next()?.parse().ok()
}

/// Runs `program args` in `cwd` to completion; returns its pid and output.
pub fn run_in(cwd: &Path, program: &str, args: &[&str]) -> (u32, Output) {
    let child = Command::new(program)
        .args(args)
        .current_dir(cwd)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{program} starts: {e}"));
    let pid = child.id();
    (pid, child.wait_with_output().expect("child finishes"))
}
