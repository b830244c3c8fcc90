//! A named thread that runs until asked to stop: the scheduler and the logger are both one.

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
    stop: StopFlag,
    thread: Option<JoinHandle<()>>,
}

impl Background {
    pub fn spawn(
        name: &str,
        body: impl FnOnce(StopFlag) + Send + 'static,
    ) -> std::io::Result<Self> {
        let stop = StopFlag(Arc::new(AtomicBool::new(false)));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || body(flag))?;
        Ok(Self {
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

    /// Asks the thread to stop and waits for it to finish what it is doing.
    pub fn stop(mut self) {
        self.stop.0.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
