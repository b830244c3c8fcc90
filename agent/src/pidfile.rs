//! The daemon's pid file, held with an exclusive lock for the daemon's lifetime: a second daemon
//! finds it locked and refuses to start, and a stale file from a crashed daemon is simply reused.

use std::{
    fs::File,
    io::{Read as _, Seek as _, Write as _},
    os::fd::AsRawFd,
    path::{Path, PathBuf},
};

use anyhow::{Context as _, bail};

pub struct PidFile {
    path: PathBuf,
    file: File,
}

impl PidFile {
    pub fn acquire(path: &Path) -> anyhow::Result<Self> {
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("creating the pidfile's directory {}", dir.display()))?;
        }
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .with_context(|| format!("opening --pidfile {}", path.display()))?;
        // SAFETY: a valid open fd for the duration of the call.
        let locked = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0;
        if !locked {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            bail!(
                "another vigil daemon (pid {}) holds --pidfile {}; stop it first, or give this one \
                 its own --pidfile and --database_path",
                holder.trim(),
                path.display()
            );
        }
        file.set_len(0)?;
        file.rewind()?;
        writeln!(file, "{}", std::process::id())?;
        file.flush()?;
        Ok(Self {
            path: path.to_owned(),
            file,
        })
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        // Only if the path still names this file: a directory removed and made again meanwhile
        // may hold another daemon's pid file there.
        use std::os::unix::fs::MetadataExt as _;
        let ours = self.file.metadata().map(|m| (m.dev(), m.ino())).ok();
        let there = std::fs::metadata(&self.path)
            .map(|m| (m.dev(), m.ino()))
            .ok();
        if ours.is_some() && ours == there {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}
