//! `process_open_files`: the filesystem paths each process holds open, read from the
//! `/proc/<pid>/fd` links. `pid = N` reads only `/proc/N`.

use std::path::Path;

use crate::snapshot::util::rows;
use crate::{
    row::table_row,
    table::{Column, Row, Rows, ScanRequest, Table, TableError},
};

table_row! {
    struct OpenFileRow {
        pid: BigInt,
        fd: BigInt,
        path: Text,
    }
}

const PID: usize = OpenFileRow::pid;

pub struct ProcessOpenFiles;

impl Table for ProcessOpenFiles {
    fn name(&self) -> &'static str {
        "process_open_files"
    }

    fn columns(&self) -> &'static [Column] {
        OpenFileRow::COLUMNS
    }

    fn pushdown_columns(&self) -> &'static [usize] {
        &[PID]
    }

    fn scan(&self, request: &ScanRequest) -> Result<Rows, TableError> {
        let pids = match pid_constraint(request, PID) {
            // Only live processes have descriptors: other values match nothing.
            Some(values) => values
                .into_iter()
                .filter_map(|v| u32::try_from(v).ok())
                .filter(|&pid| pid > 0)
                .collect(),
            None => all_pids(),
        };
        let mut out: Vec<Row> = Vec::new();
        for pid in pids {
            // A process that exited or hides its descriptors from us has none to report.
            let Some(descriptors) = descriptors(pid) else {
                continue;
            };
            for (fd, target) in descriptors {
                // Sockets, pipes and anonymous inodes (`socket:[…]`, `pipe:[…]`,
                // `anon_inode:…`) are no path in any filesystem.
                if !target.starts_with('/') {
                    continue;
                }
                let row = OpenFileRow {
                    pid: pid.into(),
                    fd: fd.into(),
                    path: target.into(),
                };
                out.push(row.into());
            }
        }
        Ok(rows(out))
    }
}

/// The values a `pid` column must equal, when every one of them is an integer; `None` when the
/// scan has to read every process (no `=` constraint, or one SQLite may match in ways other than
/// integer equality).
pub(crate) fn pid_constraint(request: &ScanRequest, column: usize) -> Option<Vec<i64>> {
    let mut values = Vec::new();
    for value in request.equal_values(column) {
        values.push(value.as_i64()?);
    }
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    values.dedup();
    Some(values)
}

/// Every process now in `/proc`, in pid order.
pub(crate) fn all_pids() -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut pids: Vec<u32> = entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    pids.sort_unstable();
    pids
}

/// `(fd, link target)` for each descriptor of `pid`, in fd order; `None` when the process is
/// gone or its descriptors cannot be read.
pub(crate) fn descriptors(pid: u32) -> Option<Vec<(u64, String)>> {
    descriptors_in(&Path::new("/proc").join(pid.to_string()).join("fd"))
}

fn descriptors_in(dir: &Path) -> Option<Vec<(u64, String)>> {
    let entries = std::fs::read_dir(dir).ok()?;
    let mut out: Vec<(u64, String)> = entries
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let fd: u64 = entry.file_name().to_str()?.parse().ok()?;
            // The descriptor may be closed between listing and reading it.
            let target = std::fs::read_link(entry.path()).ok()?;
            Some((fd, target.to_string_lossy().into_owned()))
        })
        .collect();
    out.sort_unstable_by_key(|(fd, _)| *fd);
    Some(out)
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;
    use crate::table::{Constraint, ConstraintOp, Value};

    fn scan_pid(pid: i64) -> Vec<Row> {
        let request = ScanRequest {
            constraints: vec![Constraint {
                column: PID,
                op: ConstraintOp::Eq,
                value: Value::Int(pid),
            }],
            ..Default::default()
        };
        ProcessOpenFiles
            .scan(&request)
            .expect("scan")
            .collect::<Result<Vec<_>, _>>()
            .expect("rows")
    }

    #[test]
    fn pushdown_finds_a_file_this_process_holds_open() {
        let mut file = tempfile::NamedTempFile::new().expect("temp file");
        file.write_all(b"held open").expect("write");
        let path = file
            .path()
            .canonicalize()
            .expect("canonical temp path")
            .to_string_lossy()
            .into_owned();
        let pid = i64::from(std::process::id());

        let rows = scan_pid(pid);
        let found: Vec<&Row> = rows
            .iter()
            .filter(|r| r[2] == Value::Text(path.clone()))
            .collect();
        assert_eq!(found.len(), 1, "{path} not in {rows:?}");
        assert_eq!(found[0][0], Value::Int(pid));
        // The fd must be the one this process holds: its link names the same file.
        let fd = found[0][1].as_i64().expect("fd");
        let link = std::fs::read_link(format!("/proc/self/fd/{fd}")).expect("fd link");
        assert_eq!(link.to_string_lossy(), path);
        assert!(rows.iter().all(|r| r[0] == Value::Int(pid)));
        assert!(
            rows.iter()
                .all(|r| r[2].as_text().is_some_and(|p| p.starts_with('/')))
        );
    }

    #[test]
    fn pushdown_of_a_pid_that_cannot_exist_reads_nothing() {
        assert!(scan_pid(-5).is_empty());
        assert!(scan_pid(0).is_empty());
    }

    #[test]
    fn full_scan_includes_this_process() {
        let file = tempfile::tempfile().expect("temp file");
        let pid = i64::from(std::process::id());
        let rows: Vec<Row> = ProcessOpenFiles
            .scan(&ScanRequest::default())
            .expect("scan")
            .collect::<Result<_, _>>()
            .expect("rows");
        assert!(rows.iter().any(|r| r[0] == Value::Int(pid)));
        drop(file);
    }

    #[test]
    fn pid_constraint_gives_up_on_values_that_are_not_integers() {
        let eq = |value: Value| Constraint {
            column: PID,
            op: ConstraintOp::Eq,
            value,
        };
        let request = ScanRequest {
            constraints: vec![eq(Value::Int(7)), eq(Value::Text("3".into()))],
            ..Default::default()
        };
        assert_eq!(pid_constraint(&request, PID), Some(vec![3, 7]));
        let request = ScanRequest {
            constraints: vec![eq(Value::Int(7)), eq(Value::Null)],
            ..Default::default()
        };
        assert_eq!(pid_constraint(&request, PID), None);
        assert_eq!(pid_constraint(&ScanRequest::default(), PID), None);
    }
}
