//! What only Linux gives the agent, elsewhere. These serve the daemon alone, and `vigil daemon`
//! refuses to start on platforms other than Linux (see `daemon::run`) until they are written.

/// glibc's arenas and mmap threshold are what this tunes; other platforms' allocators have neither.
pub fn tune_malloc() {}

/// See `tune_malloc`.
pub fn tune_malloc_for_start() {}

/// See `tune_malloc`.
pub fn tune_malloc_for_events() {}

/// No glibc heap to trim here.
pub fn release_free_heap() -> bool {
    false
}

/// A thread's CPU time is not read on this platform yet: zeros, as when Linux cannot read it.
pub fn thread_cpu_ms() -> (i64, i64) {
    (0, 0)
}

/// Resident memory is not read on this platform yet: 0, as when Linux cannot read it.
pub fn resident_bytes() -> i64 {
    0
}

/// Fails: there is no source of random UUIDs on this platform yet.
pub fn random_uuid() -> std::io::Result<String> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "a random UUID is not supported on this platform yet",
    ))
}
