//! POSIX access ACLs (`system.posix_acl_access`): who besides a file's owner they let write it.

use std::{ffi::CString, os::unix::ffi::OsStrExt as _, path::Path};

/// The raw `system.posix_acl_access` attribute of `path`, or `None` when it has none (or its
/// file system has no ACLs).
pub fn access_acl(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
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
pub fn acl_writers(acl: &[u8], owner: u32) -> Result<Vec<String>, String> {
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
