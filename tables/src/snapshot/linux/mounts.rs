//! `mounts`: the system's mounted filesystems from `/proc/mounts`, with sizes from `statvfs`.

use std::ffi::CString;
use std::path::Path;

use crate::row::table_row;
use crate::snapshot::util::{failed, rows};
use crate::table::{Column, Row, Rows, ScanRequest, Table, TableError, Value};

const NAME: &str = "mounts";
const MOUNTS: &str = "/proc/mounts";

table_row! {
    struct MountRow {
        device: Text,
        device_alias: Text,
        path: Text,
        r#type: Text,
        blocks_size: BigInt,
        blocks: BigInt,
        blocks_free: BigInt,
        blocks_available: BigInt,
        inodes: BigInt,
        inodes_free: BigInt,
        flags: Text,
    }
}

pub struct Mounts;

impl Table for Mounts {
    fn name(&self) -> &'static str {
        NAME
    }

    fn columns(&self) -> &'static [Column] {
        MountRow::COLUMNS
    }

    fn scan(&self, _request: &ScanRequest) -> Result<Rows, TableError> {
        let content = std::fs::read_to_string(MOUNTS)
            .map_err(|e| failed(NAME, format!("reading {MOUNTS}: {e}")))?;
        Ok(rows(
            content
                .lines()
                .filter_map(parse_line)
                .map(|m| {
                    // statfs on an autofs mount point would trigger the automount.
                    let stats = if m.fstype == "autofs" {
                        None
                    } else {
                        statvfs(&m.path)
                    };
                    row(m, stats)
                })
                .collect(),
        ))
    }
}

#[derive(Debug, PartialEq)]
struct MountEntry {
    device: String,
    path: String,
    fstype: String,
    options: String,
}

/// `device path type options freq passno`, fields octal-escaped (`\040` for a space).
fn parse_line(line: &str) -> Option<MountEntry> {
    let mut fields = line.split_whitespace();
    Some(MountEntry {
        device: unescape(fields.next()?),
        path: unescape(fields.next()?),
        fstype: unescape(fields.next()?),
        options: unescape(fields.next()?),
    })
}

/// Undoes the kernel's `\ooo` escaping of space, tab, newline and backslash.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let octal = bytes
            .get(i + 1..i + 4)
            .filter(|d| b == b'\\' && d.iter().all(|c| (b'0'..=b'7').contains(c)))
            .and_then(|d| {
                let s = std::str::from_utf8(d).ok()?;
                u8::from_str_radix(s, 8).ok()
            });
        match octal {
            Some(decoded) => {
                out.push(decoded);
                i += 4;
            }
            None => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Block and inode counts; block counts are in units of the fragment size, so that is the
/// `blocks_size` that makes `blocks * blocks_size` the filesystem's size.
#[derive(Debug, Clone, Copy)]
struct Stats {
    block_size: u64,
    blocks: u64,
    blocks_free: u64,
    blocks_available: u64,
    inodes: u64,
    inodes_free: u64,
}

fn statvfs(path: &str) -> Option<Stats> {
    let Ok(c_path) = CString::new(path) else {
        tracing::warn!(path, "mounts: mount path contains a NUL byte");
        return None;
    };
    // SAFETY: statvfs is plain data, valid zeroed.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: a NUL-terminated path and a pointer to a statvfs we own.
    if unsafe { libc::statvfs(c_path.as_ptr(), &mut st) } != 0 {
        let error = std::io::Error::last_os_error();
        tracing::warn!(path, %error, "mounts: statvfs failed");
        return None;
    }
    let block_size = if st.f_frsize > 0 {
        st.f_frsize
    } else {
        st.f_bsize
    };
    Some(Stats {
        block_size,
        blocks: st.f_blocks,
        blocks_free: st.f_bfree,
        blocks_available: st.f_bavail,
        inodes: st.f_files,
        inodes_free: st.f_ffree,
    })
}

fn row(entry: MountEntry, stats: Option<Stats>) -> Row {
    // Only absolute devices are resolved: a pseudo device such as "proc" would otherwise resolve
    // against this process's working directory.
    let alias = if entry.device.starts_with('/') {
        std::fs::canonicalize(Path::new(&entry.device))
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_else(|_| entry.device.clone())
    } else {
        entry.device.clone()
    };
    let number = |f: fn(&Stats) -> u64| stats.as_ref().map_or(Value::Null, |s| f(s).into());
    MountRow {
        device: entry.device.into(),
        device_alias: alias.into(),
        path: entry.path.into(),
        r#type: entry.fstype.into(),
        blocks_size: number(|s| s.block_size),
        blocks: number(|s| s.blocks),
        blocks_free: number(|s| s.blocks_free),
        blocks_available: number(|s| s.blocks_available),
        inodes: number(|s| s.inodes),
        inodes_free: number(|s| s.inodes_free),
        flags: entry.options.into(),
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan() -> Vec<Row> {
        Mounts
            .scan(&ScanRequest::default())
            .expect("scan mounts")
            .collect::<Result<_, _>>()
            .expect("mounts rows")
    }

    #[test]
    fn has_root_and_proc() {
        let rows = scan();
        let lines = std::fs::read_to_string(MOUNTS).expect("read /proc/mounts");
        assert_eq!(rows.len(), lines.lines().count());
        let root = rows
            .iter()
            .find(|r| r[2] == Value::from("/"))
            .expect("a row for /");
        assert!(root[5].as_i64().expect("blocks of /") > 0);
        assert!(root[4].as_i64().expect("block size of /") > 0);
        assert!(rows.iter().any(|r| r[3] == Value::from("proc")));
    }

    #[test]
    fn root_row_is_the_root_device() {
        use std::os::unix::fs::MetadataExt;
        // A second source: the device number of "/" must be one whose mount row is "/".
        let rows = scan();
        let root_dev = std::fs::metadata("/").expect("stat /").dev();
        let path_dev = |r: &Row| {
            r[2].as_text()
                .and_then(|p| std::fs::metadata(p).ok())
                .map(|m| m.dev())
        };
        assert!(
            rows.iter()
                .filter(|r| r[2] == Value::from("/"))
                .all(|r| path_dev(r) == Some(root_dev))
        );
    }

    #[test]
    fn parses_escapes_and_keeps_rows_without_stats() {
        let entry = parse_line("/dev/sda1 /mnt/my\\040disk ext4 rw,relatime 0 0").expect("a line");
        assert_eq!(entry.path, "/mnt/my disk");
        assert_eq!(entry.options, "rw,relatime");
        assert_eq!(parse_line("short line"), None);
        assert_eq!(unescape("a\\134b\\0"), "a\\b\\0");

        let row = row(entry, statvfs("/nonexistent/vigil-test-path"));
        assert_eq!(row[0], Value::from("/dev/sda1"));
        assert_eq!(row[4], Value::Null);
        assert_eq!(row[9], Value::Null);
        assert_eq!(row[10], Value::from("rw,relatime"));
    }
}
