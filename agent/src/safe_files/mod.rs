//! Who can change the files vigil trusts. A root daemon that reads a config, flags, a secret or
//! certificates others can change, or re-executes a file others can write (the worker), does
//! what they say: before starting, each must be changeable only by root or vigil's own user
//! (osquery's safe-permissions rule, stricter). Others can change a file through its owner, its
//! mode (group or world write), a POSIX ACL (`system.posix_acl_access`) that lets another user or
//! a group write, or any directory on its path that another user owns or can write.
//! [`at_start`] lists the files of a daemon's command line; [`acl`] reads ACLs.

mod acl;
pub mod at_start;

use std::{
    fs::Metadata,
    os::unix::fs::{MetadataExt as _, PermissionsExt as _},
    path::{Path, PathBuf},
};

use self::acl::{access_acl, acl_writers};

/// What is wrong with a path, and the command that mends it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// What others can do, naming the file or directory at fault.
    pub reason: String,
    /// How to take that away.
    pub fix: String,
}

impl Problem {
    fn new(reason: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            fix: fix.into(),
        }
    }
}

/// What a checked path must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The worker's executable: a file with an execute bit.
    Executable,
    /// A file vigil reads (config, flagfile, secret, certificate or key).
    File,
    /// A directory vigil keeps its data in (the database).
    Directory,
}

/// Why `path` (named `real_path` in the file system, whose directories are checked too) is not
/// safe for vigil to trust as `kind`, or `None` when it is.
pub fn problem(path: &Path, real_path: &Path, kind: Kind, euid: u32) -> Option<Problem> {
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(error) => {
            return Some(Problem::new(
                format!("cannot read its metadata: {error}"),
                "make it readable by this user",
            ));
        }
    };
    let shown = real_path.display();
    match (kind, meta.is_dir()) {
        (Kind::Directory, false) => {
            return Some(Problem::new(
                "it is not a directory",
                format!("remove {shown} or name a directory"),
            ));
        }
        (Kind::File | Kind::Executable, true) => {
            return Some(Problem::new(
                "it is a directory",
                format!("name a file, not the directory {shown}"),
            ));
        }
        _ => {}
    }
    if let Some(reason) = foreign_owner(&meta, euid) {
        return Some(Problem::new(
            format!("it is {reason}"),
            format!("chown root {shown}"),
        ));
    }
    if kind == Kind::Executable && meta.permissions().mode() & 0o111 == 0 {
        return Some(Problem::new(
            "it is not executable",
            format!("chmod 0755 {shown}"),
        ));
    }
    if let Some(problem) = writable_by_others(real_path, &meta) {
        return Some(problem);
    }
    let mut parents = real_path.ancestors().skip(1);
    // A file vigil trusts may not sit in a sticky, shared directory; a directory of its own
    // may (the sticky bit keeps others from replacing it there).
    if kind != Kind::Directory
        && let Some(dir) = parents.next()
        && let Some(problem) = unsafe_directory(dir, euid, true)
    {
        return Some(problem);
    }
    parents.find_map(|dir| unsafe_directory(dir, euid, false))
}

/// Why a file owned as `meta` says is not root's or this user's.
fn foreign_owner(meta: &Metadata, euid: u32) -> Option<String> {
    (meta.uid() != 0 && meta.uid() != euid).then(|| {
        format!(
            "owned by uid {}, neither root nor this user ({euid})",
            meta.uid()
        )
    })
}

/// Why users other than its owner (and root) can write `path`: its ACL or its mode.
fn writable_by_others(path: &Path, meta: &Metadata) -> Option<Problem> {
    let mode = meta.permissions().mode() & 0o7777;
    let shown = path.display();
    let acl_fix = || format!("setfacl -b {shown}");
    match access_acl(path) {
        Ok(Some(acl)) => match acl_writers(&acl, meta.uid()) {
            Ok(writers) if !writers.is_empty() => {
                return Some(Problem::new(
                    format!(
                        "its ACL (system.posix_acl_access) lets {} write it",
                        writers.join(", ")
                    ),
                    acl_fix(),
                ));
            }
            Ok(_) => {}
            Err(problem) => {
                return Some(Problem::new(
                    format!("its ACL cannot be read: {problem}"),
                    acl_fix(),
                ));
            }
        },
        Ok(None) => {}
        Err(error) => {
            return Some(Problem::new(
                format!("its ACL cannot be read: {error}"),
                acl_fix(),
            ));
        }
    }
    let chmod = || format!("chmod go-w {shown}");
    if mode & 0o002 != 0 {
        return Some(Problem::new(
            format!("other users can write it (mode {mode:o})"),
            chmod(),
        ));
    }
    if mode & 0o020 != 0 {
        return Some(Problem::new(
            format!(
                "its group (gid {}) can write it (mode {mode:o})",
                meta.gid()
            ),
            chmod(),
        ));
    }
    None
}

/// Why the directory `dir` on a trusted path lets others replace what is in it. A sticky
/// directory (such as /tmp) protects entries others own, so above the file's own directory it
/// may be writable; the file's own directory may not be sticky at all.
fn unsafe_directory(dir: &Path, euid: u32, is_parent: bool) -> Option<Problem> {
    let shown = dir.display();
    let meta = match std::fs::metadata(dir) {
        Ok(meta) => meta,
        Err(error) => {
            return Some(Problem::new(
                format!("cannot read its directory {shown}: {error}"),
                format!("make {shown} readable by this user"),
            ));
        }
    };
    if let Some(reason) = foreign_owner(&meta, euid) {
        return Some(Problem::new(
            format!("its directory {shown} is {reason}"),
            format!("chown root {shown}"),
        ));
    }
    let sticky = meta.permissions().mode() & 0o1000 != 0;
    if sticky && is_parent {
        return Some(Problem::new(
            format!("its directory {shown} is a sticky, shared directory such as /tmp"),
            "move it into a directory only root can change, such as /etc/vigil or /var/lib",
        ));
    }
    if sticky {
        return None;
    }
    writable_by_others(dir, &meta).map(|problem| Problem {
        reason: format!("its directory {shown} is unsafe: {}", problem.reason),
        fix: problem.fix,
    })
}

/// `path` made absolute against the working directory, and its name with every symbolic link
/// resolved (the same when that fails: the check then reports what it cannot read).
pub fn absolute_and_real(path: &Path) -> (PathBuf, PathBuf) {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
    let real = std::fs::canonicalize(&absolute).unwrap_or_else(|_| absolute.clone());
    (absolute, real)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::{ffi::CString, fs::Permissions, os::unix::ffi::OsStrExt as _};

    /// What the worker's check says of `path` as its executable.
    fn unsafe_reason(path: &Path, real_path: &Path, euid: u32) -> Option<String> {
        problem(path, real_path, Kind::Executable, euid).map(|p| p.reason)
    }

    fn euid() -> u32 {
        // SAFETY: geteuid has no preconditions.
        unsafe { libc::geteuid() }
    }

    fn file_with_mode(dir: &Path, mode: u32) -> PathBuf {
        let path = dir.join(format!("vigil-{mode:o}"));
        std::fs::write(&path, b"#").expect("write");
        std::fs::set_permissions(&path, Permissions::from_mode(mode)).expect("chmod");
        path
    }

    /// A safe directory to build cases in: a fresh one only its owner can change, under the
    /// sticky temporary directory (sticky above the executable's own directory is allowed).
    fn safe_dir() -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::set_permissions(dir.path(), Permissions::from_mode(0o755)).expect("chmod");
        dir
    }

    /// An ACL in the kernel's encoding: (tag, permissions, id) entries.
    fn acl(entries: &[(u16, u16, u32)]) -> Vec<u8> {
        let mut bytes = 2u32.to_le_bytes().to_vec();
        for (tag, perm, id) in entries {
            bytes.extend_from_slice(&tag.to_le_bytes());
            bytes.extend_from_slice(&perm.to_le_bytes());
            bytes.extend_from_slice(&id.to_le_bytes());
        }
        bytes
    }

    fn set_acl(path: &Path, value: &[u8]) {
        let c_path = CString::new(path.as_os_str().as_bytes()).expect("path");
        // SAFETY: NUL-terminated path and name, and a value valid for its length.
        let rc = unsafe {
            libc::setxattr(
                c_path.as_ptr(),
                c"system.posix_acl_access".as_ptr(),
                value.as_ptr().cast(),
                value.len(),
                0,
            )
        };
        assert_eq!(rc, 0, "setxattr: {}", std::io::Error::last_os_error());
    }

    const USER_OBJ: u16 = 0x01;
    const USER: u16 = 0x02;
    const GROUP_OBJ: u16 = 0x04;
    const GROUP: u16 = 0x08;
    const MASK: u16 = 0x10;
    const OTHER: u16 = 0x20;

    #[test]
    fn only_an_executable_file_others_cannot_change_is_safe() {
        let euid = euid();
        let dir = safe_dir();
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
    fn a_group_writable_executable_is_refused() {
        let dir = safe_dir();
        let group = file_with_mode(dir.path(), 0o775);
        let reason = unsafe_reason(&group, &group, euid()).unwrap_or_default();
        assert!(reason.contains("its group (gid "), "{reason}");
        assert!(reason.contains("can write it (mode 775)"), "{reason}");
    }

    #[test]
    fn an_acl_that_lets_another_user_or_a_group_write_is_refused() {
        let dir = safe_dir();
        let euid = euid();
        let user = file_with_mode(dir.path(), 0o755);
        set_acl(
            &user,
            &acl(&[
                (USER_OBJ, 7, u32::MAX),
                (USER, 6, 65534),
                (GROUP_OBJ, 5, u32::MAX),
                (MASK, 7, u32::MAX),
                (OTHER, 5, u32::MAX),
            ]),
        );
        let reason = unsafe_reason(&user, &user, euid).unwrap_or_default();
        assert!(
            reason.contains("its ACL (system.posix_acl_access) lets uid 65534 write it"),
            "{reason}"
        );

        let group = dir.path().join("group");
        std::fs::copy(&user, &group).expect("copy");
        std::fs::set_permissions(&group, Permissions::from_mode(0o755)).expect("chmod");
        set_acl(
            &group,
            &acl(&[
                (USER_OBJ, 7, u32::MAX),
                (GROUP_OBJ, 5, u32::MAX),
                (GROUP, 2, 100),
                (MASK, 7, u32::MAX),
                (OTHER, 5, u32::MAX),
            ]),
        );
        let reason = unsafe_reason(&group, &group, euid).unwrap_or_default();
        assert!(reason.contains("lets gid 100 write it"), "{reason}");
    }

    #[test]
    fn acl_entries_count_for_writing_only_through_the_mask_and_for_others_than_root() {
        let owner = 1000;
        let writers = |entries: &[(u16, u16, u32)]| acl_writers(&acl(entries), owner);
        assert_eq!(
            writers(&[
                (USER_OBJ, 7, 0),
                (USER, 7, 0),
                (USER, 7, owner),
                (OTHER, 5, 0)
            ]),
            Ok(Vec::new()),
            "root and the owner may write"
        );
        assert_eq!(
            writers(&[(USER, 7, 42), (GROUP, 7, 7), (MASK, 5, 0)]),
            Ok(Vec::new()),
            "a mask without write takes it from every named entry"
        );
        assert_eq!(
            writers(&[(USER, 6, 42), (GROUP_OBJ, 6, 0), (MASK, 6, 0)]),
            Ok(vec!["uid 42".to_owned(), "the owning group".to_owned()])
        );
        assert!(acl_writers(&[2, 0], owner).is_err(), "short");
        assert!(acl_writers(&[1, 0, 0, 0], owner).is_err(), "version 1");
        assert!(
            acl_writers(&[2, 0, 0, 0, 1, 0], owner).is_err(),
            "half an entry"
        );
    }

    #[test]
    fn every_directory_up_to_the_root_must_be_safe_too() {
        let euid = euid();
        let dir = safe_dir();
        let inner = dir.path().join("a/b");
        std::fs::create_dir_all(&inner).expect("dirs");
        let exe = file_with_mode(&inner, 0o755);
        assert_eq!(unsafe_reason(&exe, &exe, euid), None);

        // Two levels up, group-writable: whoever is in that group can swap `b` for their own.
        let grandparent = dir.path().join("a");
        std::fs::set_permissions(&grandparent, Permissions::from_mode(0o775)).expect("chmod");
        let reason = unsafe_reason(&exe, &exe, euid).unwrap_or_default();
        assert!(
            reason.starts_with(&format!(
                "its directory {} is unsafe: its group",
                grandparent.display()
            )),
            "{reason}"
        );
        std::fs::set_permissions(&grandparent, Permissions::from_mode(0o777)).expect("chmod");
        let reason = unsafe_reason(&exe, &exe, euid).unwrap_or_default();
        assert!(reason.contains("other users can write it"), "{reason}");

        // Sticky above the executable's own directory protects `b` (root's): allowed.
        std::fs::set_permissions(&grandparent, Permissions::from_mode(0o1777)).expect("chmod");
        assert_eq!(unsafe_reason(&exe, &exe, euid), None);

        std::fs::set_permissions(&grandparent, Permissions::from_mode(0o755)).expect("chmod");
        set_acl(
            &grandparent,
            &acl(&[
                (USER_OBJ, 7, u32::MAX),
                (USER, 7, 65534),
                (GROUP_OBJ, 5, u32::MAX),
                (MASK, 7, u32::MAX),
                (OTHER, 5, u32::MAX),
            ]),
        );
        let reason = unsafe_reason(&exe, &exe, euid).unwrap_or_default();
        assert!(
            reason.contains("its ACL (system.posix_acl_access) lets uid 65534"),
            "{reason}"
        );

        std::fs::set_permissions(&grandparent, Permissions::from_mode(0o755)).expect("chmod");
        if euid == 0 {
            let chown = std::os::unix::fs::chown(&grandparent, Some(65534), None);
            chown.expect("chown");
            let reason = unsafe_reason(&exe, &exe, euid).unwrap_or_default();
            assert!(reason.contains("is owned by uid 65534"), "{reason}");
        }
    }
}
