//! `processes`: every running process, read from `/proc`, with osquery's columns. `pid = N`
//! (and `pid IN (...)`) reads only those entries.

use std::path::Path;

use crate::snapshot::util::rows;
use crate::{
    row::table_row,
    table::{Column, Row, Rows, ScanRequest, Table, TableError, Value},
};

table_row! {
    struct ProcessRow {
        pid: BigInt,
        name: Text,
        path: Text,
        cmdline: Text,
        state: Text,
        cwd: Text,
        root: Text,
        uid: BigInt,
        gid: BigInt,
        euid: BigInt,
        egid: BigInt,
        suid: BigInt,
        sgid: BigInt,
        on_disk: Integer,
        wired_size: BigInt,
        resident_size: BigInt,
        total_size: BigInt,
        user_time: BigInt,
        system_time: BigInt,
        disk_bytes_read: BigInt,
        disk_bytes_written: BigInt,
        start_time: BigInt,
        parent: BigInt,
        pgroup: BigInt,
        threads: Integer,
        nice: Integer,
        cgroup_path: Text,
    }
}

const PID: usize = ProcessRow::pid;

pub struct Processes;

/// The fields of `/proc/<pid>/stat` that processes reports.
#[derive(Debug, Default, PartialEq, Eq)]
struct Stat {
    name: String,
    state: String,
    parent: i64,
    pgroup: i64,
    utime_ticks: u64,
    stime_ticks: u64,
    nice: i64,
    threads: i64,
    start_ticks: u64,
    vsize: u64,
    rss_pages: u64,
}

/// Parses `/proc/<pid>/stat`. The name is in parentheses and may itself contain spaces and
/// parentheses, so the fields after it are found from the last `)`.
fn parse_stat(text: &str) -> Option<Stat> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let name = text.get(open + 1..close)?.to_owned();
    let fields: Vec<&str> = text.get(close + 1..)?.split_whitespace().collect();
    // Field numbers from proc(5), counted from `state` (field 3) at index 0.
    let field = |n: usize| fields.get(n - 3).copied();
    let number = |n: usize| field(n).and_then(|f| f.parse::<i64>().ok());
    let unsigned = |n: usize| field(n).and_then(|f| f.parse::<u64>().ok());
    Some(Stat {
        name,
        state: field(3)?.to_owned(),
        parent: number(4)?,
        pgroup: number(5)?,
        utime_ticks: unsigned(14)?,
        stime_ticks: unsigned(15)?,
        nice: number(19)?,
        threads: number(20)?,
        start_ticks: unsigned(22)?,
        vsize: unsigned(23)?,
        rss_pages: unsigned(24)?,
    })
}

/// `Uid:`/`Gid:` lines of `/proc/<pid>/status`: real, effective, saved.
fn ids(status: &str, key: &str) -> [Value; 3] {
    let mut out = [Value::Null, Value::Null, Value::Null];
    if let Some(line) = status.lines().find_map(|l| l.strip_prefix(key)) {
        for (slot, id) in out.iter_mut().zip(line.split_whitespace()) {
            if let Ok(id) = id.parse::<i64>() {
                *slot = Value::Int(id);
            }
        }
    }
    out
}

/// Host facts every row needs, read once per scan.
struct Host {
    ticks_per_second: u64,
    page_size: u64,
    boot_time: i64,
}

impl Host {
    fn read() -> Self {
        // SAFETY: sysconf has no memory-safety preconditions.
        let (ticks, page) = unsafe {
            (
                libc::sysconf(libc::_SC_CLK_TCK),
                libc::sysconf(libc::_SC_PAGESIZE),
            )
        };
        let boot_time = std::fs::read_to_string("/proc/stat")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("btime "))
                    .and_then(|v| v.trim().parse().ok())
            })
            .unwrap_or(0);
        Self {
            ticks_per_second: u64::try_from(ticks).ok().filter(|&t| t > 0).unwrap_or(100),
            page_size: u64::try_from(page).ok().filter(|&p| p > 0).unwrap_or(4096),
            boot_time,
        }
    }

    fn millis(&self, ticks: u64) -> u64 {
        ticks.saturating_mul(1000) / self.ticks_per_second
    }
}

/// Reads a `/proc/<pid>/<name>` link. Kernel threads have none (empty, not an error); a
/// permission problem leaves this column empty, counts in `denied`, and the row stays.
fn link(dir: &Path, name: &str, denied: &mut u32) -> Value {
    match std::fs::read_link(dir.join(name)) {
        Ok(target) => target.to_string_lossy().into_owned().into(),
        Err(error) => {
            if error.kind() == std::io::ErrorKind::PermissionDenied {
                *denied += 1;
            }
            Value::Text(String::new())
        }
    }
}

/// One process's row, or `None` when it is gone (it exited during the scan). Files behind
/// columns the query does not read are not opened: those columns are NULL.
fn process_row(pid: i64, host: &Host, request: &ScanRequest, denied: &mut u32) -> Option<Row> {
    let dir = Path::new("/proc").join(pid.to_string());
    let stat = parse_stat(&std::fs::read_to_string(dir.join("stat")).ok()?)?;
    let uses = |c: usize| request.uses(c);
    let uses_any = |columns: &[usize]| columns.iter().any(|&c| request.uses(c));
    let status = if uses_any(&[
        ProcessRow::uid,
        ProcessRow::gid,
        ProcessRow::euid,
        ProcessRow::egid,
        ProcessRow::suid,
        ProcessRow::sgid,
    ]) {
        std::fs::read_to_string(dir.join("status")).unwrap_or_default()
    } else {
        String::new()
    };
    let [uid, euid, suid] = ids(&status, "Uid:");
    let [gid, egid, sgid] = ids(&status, "Gid:");
    let cmdline = if uses(ProcessRow::cmdline) {
        std::fs::read(dir.join("cmdline"))
            .map(|bytes| {
                let trimmed = bytes.strip_suffix(&[0]).unwrap_or(&bytes);
                Value::Text(String::from_utf8_lossy(trimmed).replace('\0', " "))
            })
            .unwrap_or(Value::Text(String::new()))
    } else {
        Value::Null
    };
    let path = if uses(ProcessRow::path) || uses(ProcessRow::on_disk) {
        link(&dir, "exe", denied)
    } else {
        Value::Null
    };
    let on_disk = match &path {
        _ if !uses(ProcessRow::on_disk) => Value::Null,
        Value::Text(p) if p.is_empty() => Value::Int(-1),
        Value::Text(p) if p.ends_with(" (deleted)") => Value::Int(0),
        Value::Text(p) => Value::Int(i64::from(Path::new(p).exists())),
        _ => Value::Int(-1),
    };
    let io = if uses_any(&[ProcessRow::disk_bytes_read, ProcessRow::disk_bytes_written]) {
        std::fs::read_to_string(dir.join("io"))
    } else {
        Err(std::io::ErrorKind::Unsupported.into())
    };
    let (read_bytes, write_bytes) = match io {
        Ok(io) => {
            let value = |key: &str| {
                io.lines()
                    .find_map(|l| l.strip_prefix(key))
                    .and_then(|v| v.trim().parse::<i64>().ok())
                    .map_or(Value::Null, Value::Int)
            };
            (value("read_bytes:"), value("write_bytes:"))
        }
        Err(_) => (Value::Null, Value::Null),
    };
    let cgroup_path = if uses(ProcessRow::cgroup_path) {
        std::fs::read_to_string(dir.join("cgroup"))
            .ok()
            .and_then(|c| {
                c.lines()
                    .find_map(|l| l.strip_prefix("0::"))
                    .map(str::to_owned)
            })
            .map_or(Value::Text(String::new()), Value::Text)
    } else {
        Value::Null
    };
    let cwd = if uses(ProcessRow::cwd) {
        link(&dir, "cwd", denied)
    } else {
        Value::Null
    };
    let root = if uses(ProcessRow::root) {
        link(&dir, "root", denied)
    } else {
        Value::Null
    };
    let start_time = host.boot_time + (stat.start_ticks / host.ticks_per_second) as i64;
    let row = ProcessRow {
        pid: Value::Int(pid),
        name: stat.name.into(),
        path,
        cmdline,
        state: stat.state.into(),
        cwd,
        root,
        uid,
        gid,
        euid,
        egid,
        suid,
        sgid,
        on_disk,
        wired_size: Value::Int(0),
        resident_size: (stat.rss_pages.saturating_mul(host.page_size)).into(),
        total_size: stat.vsize.into(),
        user_time: host.millis(stat.utime_ticks).into(),
        system_time: host.millis(stat.stime_ticks).into(),
        disk_bytes_read: read_bytes,
        disk_bytes_written: write_bytes,
        start_time: Value::Int(start_time),
        parent: Value::Int(stat.parent),
        pgroup: Value::Int(stat.pgroup),
        threads: Value::Int(stat.threads),
        nice: Value::Int(stat.nice),
        cgroup_path,
    };
    Some(row.into())
}

/// Every pid in `/proc` (only processes: thread ids are not listed there).
fn all_pids() -> Vec<i64> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse().ok()))
        .collect()
}

impl Table for Processes {
    fn name(&self) -> &'static str {
        "processes"
    }

    fn columns(&self) -> &'static [Column] {
        ProcessRow::COLUMNS
    }

    fn pushdown_columns(&self) -> &'static [usize] {
        &[PID]
    }

    fn scan(&self, request: &ScanRequest) -> Result<Rows, TableError> {
        let wanted: Vec<i64> = request
            .equal_values(PID)
            .filter_map(Value::as_i64)
            .collect();
        let pids = if request.equal_values(PID).next().is_some() {
            wanted
        } else {
            all_pids()
        };
        let host = Host::read();
        let mut denied = 0u32;
        let found: Vec<Row> = pids
            .into_iter()
            .filter(|&pid| pid > 0)
            .filter_map(|pid| process_row(pid, &host, request, &mut denied))
            .collect();
        if denied > 0 {
            tracing::warn!(
                fields = denied,
                "some processes could not be read fully (permission denied): their path, cwd or \
                 root is empty; run as root to see them"
            );
        }
        Ok(rows(found))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::{Constraint, ConstraintOp};

    fn scan(request: &ScanRequest) -> Vec<Row> {
        Processes
            .scan(request)
            .expect("scan")
            .collect::<Result<_, _>>()
            .expect("rows")
    }

    fn by_pid(pid: i64) -> ScanRequest {
        ScanRequest {
            constraints: vec![Constraint {
                column: PID,
                op: ConstraintOp::Eq,
                value: Value::Int(pid),
            }],
            ..ScanRequest::default()
        }
    }

    fn column(row: &Row, name: &str) -> Value {
        let i = ProcessRow::COLUMNS
            .iter()
            .position(|c| c.name == name)
            .expect("known column");
        row[i].clone()
    }

    #[test]
    fn stat_parsing_survives_odd_names() {
        let text = "42 (my (odd) name) S 1 42 42 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 2 0 1234 \
                    1000000 50 18446744073709551615";
        let stat = parse_stat(text).expect("parses");
        assert_eq!(stat.name, "my (odd) name");
        assert_eq!(
            (stat.state.as_str(), stat.parent, stat.threads),
            ("S", 1, 2)
        );
        assert_eq!(
            (stat.utime_ticks, stat.stime_ticks, stat.start_ticks),
            (7, 3, 1234)
        );
        assert_eq!((stat.vsize, stat.rss_pages), (1_000_000, 50));
        assert_eq!(parse_stat("42 (truncated"), None);
    }

    #[test]
    fn this_process_and_a_child_match_proc() {
        let me = i64::from(std::process::id());
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .current_dir("/tmp")
            .spawn()
            .expect("sleep starts");
        let child_pid = i64::from(child.id());

        let mine = scan(&by_pid(me));
        assert_eq!(mine.len(), 1, "pid = N reads one entry");
        let row = &mine[0];
        let exe = std::env::current_exe().expect("exe");
        assert_eq!(
            column(row, "path"),
            Value::Text(exe.to_string_lossy().into_owned())
        );
        let cwd = std::env::current_dir().expect("cwd");
        assert_eq!(
            column(row, "cwd"),
            Value::Text(cwd.to_string_lossy().into_owned())
        );
        // SAFETY: getuid has no preconditions.
        let uid = i64::from(unsafe { libc::getuid() });
        assert_eq!(column(row, "uid"), Value::Int(uid));
        assert_eq!(column(row, "on_disk"), Value::Int(1));

        // The child may still be between fork and exec when spawn returns: poll for its image.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let theirs = loop {
            let rows = scan(&by_pid(child_pid));
            let done = rows
                .first()
                .is_some_and(|r| column(r, "cmdline") == Value::Text("sleep 30".into()));
            if done || std::time::Instant::now() > deadline {
                break rows;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(theirs.len(), 1);
        let row = &theirs[0];
        assert_eq!(column(row, "parent"), Value::Int(me));
        assert_eq!(column(row, "cmdline"), Value::Text("sleep 30".into()));
        assert_eq!(column(row, "cwd"), Value::Text("/tmp".into()));
        assert_eq!(column(row, "name"), Value::Text("sleep".into()));
    }

    #[test]
    fn a_pid_that_does_not_exist_is_no_row_not_an_error() {
        assert!(scan(&by_pid(i64::from(i32::MAX))).is_empty());
    }

    #[test]
    fn a_full_scan_lists_init_and_this_process() {
        let rows = scan(&ScanRequest::default());
        let pids: Vec<Value> = rows.iter().map(|r| r[PID].clone()).collect();
        assert!(pids.contains(&Value::Int(1)));
        assert!(pids.contains(&Value::Int(i64::from(std::process::id()))));
    }
}
