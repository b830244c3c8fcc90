//! What the host's audit settings were before vigil changed them, kept in a file until vigil
//! puts them back: a vigil killed before it could (`kill -9`, a crash) leaves what it found to
//! the next one, which puts that back at its own stop. The file lives under `/run`, which is as
//! old as the kernel's audit state (both start empty at boot).

use std::{
    io,
    os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _},
    path::Path,
};

/// Where it is kept.
pub const PATH: &str = "/run/vigil/audit-found";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The vigil process that keeps it.
    pub keeper: u32,
    pub enabled: u32,
    pub failure: u32,
    pub backlog_limit: u32,
    pub backlog_wait_time: u32,
}

impl Found {
    fn encode(&self) -> String {
        format!(
            "keeper={} enabled={} failure={} backlog_limit={} backlog_wait_time={}\n",
            self.keeper, self.enabled, self.failure, self.backlog_limit, self.backlog_wait_time
        )
    }

    fn decode(text: &str) -> Option<Self> {
        let value = |key: &str| {
            text.split_whitespace()
                .find_map(|pair| pair.strip_prefix(key)?.strip_prefix('='))?
                .parse()
                .ok()
        };
        Some(Self {
            keeper: value("keeper")?,
            enabled: value("enabled")?,
            failure: value("failure")?,
            backlog_limit: value("backlog_limit")?,
            backlog_wait_time: value("backlog_wait_time")?,
        })
    }
}

/// What a vigil kept, if a file is there and reads.
pub fn read(path: &Path) -> Option<Found> {
    Found::decode(&std::fs::read_to_string(path).ok()?)
}

/// Keeps `found` (owner-only, written whole then renamed into place).
pub fn write(path: &Path, found: &Found) -> io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    let temporary = path.with_extension("new");
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&temporary)?;
    io::Write::write_all(&mut file, found.encode().as_bytes())?;
    file.sync_all()?;
    std::fs::rename(&temporary, path)
}

pub fn remove(path: &Path) {
    if let Err(error) = std::fs::remove_file(path)
        && error.kind() != io::ErrorKind::NotFound
    {
        tracing::warn!(%error, path = %path.display(), "could not remove the audit settings vigil kept");
    }
}

/// Whether `pid` is a running vigil.
pub fn is_running_vigil(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|comm| comm.trim() == "vigil")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_its_file_and_garbage_reads_as_nothing() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("run/vigil/audit-found");
        let found = Found {
            keeper: 7,
            enabled: 0,
            failure: 1,
            backlog_limit: 64,
            backlog_wait_time: 15_000,
        };
        write(&path, &found).expect("write");
        assert_eq!(read(&path), Some(found));
        std::fs::write(&path, "keeper=x").expect("garbage");
        assert_eq!(read(&path), None);
        remove(&path);
        remove(&path);
        assert_eq!(read(&path), None);
    }
}
