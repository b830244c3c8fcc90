//! The worker's side of the watchdog: it knows it is a worker from its environment, stops when
//! its watcher dies, and remembers when the watcher has blamed it for exceeding a limit.

use std::{
    sync::atomic::{AtomicBool, Ordering},
    time::Duration,
};

use anyhow::{Context as _, bail};

/// The worker's name in `ps`, `top` and `pgrep`: its argv[0] and its `comm`.
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

extern "C" fn on_blame(_signal: libc::c_int) {
    // Only an atomic store: this runs in signal context.
    BLAMED.store(true, Ordering::SeqCst);
}

/// Whether this worker's watcher has died (the worker then belongs to another parent).
pub fn watcher_gone(watcher: u32) -> bool {
    // SAFETY: getppid has no preconditions.
    unsafe { libc::getppid() as u32 != watcher }
}

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

    /// Ties this process's life to the watcher's: the kernel sends SIGTERM when the watcher
    /// exits, and a thread checks the parent too (in case the watcher died before this ran).
    pub fn bind_to_watcher(&self) -> anyhow::Result<()> {
        name_this_process();
        // SAFETY: prctl with PR_SET_PDEATHSIG takes a signal number and no pointers.
        if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) } != 0 {
            return Err(std::io::Error::last_os_error()).context("asking for the watcher's death");
        }
        // SAFETY: getppid has no preconditions.
        let parent = unsafe { libc::getppid() } as u32;
        if parent != self.watcher {
            bail!(
                "started as a worker of watcher pid {}, but that watcher is gone (the parent is \
                 pid {parent}); run `vigil daemon` without {WORKER_ENV} in the environment",
                self.watcher
            );
        }
        // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
        let previous = unsafe {
            libc::signal(
                libc::SIGUSR1,
                on_blame as extern "C" fn(libc::c_int) as libc::sighandler_t,
            )
        };
        if previous == libc::SIG_ERR {
            return Err(std::io::Error::last_os_error()).context("handling SIGUSR1");
        }
        let watcher = self.watcher;
        std::thread::Builder::new()
            .name("vigil-watcher-check".into())
            .spawn(move || watch_parent(watcher))
            .context("starting the watcher check")?;
        Ok(())
    }
}

/// The kernel names an exec'd process after the file it ran, `/proc/self/exe`'s `exe`; `ps -C`,
/// `pgrep` and `top` read that name (`comm`), not argv[0].
fn name_this_process() {
    let name = c"vigil";
    // SAFETY: PR_SET_NAME reads a NUL-terminated string of at most 16 bytes from the pointer.
    if unsafe { libc::prctl(libc::PR_SET_NAME, name.as_ptr()) } != 0 {
        tracing::warn!(
            error = %std::io::Error::last_os_error(),
            "the worker could not name itself `{PROCESS_NAME}`; it shows as `exe`"
        );
    }
}

fn watch_parent(watcher: u32) {
    loop {
        std::thread::sleep(Duration::from_secs(1));
        // SAFETY: getppid has no preconditions.
        if watcher_gone(watcher) {
            break;
        }
    }
    // The stop path says why (see `watcher_gone`).
    // SAFETY: signalling this very process; the daemon's SIGTERM path stops it cleanly.
    unsafe { libc::kill(libc::getpid(), libc::SIGTERM) };
    std::thread::sleep(ORPHAN_DEADLINE);
    eprintln!(
        "vigil: the worker did not stop within {ORPHAN_DEADLINE:?} of its watcher's death; exiting"
    );
    std::process::exit(1);
}
