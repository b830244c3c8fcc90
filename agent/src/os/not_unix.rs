//! What POSIX gives the agent, on platforms without it (Windows): the daemon's needs fail with a
//! clear error (it does not start there yet, see `daemon::run`); the host name comes from the
//! system's environment.

use std::{fs::File, path::Path};

fn unsupported(what: &str) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        format!("{what} is not supported on this platform yet"),
    )
}

/// The computer's name as Windows sets it for every process (`COMPUTERNAME`); empty without it.
pub fn hostname() -> String {
    std::env::var("COMPUTERNAME").unwrap_or_default()
}

/// Fails: a log directory with POSIX permissions is not supported on this platform yet.
pub fn create_log_dir(_path: &Path) -> std::io::Result<()> {
    Err(unsupported("a log directory with permissions 0750"))
}

/// Fails: a log file with POSIX permissions (`--logger_mode`) is not supported here yet.
pub fn open_log_file(_path: &Path, _mode: u32) -> std::io::Result<File> {
    Err(unsupported("a log file with --logger_mode permissions"))
}

/// Never made: stop signals are not supported on this platform yet.
pub enum StopSignals {}

impl StopSignals {
    /// Fails: stop signals are not supported on this platform yet.
    pub fn new() -> std::io::Result<Self> {
        Err(unsupported("waiting for stop signals"))
    }

    pub async fn recv(&mut self) -> &'static str {
        match *self {}
    }
}

/// Never made: hangups are not supported on this platform yet.
pub enum Hangups {}

impl Hangups {
    pub async fn recv(&mut self) -> Option<()> {
        match *self {}
    }
}

/// Fails: SIGHUP does not exist on this platform.
pub fn hangups() -> std::io::Result<Hangups> {
    Err(unsupported("reloading the config on SIGHUP"))
}
