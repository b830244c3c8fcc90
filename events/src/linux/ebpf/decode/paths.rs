//! Paths in records: walked leaf first by the kernel, or named by the caller and joined here
//! with the directory they are relative to.

use vigil_ebpf_common::{PathSlot, path_flags};

use super::{RecordError, slot, text};

/// A path walked leaf first: components each followed by a NUL. Returns the path root first and
/// whether it is complete.
pub(super) fn walked_path(bytes: &[u8], flags: u32) -> (String, bool) {
    let mut components: Vec<&[u8]> = bytes.split(|&b| b == 0).collect();
    if bytes.last() == Some(&0) {
        components.pop();
    }
    components.reverse();
    let joined = components
        .iter()
        .map(|c| String::from_utf8_lossy(c))
        .collect::<Vec<_>>()
        .join("/");
    if flags & path_flags::COMPLETE != 0 {
        (format!("/{joined}"), true)
    } else {
        (joined, false)
    }
}

/// `dir` joined with a relative `path`, with `.` components dropped.
pub(super) fn join_relative(dir: &str, path: &str) -> String {
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
    let mut parts: Vec<&str> = base.split('/').filter(|c| !c.is_empty()).collect();
    let mut named = false;
    let mut exact = true;
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." if !named => {
                parts.pop();
            }
            other => {
                exact &= other != "..";
                named = true;
                parts.push(other);
            }
        }
    }
    (format!("/{}", parts.join("/")), exact)
}

/// A (directory, name) pair from a file record as one path, and whether it is fully resolved.
pub(super) fn resolve_name(
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
            walked_path(b"b\0a\0", path_flags::TRUNCATED),
            ("a/b".to_owned(), false)
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
    }
}
