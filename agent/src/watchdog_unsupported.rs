//! The watchdog on platforms other than Linux: not there yet. Its watcher reads its worker in
//! `/proc` and binds the worker's life to its own with `prctl`; `vigil daemon` here says so and
//! names `--disable_watchdog`. A process is never a worker here, so nothing is ever blamed.

use std::process::ExitCode;

use crate::cli::DaemonArgs;

/// Fails: the watchdog is not supported on this platform yet.
pub fn watch(_args: &DaemonArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!(
        "the watchdog (a watcher process that measures and restarts its worker) is not \
         supported on this platform yet: run `vigil daemon --disable_watchdog`"
    )
}

pub mod worker {
    //! A worker of a watcher, which cannot exist here.

    /// Set by a watcher in its worker's environment (on Linux).
    pub const WORKER_ENV: &str = "VIGIL_WORKER";

    /// Never made here: no watcher starts workers on this platform.
    #[derive(Debug, Clone)]
    pub struct Worker {
        pub watcher: u32,
        pub previous_end: Option<String>,
        never: std::convert::Infallible,
    }

    impl Worker {
        /// `None`; an error when the environment says this process is a worker, which no
        /// watcher of this platform started.
        pub fn from_env() -> anyhow::Result<Option<Self>> {
            if std::env::var_os(WORKER_ENV).is_some() {
                anyhow::bail!(
                    "{WORKER_ENV} is set, but there is no watchdog on this platform yet to have \
                     started this process as its worker; run `vigil daemon` without it"
                );
            }
            Ok(None)
        }

        pub fn bind_to_watcher(&self) -> anyhow::Result<()> {
            match self.never {}
        }
    }

    /// No watcher here blames a worker.
    pub fn blamed() -> bool {
        false
    }

    /// Whether the watcher of a worker is gone; there are no workers here.
    pub fn watcher_gone(_watcher: u32) -> bool {
        false
    }
}
