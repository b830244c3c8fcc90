//! What the agent asks of the operating system, each fact behind one function, its code in the
//! file of the platforms it is true on: `linux.rs` (what only Linux has: `/proc`, glibc,
//! `RUSAGE_THREAD`), `unix.rs` (POSIX: file modes, signals, `gethostname`), `windows.rs`, and
//! for macOS the reason a Linux-only fact has no value there.

mod filetime;
mod uuid;

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
pub use linux::{
    random_uuid, release_free_heap, resident_bytes, thread_cpu_ms, tune_malloc,
    tune_malloc_for_events, tune_malloc_for_start,
};

#[cfg(not(any(target_os = "linux", windows)))]
mod not_linux;
#[cfg(not(any(target_os = "linux", windows)))]
pub use not_linux::{
    random_uuid, release_free_heap, resident_bytes, thread_cpu_ms, tune_malloc,
    tune_malloc_for_events, tune_malloc_for_start,
};

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub use unix::{StopSignals, create_log_dir, hangups, hostname, open_log_file};

#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub use windows::{
    StopSignals, cpu_of, create_log_dir, file_handle, hangups, hostname, open_log_file,
    random_uuid, release_free_heap, request_stop, resident_bytes, resident_bytes_of,
    stop_requested, thread_cpu_ms, tune_malloc, tune_malloc_for_events, tune_malloc_for_start,
};
