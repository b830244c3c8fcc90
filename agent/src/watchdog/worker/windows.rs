//! A worker's tie to its watcher on Windows: its standard input is a pipe from the watcher,
//! which sends orders on it (`orders`); the pipe's end means the watcher is gone, as the death
//! signal does on Linux.

use std::{
    io::BufRead as _,
    os::windows::io::AsRawHandle as _,
    sync::atomic::{AtomicBool, Ordering},
};

use anyhow::{Context as _, bail};
use windows_sys::Win32::Storage::FileSystem::{FILE_TYPE_PIPE, GetFileType};

use super::{ORPHAN_DEADLINE, WORKER_ENV, note_blame};
use crate::watchdog::orders::Order;

static WATCHER_GONE: AtomicBool = AtomicBool::new(false);

/// Whether this worker's watcher has died (its pipe ended).
pub fn watcher_gone(_watcher: u32) -> bool {
    WATCHER_GONE.load(Ordering::SeqCst)
}

/// Reads the watcher's orders from standard input, which must be the watcher's pipe.
pub fn bind(watcher: u32) -> anyhow::Result<()> {
    let stdin = std::io::stdin();
    // SAFETY: the standard input's handle, owned by std for the process's life.
    if unsafe { GetFileType(stdin.as_raw_handle()) } != FILE_TYPE_PIPE {
        bail!(
            "started as a worker of watcher pid {watcher}, but not by a watcher (the standard \
             input is not the watcher's pipe); run `vigil daemon` without {WORKER_ENV} in the \
             environment"
        );
    }
    std::thread::Builder::new()
        .name("vigil-watcher-pipe".into())
        .spawn(follow_orders)
        .context("starting the watcher's pipe reader")?;
    Ok(())
}

fn follow_orders() {
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        match Order::parse(&line) {
            Some(Order::Stop) => crate::os::request_stop(),
            Some(Order::Blame) => note_blame(),
            None => tracing::warn!("the watcher sent `{line}`, which is no order; ignored"),
        }
    }
    // The stop path says why (see `watcher_gone`).
    WATCHER_GONE.store(true, Ordering::SeqCst);
    crate::os::request_stop();
    std::thread::sleep(ORPHAN_DEADLINE);
    eprintln!(
        "vigil: the worker did not stop within {ORPHAN_DEADLINE:?} of its watcher's death; exiting"
    );
    std::process::exit(1);
}
