//! The daemon's pid file on Windows, held with a lock for the daemon's lifetime: a second daemon
//! finds it locked and refuses to start, naming the running one, and a stale file from a crashed
//! daemon is simply reused (Windows releases a dead process's locks).
//!
//! Windows' locks are mandatory: a locked byte cannot be read by anyone else. The lock is
//! therefore taken on one byte far past the file's end, which `LockFileEx` allows, and the pid
//! at the start stays readable for the second daemon's message.

use std::{
    fs::File,
    io::{Read as _, Seek as _, Write as _},
    path::{Path, PathBuf},
};

use anyhow::{Context as _, bail};
use windows_sys::Win32::{
    Foundation::ERROR_LOCK_VIOLATION,
    Storage::FileSystem::{LOCKFILE_EXCLUSIVE_LOCK, LOCKFILE_FAIL_IMMEDIATELY, LockFileEx},
    System::IO::{OVERLAPPED, OVERLAPPED_0, OVERLAPPED_0_0},
};

/// Where the locked byte is: 2^62, far past any pid file's end.
const LOCK_OFFSET_HIGH: u32 = 1 << 30;

pub struct PidFile {
    path: PathBuf,
    /// Closing the file (when this is dropped) releases the lock.
    _file: File,
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
        match lock(&file) {
            Ok(()) => {}
            Err(error) if error.raw_os_error() == Some(ERROR_LOCK_VIOLATION as i32) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                bail!(
                    "another vigil daemon (pid {}) holds --pidfile {}; stop it first (`sc stop \
                     vigil` for the service), or give this one its own --pidfile and \
                     --database_path",
                    holder.trim(),
                    path.display()
                );
            }
            Err(error) => {
                return Err(error).with_context(|| format!("locking --pidfile {}", path.display()));
            }
        }
        file.set_len(0)?;
        file.rewind()?;
        writeln!(file, "{}", std::process::id())?;
        file.flush()?;
        Ok(Self {
            path: path.to_owned(),
            _file: file,
        })
    }
}

/// Takes the exclusive lock on the far byte, without waiting.
fn lock(file: &File) -> std::io::Result<()> {
    let mut overlapped = OVERLAPPED {
        Anonymous: OVERLAPPED_0 {
            Anonymous: OVERLAPPED_0_0 {
                Offset: 0,
                OffsetHigh: LOCK_OFFSET_HIGH,
            },
        },
        ..Default::default()
    };
    // SAFETY: an open file's handle and an OVERLAPPED that lives for the (synchronous) call.
    let ok = unsafe {
        LockFileEx(
            crate::os::file_handle(file),
            LOCKFILE_EXCLUSIVE_LOCK | LOCKFILE_FAIL_IMMEDIATELY,
            0,
            1,
            0,
            &mut overlapped,
        )
    };
    if ok == 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

impl Drop for PidFile {
    fn drop(&mut self) {
        // std opens files shareable for deletion: the name goes now, the file when it is closed
        // right after, and the lock with it.
        let _ = std::fs::remove_file(&self.path);
    }
}
