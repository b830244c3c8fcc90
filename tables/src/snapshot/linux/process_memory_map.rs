//! `process_memory_map`: each process's mapped regions, from `/proc/<pid>/maps`. `pid = N`
//! reads one process; rows are produced process by process.

use crate::row::table_row;
use crate::snapshot::linux::pids::requested_pids;
use crate::table::{Column, Row, Rows, ScanRequest, Table, TableError, Value};

const NAME: &str = "process_memory_map";
/// A process with an extreme number of mappings (the default limit is 65,530, about 6 MiB of
/// text) is read up to this.
const MAX_MAPS_BYTES: u64 = 16 * 1024 * 1024;

table_row! {
    struct MemoryMapRow {
        pid: Integer,
        start: Text,
        end: Text,
        permissions: Text,
        offset: BigInt,
        device: Text,
        inode: Integer,
        path: Text,
        pseudo: Integer,
    }
}

pub struct ProcessMemoryMap;

impl Table for ProcessMemoryMap {
    fn name(&self) -> &'static str {
        NAME
    }

    fn columns(&self) -> &'static [Column] {
        MemoryMapRow::COLUMNS
    }

    fn pushdown_columns(&self) -> &'static [usize] {
        &[MemoryMapRow::pid]
    }

    fn scan(&self, request: &ScanRequest) -> Result<Rows, TableError> {
        let pids = requested_pids(request, MemoryMapRow::pid);
        Ok(Box::new(pids.into_iter().flat_map(process_rows).map(Ok)))
    }
}

fn process_rows(pid: i64) -> Vec<Row> {
    use std::io::Read;
    let mut text = String::new();
    let read = std::fs::File::open(format!("/proc/{pid}/maps"))
        .and_then(|f| f.take(MAX_MAPS_BYTES).read_to_string(&mut text));
    if read.is_err() {
        return Vec::new();
    }
    text.lines().filter_map(|l| line(pid, l)).collect()
}

/// `start-end perms offset dev inode [path]`; the path may hold spaces.
fn line(pid: i64, line: &str) -> Option<Row> {
    let mut rest = line;
    let mut field = || -> Option<&str> {
        let trimmed = rest.trim_start();
        let end = trimmed.find(' ').unwrap_or(trimmed.len());
        let (word, after) = trimmed.split_at(end);
        rest = after;
        (!word.is_empty()).then_some(word)
    };
    let (start, end) = field()?.split_once('-')?;
    let permissions = field()?;
    let offset = i64::from_str_radix(field()?, 16).unwrap_or(-1);
    let device = field()?;
    let inode_text = field()?;
    let inode: i64 = inode_text.parse().ok()?;
    let path = rest.trim().to_owned();
    // A region with a name but no file behind it (`[heap]`, `[stack]`, `[vdso]`).
    let pseudo = inode == 0 && !path.is_empty();
    Some(
        MemoryMapRow {
            pid: Value::Int(pid),
            start: format!("0x{start}").into(),
            end: format!("0x{end}").into(),
            permissions: permissions.into(),
            offset: Value::Int(offset),
            device: device.into(),
            inode: Value::Int(inode),
            path: path.into(),
            pseudo: pseudo.into(),
        }
        .into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::{Constraint, ConstraintOp};

    #[test]
    fn maps_lines() {
        let file = line(
            7,
            "55d0c8a3e000-55d0c8a40000 r--p 00002000 fe:01 1835017                    /usr/bin/my prog",
        )
        .expect("a mapping");
        assert_eq!(file[1], Value::from("0x55d0c8a3e000"));
        assert_eq!(file[2], Value::from("0x55d0c8a40000"));
        assert_eq!(file[3], Value::from("r--p"));
        assert_eq!(file[4], Value::Int(0x2000));
        assert_eq!(file[5], Value::from("fe:01"));
        assert_eq!(file[6], Value::Int(1_835_017));
        assert_eq!(file[7], Value::from("/usr/bin/my prog"));
        assert_eq!(file[8], Value::Int(0));
        let heap = line(7, "7ffd1000-7ffd2000 rw-p 00000000 00:00 0 [heap]").expect("heap");
        assert_eq!(heap[8], Value::Int(1));
        let anonymous = line(7, "7ffd1000-7ffd2000 rw-p 00000000 00:00 0").expect("anonymous");
        assert_eq!(
            (anonymous[7].clone(), anonymous[8].clone()),
            ("".into(), Value::Int(0))
        );
        assert_eq!(line(7, "garbage"), None);
    }

    #[test]
    fn this_process_maps_its_executable() {
        let me = i64::from(std::process::id());
        let request = ScanRequest {
            constraints: vec![Constraint {
                column: MemoryMapRow::pid,
                op: ConstraintOp::Eq,
                value: Value::Int(me),
            }],
            ..ScanRequest::default()
        };
        let rows: Vec<Row> = ProcessMemoryMap
            .scan(&request)
            .expect("scan")
            .collect::<Result<_, _>>()
            .expect("rows");
        let exe = std::env::current_exe().expect("exe");
        assert!(
            rows.iter()
                .any(|r| r[7] == Value::Text(exe.to_string_lossy().into_owned()))
        );
        assert!(
            rows.iter()
                .any(|r| r[7] == Value::from("[stack]") && r[8] == Value::Int(1))
        );
        for row in &rows {
            assert_eq!(row[0], Value::Int(me));
            let start = u64::from_str_radix(
                row[1].as_text().expect("start").trim_start_matches("0x"),
                16,
            );
            let end =
                u64::from_str_radix(row[2].as_text().expect("end").trim_start_matches("0x"), 16);
            assert!(start.expect("hex") < end.expect("hex"));
            assert_eq!(row[3].as_text().map(str::len), Some(4));
        }
    }
}
