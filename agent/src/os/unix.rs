//! POSIX: the host name, file modes, and the signals that stop the daemon or reload its config.

use std::{
    fs::{File, OpenOptions, Permissions},
    os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _},
    path::Path,
};

use tokio::signal::unix::{Signal, SignalKind, signal};

/// The host's name; empty if it cannot be read.
pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most `buf.len()` bytes into `buf`.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    if rc == 0 {
        String::from_utf8_lossy(&buf[..end]).into_owned()
    } else {
        String::new()
    }
}

/// Creates `--logger_path` (and its parents) with mode 0750.
pub fn create_log_dir(path: &Path) -> std::io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o750)
        .create(path)
}

/// Opens a log file for appending, creating it with `mode` (`--logger_mode`); one that existed
/// with another mode gets `mode` too. Never through a symbolic link: whoever could plant one in
/// the log directory would have the daemon append to (and chmod) a file of their choosing.
pub fn open_log_file(path: &Path, mode: u32) -> std::io::Result<File> {
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .mode(mode)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)?;
    // The umask may have taken bits from a new file's mode; an old file keeps whatever it had.
    if file.metadata()?.permissions().mode() & 0o7777 != mode {
        file.set_permissions(Permissions::from_mode(mode))?;
    }
    Ok(file)
}

/// SIGTERM and SIGINT, handled from now on (inside a tokio runtime).
pub struct StopSignals {
    term: Signal,
    int: Signal,
}

impl StopSignals {
    pub fn new() -> std::io::Result<Self> {
        Ok(Self {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    /// Waits for the next one; its name.
    pub async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.term.recv() => "SIGTERM",
            _ = self.int.recv() => "SIGINT",
        }
    }
}

/// SIGHUP, handled from now on (inside a tokio runtime): `recv` waits for the next one.
pub fn hangups() -> std::io::Result<Signal> {
    signal(SignalKind::hangup())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode_of(path: &Path) -> u32 {
        std::fs::metadata(path)
            .expect("metadata")
            .permissions()
            .mode()
            & 0o7777
    }

    #[test]
    fn a_log_file_gets_its_mode_also_when_it_existed_before() {
        let dir = tempfile::tempdir().expect("dir");
        let new = dir.path().join("new.log");
        drop(open_log_file(&new, 0o640).expect("opens"));
        assert_eq!(mode_of(&new), 0o640);

        let old = dir.path().join("old.log");
        std::fs::write(&old, "kept\n").expect("old");
        std::fs::set_permissions(&old, Permissions::from_mode(0o666)).expect("chmod");
        drop(open_log_file(&old, 0o640).expect("opens"));
        assert_eq!(
            mode_of(&old),
            0o640,
            "an old log file others could read is tightened"
        );
        assert_eq!(std::fs::read_to_string(&old).expect("read"), "kept\n");
    }

    #[test]
    fn a_log_file_is_never_opened_through_a_symbolic_link() {
        let dir = tempfile::tempdir().expect("dir");
        let elsewhere = dir.path().join("elsewhere");
        std::fs::write(&elsewhere, "").expect("target");
        std::fs::set_permissions(&elsewhere, Permissions::from_mode(0o600)).expect("chmod");
        let link = dir.path().join("vigil.results.log");
        std::os::unix::fs::symlink(&elsewhere, &link).expect("symlink");
        let error = open_log_file(&link, 0o640).expect_err("a link is refused");
        assert_eq!(error.raw_os_error(), Some(libc::ELOOP), "{error}");
        assert_eq!(mode_of(&elsewhere), 0o600, "the link's target is untouched");
    }
}
