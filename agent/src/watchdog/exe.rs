//! The worker is this executable run again. Before each start the watcher checks that nobody but
//! root or its own user could have changed that file (osquery's safe-permissions rule, stricter):
//! a root daemon that re-executes a file others can write would run their code. Others can
//! change it through the file's mode (group or world write), a POSIX ACL (`system.posix_acl_access`)
//! that lets another user or a group write, or any directory on its path that another user owns or
//! can write.

use std::{
    ffi::CString,
    fs::Metadata,
    os::unix::{
        ffi::OsStrExt as _,
        fs::{MetadataExt as _, PermissionsExt as _},
    },
    path::{Path, PathBuf},
};

/// The file this process runs from; through `/proc/self/exe` it stays the same file even if the
/// path is later replaced (an upgrade takes effect at the next daemon start, not mid-flight).
pub const SELF_EXE: &str = "/proc/self/exe";

/// Why `path` is not safe to execute as the worker, or `None` when it is. `real_path` is its
/// name in the file system, whose directories are checked too.
pub fn unsafe_reason(path: &Path, real_path: &Path, euid: u32) -> Option<String> {
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(error) => return Some(format!("cannot read its metadata: {error}")),
    };
    if meta.is_dir() {
        return Some("it is a directory".into());
    }
    if let Some(reason) = foreign_owner(&meta, euid) {
        return Some(format!("it is {reason}"));
    }
    if meta.permissions().mode() & 0o111 == 0 {
        return Some("it is not executable".into());
    }
    if let Some(reason) = writable_by_others(path, &meta) {
        return Some(reason);
    }
    let mut parents = real_path.ancestors().skip(1);
    if let Some(dir) = parents.next()
        && let Some(reason) = unsafe_directory(dir, euid, true)
    {
        return Some(reason);
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
fn writable_by_others(path: &Path, meta: &Metadata) -> Option<String> {
    let mode = meta.permissions().mode() & 0o7777;
    match access_acl(path) {
        Ok(Some(acl)) => match acl_writers(&acl, meta.uid()) {
            Ok(writers) if !writers.is_empty() => {
                return Some(format!(
                    "its ACL (system.posix_acl_access) lets {} write it",
                    writers.join(", ")
                ));
            }
            Ok(_) => {}
            Err(problem) => return Some(format!("its ACL cannot be read: {problem}")),
        },
        Ok(None) => {}
        Err(error) => return Some(format!("its ACL cannot be read: {error}")),
    }
    if mode & 0o002 != 0 {
        return Some(format!("other users can write it (mode {mode:o})"));
    }
    if mode & 0o020 != 0 {
        return Some(format!(
            "its group (gid {}) can write it (mode {mode:o})",
            meta.gid()
        ));
    }
    None
}

/// Why the directory `dir` on the executable's path lets others replace what is in it. A sticky
/// directory (such as /tmp) protects entries others own, so above the executable's own
/// directory it may be writable; the executable's own directory may not be sticky at all.
fn unsafe_directory(dir: &Path, euid: u32, is_parent: bool) -> Option<String> {
    let meta = match std::fs::metadata(dir) {
        Ok(meta) => meta,
        Err(error) => {
            return Some(format!(
                "cannot read its directory {}: {error}",
                dir.display()
            ));
        }
    };
    if let Some(reason) = foreign_owner(&meta, euid) {
        return Some(format!("its directory {} is {reason}", dir.display()));
    }
    let sticky = meta.permissions().mode() & 0o1000 != 0;
    if sticky && is_parent {
        return Some(format!(
            "its directory {} is a sticky, shared directory such as /tmp",
            dir.display()
        ));
    }
    if sticky {
        return None;
    }
    writable_by_others(dir, &meta)
        .map(|reason| format!("its directory {} is unsafe: {reason}", dir.display()))
}

/// The raw `system.posix_acl_access` attribute of `path`, or `None` when it has none (or its
/// file system has no ACLs).
fn access_acl(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    let name = c"system.posix_acl_access";
    let path = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| std::io::Error::other("the path has a NUL byte"))?;
    let mut buffer = vec![0u8; 1024];
    loop {
        // SAFETY: NUL-terminated path and name; `buffer` is valid for `buffer.len()` bytes.
        let read = unsafe {
            libc::getxattr(
                path.as_ptr(),
                name.as_ptr(),
                buffer.as_mut_ptr().cast(),
                buffer.len(),
            )
        };
        if read >= 0 {
            buffer.truncate(read as usize);
            return Ok(Some(buffer));
        }
        let error = std::io::Error::last_os_error();
        match error.raw_os_error() {
            Some(libc::ENODATA) | Some(libc::EOPNOTSUPP) => return Ok(None),
            Some(libc::ERANGE) if buffer.len() < 1 << 20 => buffer.resize(buffer.len() * 4, 0),
            _ => return Err(error),
        }
    }
}

/// Who, besides `owner` and root, a POSIX ACL in its kernel encoding (a version, then tag,
/// permissions, id entries) lets write: named users, named groups and the owning group, each
/// limited by the mask.
fn acl_writers(acl: &[u8], owner: u32) -> Result<Vec<String>, String> {
    const VERSION: u32 = 2;
    const USER: u16 = 0x02;
    const GROUP_OBJ: u16 = 0x04;
    const GROUP: u16 = 0x08;
    const MASK: u16 = 0x10;
    const WRITE: u16 = 0x02;
    let (header, entries) = acl
        .split_first_chunk::<4>()
        .ok_or("shorter than its header")?;
    if u32::from_le_bytes(*header) != VERSION {
        return Err(format!(
            "version {} (expected 2)",
            u32::from_le_bytes(*header)
        ));
    }
    if entries.len() % 8 != 0 {
        return Err(format!(
            "{} bytes of entries, not whole entries",
            entries.len()
        ));
    }
    let entries: Vec<(u16, u16, u32)> = entries
        .chunks_exact(8)
        .map(|e| {
            (
                u16::from_le_bytes([e[0], e[1]]),
                u16::from_le_bytes([e[2], e[3]]),
                u32::from_le_bytes([e[4], e[5], e[6], e[7]]),
            )
        })
        .collect();
    let mask_writes = entries
        .iter()
        .find(|(tag, _, _)| *tag == MASK)
        .is_none_or(|(_, perm, _)| perm & WRITE != 0);
    Ok(entries
        .iter()
        .filter(|(_, perm, _)| perm & WRITE != 0 && mask_writes)
        .filter_map(|&(tag, _, id)| match tag {
            USER if id != 0 && id != owner => Some(format!("uid {id}")),
            GROUP => Some(format!("gid {id}")),
            GROUP_OBJ => Some("the owning group".to_owned()),
            _ => None,
        })
        .collect())
}

/// This executable's path as the file system names it (for messages and the directory check).
pub fn real_path() -> PathBuf {
    std::fs::read_link(SELF_EXE).unwrap_or_else(|_| PathBuf::from(SELF_EXE))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::Permissions;

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

    #[test]
    fn this_test_binary_is_found_through_proc() {
        let path = real_path();
        assert!(path.is_absolute(), "{}", path.display());
        assert!(path.exists(), "{}", path.display());
    }
}
