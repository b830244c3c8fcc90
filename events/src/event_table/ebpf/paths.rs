//! Paths in records: walked leaf first by the kernel, or named by the caller and joined here
//! with the directory they are relative to.

use vigil_ebpf_common::{PathSlot, path_flags};

use super::{RecordError, slot, text};

/// A path walked leaf first: components each followed by a NUL. Returns the path root first and
/// whether it is complete. Built in place: this runs for every file event.
pub(crate) fn walked_path(bytes: &[u8], flags: u32) -> (String, bool) {
    let complete = flags & path_flags::COMPLETE != 0;
    let bytes = bytes.strip_suffix(&[0]).unwrap_or(bytes);
    let mut out = String::with_capacity(bytes.len() + 1);
    for (i, component) in bytes.rsplit(|&b| b == 0).enumerate() {
        if i > 0 || complete {
            out.push('/');
        }
        out.push_str(&String::from_utf8_lossy(component));
    }
    (out, complete)
}

/// `dir` joined with a relative `path`, with `.` components dropped.
pub(crate) fn join_relative(dir: &str, path: &str) -> String {
    let mut out = dir.trim_end_matches('/').to_owned();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            other => {
                out.push('/');
                out.push_str(other);
            }
        }
    }
    out
}

/// `name` joined to `base`, an absolute directory path the kernel walked (or `/`), and whether
/// the result names the file exactly. Empty and `.` components are dropped. A `..` that steps
/// out of `base` is exact (the kernel walked `base` from its dentries: no symlink in it); a
/// `..` after a component of `name` is not, since that component may be a symlink
/// (`/a/link/../x` is `x` next to link's target, not `/a/x`): it is kept, as given, and the path
/// marked unresolved, never guessed.
pub fn join_name(base: &str, name: &str) -> (String, bool) {
    // Built in one string: a `..` of `base` cuts its last component off.
    let mut out = String::with_capacity(base.len() + name.len() + 1);
    for part in base.split('/').filter(|c| !c.is_empty()) {
        out.push('/');
        out.push_str(part);
    }
    let mut named = false;
    let mut exact = true;
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." if !named => {
                let parent = out.rfind('/').unwrap_or(0);
                out.truncate(parent);
            }
            other => {
                exact &= other != "..";
                named = true;
                out.push('/');
                out.push_str(other);
            }
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    (out, exact)
}

/// A (directory, name) pair from a file record as one path, and whether it is fully resolved.
pub(crate) fn resolve_name(
    data: &[u8],
    dir: &PathSlot,
    name: &PathSlot,
) -> Result<(String, bool), RecordError> {
    let name = text(slot(data, name, "name")?);
    if name.starts_with('/') {
        return Ok(join_name("/", &name));
    }
    let (dir_path, complete) = walked_path(slot(data, dir, "dir")?, dir.flags);
    if complete {
        Ok(join_name(&dir_path, &name))
    } else {
        // Not guessed: the name as the caller gave it, marked unresolved.
        Ok((name, false))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_root_directory_is_slash() {
        assert_eq!(
            walked_path(b"", path_flags::COMPLETE),
            ("/".to_owned(), true)
        );
        assert_eq!(
            walked_path(b"\0", path_flags::COMPLETE),
            ("/".to_owned(), true)
        );
        assert_eq!(
            walked_path(b"b\0a\0", path_flags::TRUNCATED),
            ("a/b".to_owned(), false)
        );
        assert_eq!(
            walked_path(b"c\0b\0a\0", path_flags::COMPLETE),
            ("/a/b/c".to_owned(), true)
        );
        // Bytes that are not UTF-8 are replaced, never dropped.
        assert_eq!(
            walked_path(b"x\xff\0tmp\0", path_flags::COMPLETE),
            ("/tmp/x\u{fffd}".to_owned(), true)
        );
    }

    #[test]
    fn names_are_joined_exactly_or_marked() {
        assert_eq!(join_name("/", "/a/./b//c"), ("/a/b/c".to_owned(), true));
        assert_eq!(join_name("/", "/../.."), ("/".to_owned(), true));
        assert_eq!(join_name("/", "/tmp/x/"), ("/tmp/x".to_owned(), true));
        assert_eq!(
            join_name("/tmp/work", "../../etc/passwd"),
            ("/etc/passwd".to_owned(), true),
            "out of the walked directory: exact"
        );
        // `link` may be a symlink: its `..` is not the text's parent.
        assert_eq!(
            join_name("/", "/a/link/../x"),
            ("/a/link/../x".to_owned(), false)
        );
        assert_eq!(
            join_name("/tmp", "dir/link/.././x"),
            ("/tmp/dir/link/../x".to_owned(), false)
        );
        assert_eq!(
            join_name("/tmp", "../tmp/a/../b"),
            ("/tmp/a/../b".to_owned(), false)
        );
        assert_eq!(join_name("/", "x"), ("/x".to_owned(), true));
        assert_eq!(join_name("/a/b/", "../../../c"), ("/c".to_owned(), true));
    }
}
