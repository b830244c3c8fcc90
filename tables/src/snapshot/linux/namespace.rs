//! osquery's hidden `pid_with_namespace` column: `WHERE pid_with_namespace = N` reads the table
//! as process N sees the filesystem (a container's packages, hosts file, crontabs), and each row
//! says which process (`pid_with_namespace`) and which mount namespace (`mount_namespace_id`)
//! it was read in. Without the constraint the host is read, and the columns are 0 and empty.
//!
//! The table's reader runs on a thread of its own that leaves the process's shared filesystem
//! context (`unshare(CLONE_FS)`) and joins N's mount namespace (`setns`), which also moves its
//! root and working directory there: absolute paths and symlinks then resolve as they do for N.
//! The rest of the process is untouched, and the thread ends with the scan.

use std::os::fd::AsRawFd;

use crate::table::{Row, ScanRequest, TableError, Value};

/// Where the hidden columns are in a table's row.
#[derive(Debug, Clone, Copy)]
pub struct NamespaceColumns {
    pub pid_with_namespace: usize,
    /// Not every table has it (osquery gives some only the pid).
    pub mount_namespace_id: Option<usize>,
}

/// `generate`'s rows, read in the host's view or, for each `pid_with_namespace = N` the query
/// gives, in N's mount namespace, with the hidden columns filled in. A process that is gone or
/// whose namespace cannot be joined gives no rows (logged), as in osquery.
pub fn scan_in_namespaces(
    table: &'static str,
    request: &ScanRequest,
    columns: NamespaceColumns,
    generate: impl Fn() -> Result<Vec<Row>, TableError> + Sync,
) -> Result<Vec<Row>, TableError> {
    let pids: Vec<i64> = request
        .equal_values(columns.pid_with_namespace)
        .filter_map(Value::as_i64)
        .collect();
    let mut namespaces: Vec<(i64, String)> = Vec::new();
    if request
        .equal_values(columns.pid_with_namespace)
        .next()
        .is_none()
    {
        namespaces.push((0, String::new()));
    }
    let mut out = Vec::new();
    for (pid, id) in namespaces {
        out.extend(label(generate()?, columns, pid, id));
    }
    for pid in pids {
        if pid == 0 {
            out.extend(label(generate()?, columns, 0, String::new()));
            continue;
        }
        match in_mount_namespace_of(pid, &generate) {
            Ok((id, rows)) => out.extend(label(rows?, columns, pid, id)),
            Err(reason) => {
                tracing::warn!(table, pid, %reason, "pid_with_namespace: cannot read in that process's mount namespace");
            }
        }
    }
    Ok(out)
}

fn label(
    rows: Vec<Row>,
    columns: NamespaceColumns,
    pid: i64,
    id: String,
) -> impl Iterator<Item = Row> {
    rows.into_iter().map(move |mut row| {
        if let Some(cell) = row.get_mut(columns.pid_with_namespace) {
            *cell = Value::Int(pid);
        }
        if let Some(cell) = columns.mount_namespace_id.and_then(|c| row.get_mut(c)) {
            *cell = Value::Text(id.clone());
        }
        row
    })
}

/// Runs `work` on a thread inside `pid`'s mount namespace; gives the namespace's id (the inode
/// number `/proc/<pid>/ns/mnt` names) with the result.
fn in_mount_namespace_of<T: Send>(
    pid: i64,
    work: &(impl Fn() -> T + Sync),
) -> Result<(String, T), String> {
    let ns_path = format!("/proc/{pid}/ns/mnt");
    let link = std::fs::read_link(&ns_path).map_err(|e| format!("{ns_path}: {e}"))?;
    let id = mount_namespace_id(&link.to_string_lossy())
        .ok_or_else(|| format!("{ns_path} names {}, not a mount namespace", link.display()))?;
    let ns = std::fs::File::open(&ns_path).map_err(|e| format!("{ns_path}: {e}"))?;
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                // SAFETY: unshare and setns take plain flags and an fd we own; they change only
                // this thread's filesystem context and mount namespace, and this thread ends here.
                unsafe {
                    if libc::unshare(libc::CLONE_FS) != 0 {
                        return Err(format!(
                            "unshare(CLONE_FS): {}",
                            std::io::Error::last_os_error()
                        ));
                    }
                    if libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNS) != 0 {
                        return Err(format!(
                            "setns({ns_path}): {} (joining a mount namespace needs CAP_SYS_ADMIN)",
                            std::io::Error::last_os_error()
                        ));
                    }
                }
                Ok((id.clone(), work()))
            })
            .join()
            .unwrap_or_else(|_| Err("the reader thread panicked".to_owned()))
    })
}

/// `mnt:[4026531841]` → `4026531841`.
fn mount_namespace_id(link: &str) -> Option<String> {
    let inode = link.strip_prefix("mnt:[")?.strip_suffix(']')?;
    inode
        .bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| inode.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::{Constraint, ConstraintOp};

    const COLUMNS: NamespaceColumns = NamespaceColumns {
        pid_with_namespace: 1,
        mount_namespace_id: Some(2),
    };

    fn marker_rows(path: &str) -> Result<Vec<Row>, TableError> {
        Ok(std::fs::read_to_string(path)
            .ok()
            .map(|text| vec![vec![Value::Text(text), Value::Null, Value::Null]])
            .unwrap_or_default())
    }

    fn with_pid(pid: i64) -> ScanRequest {
        ScanRequest {
            constraints: vec![Constraint {
                column: COLUMNS.pid_with_namespace,
                op: ConstraintOp::Eq,
                value: Value::Int(pid),
            }],
            ..ScanRequest::default()
        }
    }

    #[test]
    fn reads_what_a_process_in_another_mount_namespace_sees() {
        // A process with a private tmpfs on a directory of its own: the marker file exists only
        // in its mount namespace.
        let dir = tempfile::tempdir().expect("tempdir");
        let mount_point = dir.path().join("private");
        std::fs::create_dir(&mount_point).expect("mkdir");
        let marker = mount_point.join("marker");
        let script = format!(
            "mount -t tmpfs tmpfs {0} && echo inside > {0}/marker && exec sleep 60",
            mount_point.display()
        );
        let mut child = std::process::Command::new("unshare")
            .args(["--mount", "--propagation", "private", "sh", "-c", &script])
            .spawn()
            .expect("unshare runs");
        let pid = i64::from(child.id());
        let marker_path = marker.to_string_lossy().into_owned();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let inside = loop {
            let rows = scan_in_namespaces("test", &with_pid(pid), COLUMNS, || {
                marker_rows(&marker_path)
            })
            .expect("scan");
            if !rows.is_empty() || std::time::Instant::now() > deadline {
                break rows;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        let host = scan_in_namespaces("test", &ScanRequest::default(), COLUMNS, || {
            marker_rows(&marker_path)
        })
        .expect("scan");
        let host_ns = std::fs::read_link("/proc/self/ns/mnt").expect("own namespace");
        let theirs = std::fs::read_link(format!("/proc/{pid}/ns/mnt")).ok();
        let _ = child.kill();
        let _ = child.wait();

        assert_eq!(
            inside.len(),
            1,
            "the marker is read in the child's namespace"
        );
        assert_eq!(inside[0][0], Value::from("inside\n"));
        assert_eq!(inside[0][1], Value::Int(pid));
        let id = theirs
            .and_then(|l| mount_namespace_id(&l.to_string_lossy()))
            .expect("the child's namespace id");
        assert_eq!(inside[0][2], Value::Text(id.clone()));
        assert_ne!(Some(id), mount_namespace_id(&host_ns.to_string_lossy()));
        assert!(host.is_empty(), "the host does not see the child's tmpfs");
        // This process's own view is unchanged after the scan.
        assert!(!marker.exists());
    }

    #[test]
    fn a_process_that_does_not_exist_gives_no_rows() {
        let rows = scan_in_namespaces("test", &with_pid(i64::from(i32::MAX)), COLUMNS, || {
            Ok(vec![vec![Value::Null, Value::Null, Value::Null]])
        })
        .expect("scan");
        assert!(rows.is_empty());
        let host = scan_in_namespaces("test", &ScanRequest::default(), COLUMNS, || {
            Ok(vec![vec![Value::Null, Value::Null, Value::Null]])
        })
        .expect("scan");
        assert_eq!(
            host,
            vec![vec![Value::Null, Value::Int(0), Value::from("")]]
        );
    }

    #[test]
    fn namespace_links() {
        assert_eq!(
            mount_namespace_id("mnt:[4026531841]").as_deref(),
            Some("4026531841")
        );
        assert_eq!(mount_namespace_id("net:[4026531840]"), None);
        assert_eq!(mount_namespace_id("mnt:[x]"), None);
    }
}
