//! What the agent asks of the operating system, each fact behind one function, its code in the
//! file of the platforms it is true on: `linux.rs` (what only Linux has: `/proc`, glibc,
//! `RUSAGE_THREAD`), `unix.rs` (POSIX: file modes, signals, `gethostname`), and for the others a
//! clear error, or the reason a fact has no value there.

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
pub use linux::{limit_malloc_arenas, random_uuid, resident_bytes, thread_cpu_ms};

#[cfg(not(target_os = "linux"))]
mod not_linux;
#[cfg(not(target_os = "linux"))]
pub use not_linux::{limit_malloc_arenas, random_uuid, resident_bytes, thread_cpu_ms};

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub use unix::{StopSignals, create_log_dir, hangups, hostname, open_log_file};

#[cfg(not(unix))]
mod not_unix;
#[cfg(not(unix))]
pub use not_unix::{StopSignals, create_log_dir, hangups, hostname, open_log_file, request_stop};
