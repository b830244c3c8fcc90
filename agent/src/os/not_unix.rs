//! What POSIX gives the agent, on platforms without it (Windows): the daemon's needs fail with a
//! clear error (it does not start there yet, see `daemon::run`); the host name comes from the
//! system's environment.

use std::{
    fs::File,
    path::Path,
    sync::atomic::{AtomicBool, Ordering},
    time::Duration,
};

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

/// Set by [`request_stop`]: Windows has no SIGTERM; its service manager's Stop and Shutdown
/// controls stand for it.
static STOP_REQUESTED: AtomicBool = AtomicBool::new(false);

/// Asks the daemon to stop, as SIGTERM does on Unix (the service's control handler calls it).
#[cfg_attr(not(windows), allow(dead_code))]
pub fn request_stop() {
    STOP_REQUESTED.store(true, Ordering::SeqCst);
}

/// The daemon's stop requests: the service manager's, through [`request_stop`].
pub struct StopSignals(());

impl StopSignals {
    pub fn new() -> std::io::Result<Self> {
        Ok(Self(()))
    }

    /// Waits for a stop request (checked every 200 ms: a service has 20 s to stop).
    pub async fn recv(&mut self) -> &'static str {
        while !STOP_REQUESTED.load(Ordering::SeqCst) {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        "service stop"
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
