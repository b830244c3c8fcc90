//! osquery's hidden `pid_with_namespace` and `mount_namespace_id` columns: a query that names
//! `pid_with_namespace = N` reads the table's files in the mount namespace of process N (a
//! container's `/etc/os-release`, `/etc/passwd`, its files), and each row says which process
//! and namespace it came from; other rows have `pid_with_namespace` 0.
//!
//! osquery enters the namespace (`setns` in a forked worker); vigil reads it through
//! `/proc/N/root`, which needs no second process. The difference: an absolute symlink inside the
//! namespace is followed from the host's root.

use std::path::{Path, PathBuf};

use crate::table::{ScanRequest, Value};

/// Where a scan reads files: the host's root, or a process's mount namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Root {
    /// The process whose namespace this is; 0 for the host.
    pub pid: i64,
    /// The namespace's id (the inode of `/proc/N/ns/mnt`, as osquery shows it); empty for the
    /// host.
    pub mount_namespace_id: String,
    /// The root directory files are read under.
    pub dir: PathBuf,
}

impl Root {
    /// The host's own root.
    pub fn host() -> Self {
        Self {
            pid: 0,
            mount_namespace_id: String::new(),
            dir: PathBuf::from("/"),
        }
    }

    /// Where the file a query names as `path` (absolute) is read from.
    pub fn join(&self, path: impl AsRef<Path>) -> PathBuf {
        let path = path.as_ref();
        match path.strip_prefix("/") {
            Ok(relative) => self.dir.join(relative),
            Err(_) => self.dir.join(path),
        }
    }

    /// The name a query sees for a file read at `read` (the inverse of [`Root::join`]).
    pub fn name(&self, read: &Path) -> PathBuf {
        match read.strip_prefix(&self.dir) {
            Ok(relative) if self.pid != 0 => Path::new("/").join(relative),
            _ => read.to_path_buf(),
        }
    }

    /// The row's `pid_with_namespace` cell.
    pub fn pid_cell(&self) -> Value {
        Value::Int(self.pid)
    }

    /// The row's `mount_namespace_id` cell.
    pub fn namespace_cell(&self) -> Value {
        Value::Text(self.mount_namespace_id.clone())
    }
}

/// The roots a scan reads: one per `pid_with_namespace = N` the query names (those whose
/// namespace can be read; a process that is gone gives no rows), or the host's.
pub fn roots(request: &ScanRequest, column: usize) -> Vec<Root> {
    let pids: Vec<i64> = request
        .equal_values(column)
        .filter_map(Value::as_i64)
        .collect();
    let named = request.equal_values(column).next().is_some();
    if !named {
        return vec![Root::host()];
    }
    pids.into_iter().filter_map(namespace_of).collect()
}

#[cfg(target_os = "linux")]
fn namespace_of(pid: i64) -> Option<Root> {
    if pid <= 0 {
        return None;
    }
    let proc_dir = PathBuf::from(format!("/proc/{pid}"));
    // `mnt:[4026531840]`: osquery shows the number.
    let link = std::fs::read_link(proc_dir.join("ns/mnt")).ok()?;
    let link = link.to_string_lossy();
    let id = link
        .strip_prefix("mnt:[")
        .and_then(|rest| rest.strip_suffix(']'))?
        .to_owned();
    Some(Root {
        pid,
        mount_namespace_id: id,
        dir: proc_dir.join("root"),
    })
}

#[cfg(not(target_os = "linux"))]
fn namespace_of(_pid: i64) -> Option<Root> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::{Constraint, ConstraintOp};

    fn request(pids: &[i64]) -> ScanRequest {
        ScanRequest {
            constraints: pids
                .iter()
                .map(|&pid| Constraint {
                    column: 0,
                    op: ConstraintOp::Eq,
                    value: Value::Int(pid),
                })
                .collect(),
            ..ScanRequest::default()
        }
    }

    #[test]
    fn without_a_pid_the_host() {
        assert_eq!(roots(&ScanRequest::default(), 0), [Root::host()]);
        let host = Root::host();
        assert_eq!(host.join("/etc/passwd"), Path::new("/etc/passwd"));
        assert_eq!(
            host.name(Path::new("/etc/passwd")),
            Path::new("/etc/passwd")
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_pid_reads_through_its_root_and_names_paths_as_inside() {
        let pid = i64::from(std::process::id());
        let found = roots(&request(&[pid, 0, i64::from(i32::MAX)]), 0);
        assert_eq!(found.len(), 1, "only a live process: {found:?}");
        let root = &found[0];
        assert_eq!(root.pid, pid);
        assert!(root.mount_namespace_id.parse::<u64>().is_ok(), "{root:?}");
        let read = root.join("/etc/passwd");
        assert_eq!(read, PathBuf::from(format!("/proc/{pid}/root/etc/passwd")));
        assert_eq!(root.name(&read), Path::new("/etc/passwd"));
        assert_eq!(
            std::fs::read(&read).expect("through /proc"),
            std::fs::read("/etc/passwd").expect("directly"),
            "the same namespace: the same file"
        );
    }
}
