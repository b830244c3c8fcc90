//! `process_envs`: each process's environment, from `/proc/<pid>/environ` (the environment it
//! was started with). `pid = N` reads one process; rows are produced process by process.

use crate::row::table_row;
use crate::snapshot::linux::pids::requested_pids;
use crate::table::{Column, Row, Rows, ScanRequest, Table, TableError, Value};

const NAME: &str = "process_envs";
/// The kernel bounds an environment by the exec argument limit; this bounds what one
/// process's file can make a scan read all the same.
const MAX_ENVIRON_BYTES: u64 = 4 * 1024 * 1024;

table_row! {
    struct ProcessEnvRow {
        pid: Integer,
        key: Text,
        value: Text,
    }
}

pub struct ProcessEnvs;

impl Table for ProcessEnvs {
    fn name(&self) -> &'static str {
        NAME
    }

    fn columns(&self) -> &'static [Column] {
        ProcessEnvRow::COLUMNS
    }

    fn pushdown_columns(&self) -> &'static [usize] {
        &[ProcessEnvRow::pid]
    }

    fn scan(&self, request: &ScanRequest) -> Result<Rows, TableError> {
        let pids = requested_pids(request, ProcessEnvRow::pid);
        Ok(Box::new(pids.into_iter().flat_map(process_rows).map(Ok)))
    }
}

/// A process's variables; none when it is gone or its environment cannot be read (another
/// user's process without privileges, a kernel thread).
fn process_rows(pid: i64) -> Vec<Row> {
    use std::io::Read;
    let mut bytes = Vec::new();
    let read = std::fs::File::open(format!("/proc/{pid}/environ"))
        .and_then(|f| f.take(MAX_ENVIRON_BYTES).read_to_end(&mut bytes));
    if read.is_err() {
        return Vec::new();
    }
    environ(&bytes)
        .into_iter()
        .map(|(key, value)| {
            ProcessEnvRow {
                pid: Value::Int(pid),
                key: key.into(),
                value: value.into(),
            }
            .into()
        })
        .collect()
}

/// `KEY=value\0...`: split at each entry's first `=`; entries without a name are skipped.
fn environ(bytes: &[u8]) -> Vec<(String, String)> {
    bytes
        .split(|&b| b == 0)
        .filter_map(|entry| {
            let entry = String::from_utf8_lossy(entry);
            let (key, value) = entry.split_once('=')?;
            (!key.is_empty()).then(|| (key.to_owned(), value.to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::{Constraint, ConstraintOp};

    #[test]
    fn environ_entries() {
        assert_eq!(
            environ(b"PATH=/usr/bin:/bin\0EMPTY=\0A=b=c\0=nokey\0noequals\0"),
            [
                ("PATH".to_owned(), "/usr/bin:/bin".to_owned()),
                ("EMPTY".to_owned(), String::new()),
                ("A".to_owned(), "b=c".to_owned()),
            ]
        );
    }

    #[test]
    fn a_child_environment_is_read_by_pid() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .env_clear()
            .env("VIGIL_TEST_MARKER", "process envs")
            .env("PATH", "/usr/bin:/bin")
            .spawn()
            .expect("sleep starts");
        let pid = i64::from(child.id());
        let request = ScanRequest {
            constraints: vec![Constraint {
                column: ProcessEnvRow::pid,
                op: ConstraintOp::Eq,
                value: Value::Int(pid),
            }],
            ..ScanRequest::default()
        };
        // Between fork and exec the child still has this process's environment: poll.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let rows = loop {
            let rows: Vec<Row> = ProcessEnvs
                .scan(&request)
                .expect("scan")
                .collect::<Result<_, _>>()
                .expect("rows");
            if rows.len() == 2 || std::time::Instant::now() > deadline {
                break rows;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(
            rows,
            vec![
                vec![Value::Int(pid), "PATH".into(), "/usr/bin:/bin".into()],
                vec![
                    Value::Int(pid),
                    "VIGIL_TEST_MARKER".into(),
                    "process envs".into()
                ],
            ]
        );
    }

    #[test]
    fn a_full_scan_includes_this_process() {
        let me = i64::from(std::process::id());
        let rows: Vec<Row> = ProcessEnvs
            .scan(&ScanRequest::default())
            .expect("scan")
            .collect::<Result<_, _>>()
            .expect("rows");
        assert!(rows.iter().any(|r| r[0] == Value::Int(me)));
        assert!(rows.iter().all(|r| r[0].as_i64().is_some_and(|p| p > 0)
            && r[1].as_text().is_some_and(|k| !k.is_empty())));
    }
}
