//! POSIX: the host name, file modes, and the signals that stop the daemon or reload its config.

use std::{
    fs::{File, OpenOptions},
    os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _},
    path::Path,
};

use tokio::signal::unix::{Signal, SignalKind, signal};

/// The host's name; empty if it cannot be read.
pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most `buf.len()` bytes into `buf`.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    if rc == 0 {
        String::from_utf8_lossy(&buf[..end]).into_owned()
    } else {
        String::new()
    }
}

/// Creates `--logger_path` (and its parents) with mode 0750.
pub fn create_log_dir(path: &Path) -> std::io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o750)
        .create(path)
}

/// Opens a log file for appending, creating it with `mode` (`--logger_mode`).
pub fn open_log_file(path: &Path, mode: u32) -> std::io::Result<File> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(mode)
        .open(path)
}

/// SIGTERM and SIGINT, handled from now on (inside a tokio runtime).
pub struct StopSignals {
    term: Signal,
    int: Signal,
}

impl StopSignals {
    pub fn new() -> std::io::Result<Self> {
        Ok(Self {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    /// Waits for the next one; its name.
    pub async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.term.recv() => "SIGTERM",
            _ = self.int.recv() => "SIGINT",
        }
    }
}

/// SIGHUP, handled from now on (inside a tokio runtime): `recv` waits for the next one.
pub fn hangups() -> std::io::Result<Signal> {
    signal(SignalKind::hangup())
}
