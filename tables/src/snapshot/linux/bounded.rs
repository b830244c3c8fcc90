//! Reading what the host holds without letting its size decide our memory or time: files are
//! read up to a byte cap and directories listed up to an entry cap; what is cut is logged with
//! the table, the path and the cap.

use std::io::Read;
use std::path::{Path, PathBuf};

/// The most a table reads of one configuration or database file (dpkg's status file on a large
/// desktop is about 10 MiB).
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;
/// The most entries a table takes from one directory.
pub const MAX_DIR_ENTRIES: usize = 10_000;

/// The first `max` bytes of `path` as text (invalid UTF-8 replaced), or `None` when it cannot
/// be read: missing (the usual case for optional files, not logged) or unreadable (logged).
/// A file longer than `max` is cut at its last whole line before the cap, with a warning.
pub fn read_text(table: &str, path: &Path, max: u64) -> Option<String> {
    let bytes = read_bytes(table, path, max)?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// The first `max` bytes of `path`, cut at the last newline when the file is longer; `None` as
/// for [`read_text`].
pub fn read_bytes(table: &str, path: &Path, max: u64) -> Option<Vec<u8>> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(error) => {
            not_read(table, path, &error);
            return None;
        }
    };
    let mut bytes = Vec::new();
    // One byte past the cap tells a file of exactly `max` bytes from a longer one.
    if let Err(error) = file.take(max.saturating_add(1)).read_to_end(&mut bytes) {
        not_read(table, path, &error);
        return None;
    }
    if bytes.len() as u64 > max {
        tracing::warn!(
            table,
            path = %path.display(),
            max_bytes = max,
            "file larger than the table reads: only its first lines up to the cap are used"
        );
        bytes.truncate(usize::try_from(max).unwrap_or(usize::MAX));
        let whole_lines = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        bytes.truncate(whole_lines);
    }
    Some(bytes)
}

/// Whether a failure to read is worth a warning: a missing file is an answer (no rows).
fn not_read(table: &str, path: &Path, error: &std::io::Error) {
    match error.kind() {
        std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory => {}
        _ => tracing::warn!(table, path = %path.display(), %error, "cannot read"),
    }
}

/// The entries of `dir`, sorted by name, at most `max` of them (the first `max` the directory
/// gives; the rest are counted and logged). A missing directory has none.
pub fn list_dir(table: &str, dir: &Path, max: usize) -> Vec<PathBuf> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(error) => {
            not_read(table, dir, &error);
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    let mut left_out = 0usize;
    for entry in entries.flatten() {
        if out.len() < max {
            out.push(entry.path());
        } else {
            left_out += 1;
        }
    }
    if left_out > 0 {
        tracing::warn!(
            table,
            dir = %dir.display(),
            max_entries = max,
            left_out,
            "directory has more entries than the table lists: the rest are left out"
        );
    }
    out.sort();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_past_the_cap_is_cut_at_a_whole_line() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("big");
        std::fs::write(&path, "line one\nline two\nline three\n").expect("write");
        assert_eq!(
            read_text("t", &path, 1024).as_deref(),
            Some("line one\nline two\nline three\n")
        );
        assert_eq!(
            read_text("t", &path, 20).as_deref(),
            Some("line one\nline two\n")
        );
        assert_eq!(read_text("t", &dir.path().join("missing"), 10), None);
    }

    #[test]
    fn a_directory_past_the_cap_is_cut() {
        let dir = tempfile::tempdir().expect("tempdir");
        for i in 0..5 {
            std::fs::write(dir.path().join(format!("f{i}")), "").expect("write");
        }
        assert_eq!(list_dir("t", dir.path(), 100).len(), 5);
        assert_eq!(list_dir("t", dir.path(), 3).len(), 3);
        assert!(list_dir("t", &dir.path().join("missing"), 3).is_empty());
    }
}
