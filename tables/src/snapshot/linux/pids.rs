//! Which processes a per-process table reads: those a `pid = N` / `pid IN (...)` names, or every
//! process in `/proc`.

use crate::table::{ScanRequest, Value};

/// The pids `column`'s `=` constraints name, or all of `/proc`'s when there are none.
pub fn requested_pids(request: &ScanRequest, column: usize) -> Vec<i64> {
    if request.equal_values(column).next().is_some() {
        return request
            .equal_values(column)
            .filter_map(Value::as_i64)
            .filter(|&pid| pid > 0)
            .collect();
    }
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut pids: Vec<i64> = dir
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse().ok()))
        .collect();
    pids.sort_unstable();
    pids
}
