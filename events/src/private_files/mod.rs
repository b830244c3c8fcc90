//! Files only the agent's user may read: the database directory and the in-flight ledger (event
//! history holds command lines of every process on the host), and the ledger's shared mapping.
//! POSIX modes and `mmap` where there are; elsewhere each call fails, saying it is not supported
//! on this platform yet, rather than leaving the files open to everyone.

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub use unix::{SharedMap, create_dir, open_file};

#[cfg(not(unix))]
mod unsupported;
#[cfg(not(unix))]
pub use unsupported::{SharedMap, create_dir, open_file};
