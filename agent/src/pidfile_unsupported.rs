//! The daemon's pid file on platforms without POSIX file locks: not there yet (Windows would
//! lock it with `LockFileEx`). Taking it fails and says so.

use std::path::Path;

pub struct PidFile;

impl PidFile {
    /// Fails: a locked pid file is not supported on this platform yet.
    pub fn acquire(path: &Path) -> anyhow::Result<Self> {
        anyhow::bail!(
            "--pidfile {}: a pid file held with a lock is not supported on this platform yet",
            path.display()
        )
    }
}
