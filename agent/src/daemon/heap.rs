//! The worker's heap after a burst of events: what glibc keeps freed in its arenas (RocksDB's
//! flushed memtables above all) is given back to the kernel now and then, not held until reused.

use std::time::{Duration, Instant};

/// How often free heap pages are given back: often enough that a burst's memory does not
/// linger, seldom enough that a storm's memtables are not faulted in again and again.
const EVERY: Duration = Duration::from_secs(10);

pub struct HeapRelease {
    next: Instant,
}

impl HeapRelease {
    pub fn new() -> Self {
        Self {
            next: Instant::now() + EVERY,
        }
    }

    /// Gives the free heap back if the last time was [`EVERY`] ago or more.
    pub fn when_due(&mut self) {
        let now = Instant::now();
        if now < self.next {
            return;
        }
        self.next = now + EVERY;
        crate::os::release_free_heap();
    }
}
