//! The worker is this executable run again. Before each start the watcher checks that nobody but
//! root or its own user could have changed that file (osquery's safe-permissions rule): a root
//! daemon that re-executes a file others can write would run their code.

use std::{
    os::unix::fs::{MetadataExt as _, PermissionsExt as _},
    path::{Path, PathBuf},
};

/// The file this process runs from; through `/proc/self/exe` it stays the same file even if the
/// path is later replaced (an upgrade takes effect at the next daemon start, not mid-flight).
pub const SELF_EXE: &str = "/proc/self/exe";

/// Why `path` is not safe to execute as the worker, or `None` when it is.
pub fn unsafe_reason(path: &Path, real_path: &Path, euid: u32) -> Option<String> {
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(error) => return Some(format!("cannot read its metadata: {error}")),
    };
    if meta.is_dir() {
        return Some("it is a directory".into());
    }
    if meta.uid() != 0 && meta.uid() != euid {
        return Some(format!(
            "it is owned by uid {}, neither root nor this user ({euid})",
            meta.uid()
        ));
    }
    let mode = meta.permissions().mode();
    if mode & 0o111 == 0 {
        return Some("it is not executable".into());
    }
    if mode & 0o002 != 0 {
        return Some(format!(
            "other users can write it (mode {:o})",
            mode & 0o7777
        ));
    }
    let dir = real_path.parent().unwrap_or(Path::new("/"));
    match std::fs::metadata(dir) {
        Ok(dir_meta) if dir_meta.permissions().mode() & 0o1000 != 0 => Some(format!(
            "its directory {} is a sticky, shared directory such as /tmp",
            dir.display()
        )),
        Ok(dir_meta) if dir_meta.permissions().mode() & 0o002 != 0 => Some(format!(
            "its directory {} is writable by other users",
            dir.display()
        )),
        Ok(_) => None,
        Err(error) => Some(format!(
            "cannot read its directory {}: {error}",
            dir.display()
        )),
    }
}

/// This executable's path as the file system names it (for messages and the directory check).
pub fn real_path() -> PathBuf {
    std::fs::read_link(SELF_EXE).unwrap_or_else(|_| PathBuf::from(SELF_EXE))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::Permissions;

    fn file_with_mode(dir: &Path, mode: u32) -> PathBuf {
        let path = dir.join(format!("vigil-{mode:o}"));
        std::fs::write(&path, b"#").expect("write");
        std::fs::set_permissions(&path, Permissions::from_mode(mode)).expect("chmod");
        path
    }

    #[test]
    fn only_an_executable_file_others_cannot_change_is_safe() {
        // SAFETY: geteuid has no preconditions.
        let euid = unsafe { libc::geteuid() };
        let dir = tempfile::tempdir().expect("dir");
        let good = file_with_mode(dir.path(), 0o755);
        assert_eq!(unsafe_reason(&good, &good, euid), None);
        let writable = file_with_mode(dir.path(), 0o757);
        let reason = unsafe_reason(&writable, &writable, euid).unwrap_or_default();
        assert!(reason.contains("other users can write it"), "{reason}");
        let plain = file_with_mode(dir.path(), 0o644);
        assert_eq!(
            unsafe_reason(&plain, &plain, euid).as_deref(),
            Some("it is not executable")
        );
        let other_user = unsafe_reason(&good, &good, euid.wrapping_add(1));
        if euid != 0 {
            assert!(other_user.is_some_and(|r| r.contains("owned by uid")));
        }
        assert_eq!(
            unsafe_reason(dir.path(), dir.path(), euid).as_deref(),
            Some("it is a directory")
        );
        std::fs::set_permissions(dir.path(), Permissions::from_mode(0o1777)).expect("chmod dir");
        let sticky = unsafe_reason(&good, &good, euid).unwrap_or_default();
        assert!(sticky.contains("sticky"), "{sticky}");
    }

    #[test]
    fn this_test_binary_is_found_through_proc() {
        let path = real_path();
        assert!(path.is_absolute(), "{}", path.display());
        assert!(path.exists(), "{}", path.display());
    }
}
