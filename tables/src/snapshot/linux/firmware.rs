//! Reading the binary tables the firmware hands the kernel (ACPI, SMBIOS) from sysfs: whole, up
//! to a cap, and their MD5 as osquery gives it.

use std::io::Read;
use std::path::Path;

use md5::{Digest, Md5};

/// The most of one firmware table read: real ACPI tables are at most a few MiB (a large DSDT),
/// SMBIOS tables tens of KiB.
pub const MAX_TABLE_BYTES: u64 = 16 * 1024 * 1024;

/// What reading a firmware table gave.
pub enum Contents {
    Bytes(Vec<u8>),
    /// Longer than the cap: its length, not read.
    TooLarge(u64),
    /// Missing, or not readable (root only, on most hosts).
    Unreadable,
}

/// The contents of `path`, up to `max` bytes; past it, only its length, with a warning.
pub fn read(table: &str, path: &Path, max: u64) -> Contents {
    let mut file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(error) => {
            if error.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(table, path = %path.display(), %error, "cannot read");
            }
            return Contents::Unreadable;
        }
    };
    let mut bytes = Vec::new();
    // One byte past the cap tells a table of exactly `max` bytes from a longer one.
    if let Err(error) = (&mut file)
        .take(max.saturating_add(1))
        .read_to_end(&mut bytes)
    {
        tracing::warn!(table, path = %path.display(), %error, "cannot read");
        return Contents::Unreadable;
    }
    if bytes.len() as u64 > max {
        let length = file.metadata().map_or(max, |m| m.len().max(max));
        tracing::warn!(
            table,
            path = %path.display(),
            max_bytes = max,
            "firmware table larger than the table reads: its md5 is left empty"
        );
        return Contents::TooLarge(length);
    }
    Contents::Bytes(bytes)
}

/// Lowercase hex MD5 of `bytes`.
pub fn md5_hex(bytes: &[u8]) -> String {
    Md5::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_of_known_text() {
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(md5_hex(b"test"), "098f6bcd4621d373cade4e832627b4f6");
    }

    #[test]
    fn a_table_past_the_cap_gives_its_length_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("DSDT");
        std::fs::write(&path, [7u8; 100]).expect("write");
        assert!(matches!(read("t", &path, 100), Contents::Bytes(b) if b.len() == 100));
        assert!(matches!(read("t", &path, 99), Contents::TooLarge(100)));
        assert!(matches!(
            read("t", &dir.path().join("missing"), 99),
            Contents::Unreadable
        ));
    }
}
