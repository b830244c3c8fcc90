//! A named thread that runs until asked to stop: the scheduler and the logger are both one.
//!
//! A panic in one is never silent. In the daemon, the panic hook logs it with the thread's name
//! and ends the worker, which the watchdog restarts: a part that panicked may have left shared
//! state half-changed, and a new worker starts every part afresh from what the database holds
//! (and takes the pinned kernel side over, losing no event). Elsewhere (tests, the shell), the
//! panic is logged when the thread is stopped.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    thread::JoinHandle,
};

/// Whether the thread has been asked to stop.
#[derive(Clone)]
pub struct StopFlag(Arc<AtomicBool>);

impl StopFlag {
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

pub struct Background {
    name: String,
    stop: StopFlag,
    thread: Option<JoinHandle<()>>,
}

/// Fault injection for the end-to-end tests, in debug builds only:
/// `VIGIL_FAULT_PANIC=<thread name>@<file>` makes that thread panic as it starts, once: the file
/// is created first, and the thread does not panic while it exists.
#[cfg(debug_assertions)]
fn injected_panic(name: &str) {
    let Ok(spec) = std::env::var("VIGIL_FAULT_PANIC") else {
        return;
    };
    let Some((thread, marker)) = spec.split_once('@') else {
        return;
    };
    if thread == name
        && std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(marker)
            .is_ok()
    {
        panic!("injected by VIGIL_FAULT_PANIC");
    }
}

impl Background {
    pub fn spawn(
        name: &str,
        body: impl FnOnce(StopFlag) + Send + 'static,
    ) -> std::io::Result<Self> {
        let stop = StopFlag(Arc::new(AtomicBool::new(false)));
        let flag = stop.clone();
        let thread_name = name.to_owned();
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                #[cfg(debug_assertions)]
                injected_panic(&thread_name);
                let _ = &thread_name;
                body(flag)
            })?;
        Ok(Self {
            name: name.to_owned(),
            stop,
            thread: Some(thread),
        })
    }

    /// Asks the thread to stop and interrupts the SQL it runs (once `interrupt` is known) until
    /// it has stopped: it may be starting a query at the moment it is asked.
    pub fn stop_interrupting(self, interrupt: &std::sync::OnceLock<rusqlite::InterruptHandle>) {
        let stopping = std::thread::spawn(move || self.stop());
        while !stopping.is_finished() {
            if let Some(handle) = interrupt.get() {
                handle.interrupt();
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let _ = stopping.join();
    }

    /// Asks the thread to stop and waits for it to finish what it is doing. Returns whether it
    /// ended without a panic (a panic is logged, naming the thread).
    pub fn stop(mut self) -> bool {
        self.stop.0.store(true, Ordering::Relaxed);
        let Some(thread) = self.thread.take() else {
            return true;
        };
        match thread.join() {
            Ok(()) => true,
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_default();
                tracing::error!(
                    thread = self.name,
                    "the background thread had panicked ({what}); what it did stopped with it"
                );
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panicked_thread_is_reported_when_stopped() {
        let quiet = Background::spawn("vigil-test-ok", |_| {}).expect("spawns");
        assert!(quiet.stop());
        let panicking =
            Background::spawn("vigil-test-panic", |_| panic!("on purpose")).expect("spawns");
        assert!(!panicking.stop(), "the panic is seen, not swallowed");
    }
}
