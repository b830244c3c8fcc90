//! The worker's side of the watchdog: it knows it is a worker from its environment, stops when
//! its watcher dies, and remembers when the watcher has blamed it for exceeding a limit.

use std::{
    sync::atomic::{AtomicBool, Ordering},
    time::Duration,
};

use anyhow::Context as _;

/// The worker's name in `ps`, `top` and `pgrep`: its argv[0] and its `comm`.
#[cfg(target_os = "linux")]
pub const PROCESS_NAME: &str = "vigil";

/// Set by the watcher in the worker's environment: the watcher's pid.
pub const WORKER_ENV: &str = "VIGIL_WORKER";
/// Set by the watcher when it restarts a worker: why the previous one ended.
pub const PREVIOUS_END_ENV: &str = "VIGIL_WORKER_PREVIOUS_END";

/// How long a worker whose watcher died may take to stop before it exits regardless (the
/// kernel's detaching of probes is serialised across processes and may be slow under load).
const ORPHAN_DEADLINE: Duration = Duration::from_secs(60);

static BLAMED: AtomicBool = AtomicBool::new(false);

/// Whether the watcher said (SIGUSR1) that this worker is being stopped for exceeding a limit:
/// the query running now is then the one to blame, and stays recorded as such.
pub fn blamed() -> bool {
    BLAMED.load(Ordering::SeqCst)
}

/// Notes that the watcher blamed this worker.
fn note_blame() {
    BLAMED.store(true, Ordering::SeqCst);
}

// How a worker learns of its watcher: signals and its parent pid on Linux, a pipe on Windows.
#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
use linux as platform;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as platform;

pub use platform::watcher_gone;

/// This process as a worker started by a watcher.
#[derive(Debug, Clone)]
pub struct Worker {
    pub watcher: u32,
    /// Why the previous worker ended, when this one replaces it.
    pub previous_end: Option<String>,
}

impl Worker {
    /// `Some` when this process was started as a worker.
    pub fn from_env() -> anyhow::Result<Option<Self>> {
        let Some(value) = std::env::var_os(WORKER_ENV) else {
            return Ok(None);
        };
        let watcher = value
            .to_str()
            .and_then(|v| v.parse::<u32>().ok())
            .with_context(|| format!("{WORKER_ENV}={value:?} is not a watcher pid"))?;
        let previous_end = std::env::var(PREVIOUS_END_ENV)
            .ok()
            .filter(|s| !s.is_empty());
        Ok(Some(Self {
            watcher,
            previous_end,
        }))
    }

    /// Ties this process's life to the watcher's (see the platform's `bind`).
    pub fn bind_to_watcher(&self) -> anyhow::Result<()> {
        platform::bind(self.watcher)
    }
}
