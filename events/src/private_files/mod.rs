//! Files only the agent's user may read: the database directory and the in-flight ledger (event
//! history holds command lines of every process on the host), and the ledger's shared mapping.
//! POSIX modes and `mmap` on Unix, a protected access list and a file mapping on Windows;
//! elsewhere each call fails, saying it is not supported on this platform yet, rather than
//! leaving the files open to everyone.

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub use unix::{SharedMap, create_dir, open_file};

#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub use windows::{SharedMap, create_dir, open_file};

#[cfg(not(any(unix, windows)))]
mod unsupported;
#[cfg(not(any(unix, windows)))]
pub use unsupported::{SharedMap, create_dir, open_file};
