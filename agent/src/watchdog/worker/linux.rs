//! A worker's tie to its watcher on Linux: the kernel sends SIGTERM when the watcher exits
//! (`PR_SET_PDEATHSIG`), SIGUSR1 says it is blamed, and a thread checks the parent pid too.

use std::time::Duration;

use anyhow::{Context as _, bail};

use super::{ORPHAN_DEADLINE, PROCESS_NAME, WORKER_ENV, note_blame};

extern "C" fn on_blame(_signal: libc::c_int) {
    // Only an atomic store: this runs in signal context.
    note_blame();
}

/// Whether this worker's watcher has died (the worker then belongs to another parent).
pub fn watcher_gone(watcher: u32) -> bool {
    // SAFETY: getppid has no preconditions.
    unsafe { libc::getppid() as u32 != watcher }
}

/// Ties this process's life to the watcher's: the kernel sends SIGTERM when the watcher
/// exits, and a thread checks the parent too (in case the watcher died before this ran).
pub fn bind(watcher: u32) -> anyhow::Result<()> {
    name_this_process();
    // SAFETY: prctl with PR_SET_PDEATHSIG takes a signal number and no pointers.
    if unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) } != 0 {
        return Err(std::io::Error::last_os_error()).context("asking for the watcher's death");
    }
    // SAFETY: getppid has no preconditions.
    let parent = unsafe { libc::getppid() } as u32;
    if parent != watcher {
        bail!(
            "started as a worker of watcher pid {watcher}, but that watcher is gone (the parent \
             is pid {parent}); run `vigil daemon` without {WORKER_ENV} in the environment"
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
    std::thread::Builder::new()
        .name("vigil-watcher-check".into())
        .spawn(move || watch_parent(watcher))
        .context("starting the watcher check")?;
    Ok(())
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
