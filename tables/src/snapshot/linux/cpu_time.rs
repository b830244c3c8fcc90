//! `cpu_time`: per core, the time spent in each mode since boot, from `/proc/stat`'s `cpuN`
//! lines, in the kernel's `USER_HZ` ticks as osquery reports them.

use crate::row::table_row;
use crate::snapshot::util::{failed, rows};
use crate::table::{Column, Row, Rows, ScanRequest, Table, TableError, Value};

const NAME: &str = "cpu_time";
const STAT: &str = "/proc/stat";

table_row! {
    struct CpuTimeRow {
        core: Integer,
        user: BigInt,
        nice: BigInt,
        system: BigInt,
        idle: BigInt,
        iowait: BigInt,
        irq: BigInt,
        softirq: BigInt,
        steal: BigInt,
        guest: BigInt,
        guest_nice: BigInt,
    }
}

pub struct CpuTime;

impl Table for CpuTime {
    fn name(&self) -> &'static str {
        NAME
    }

    fn columns(&self) -> &'static [Column] {
        CpuTimeRow::COLUMNS
    }

    fn scan(&self, _request: &ScanRequest) -> Result<Rows, TableError> {
        let text = std::fs::read_to_string(STAT)
            .map_err(|e| failed(NAME, format!("reading {STAT}: {e}")))?;
        Ok(rows(text.lines().filter_map(core_line).collect()))
    }
}

/// A `cpuN user nice system idle iowait irq softirq [steal guest guest_nice]` line; the
/// all-cores `cpu` line and other lines give `None`. Fields older kernels lack are 0.
fn core_line(line: &str) -> Option<Row> {
    let mut words = line.split_whitespace();
    let core: i64 = words.next()?.strip_prefix("cpu")?.parse().ok()?;
    let ticks: Vec<i64> = words.map_while(|w| w.parse().ok()).collect();
    if ticks.len() < 7 {
        return None;
    }
    let tick = |i: usize| Value::Int(ticks.get(i).copied().unwrap_or(0));
    Some(
        CpuTimeRow {
            core: core.into(),
            user: tick(0),
            nice: tick(1),
            system: tick(2),
            idle: tick(3),
            iowait: tick(4),
            irq: tick(5),
            softirq: tick(6),
            steal: tick(7),
            guest: tick(8),
            guest_nice: tick(9),
        }
        .into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_lines_only() {
        assert_eq!(core_line("cpu  10 0 5 100 1 0 0 0 0 0"), None);
        assert_eq!(core_line("intr 12345 0"), None);
        assert_eq!(core_line("cpu3 1 2 3"), None);
        let row = core_line("cpu1 4705 356 584 3699 23 0 23 0 0 0").expect("a core");
        assert_eq!(row[CpuTimeRow::core], Value::Int(1));
        assert_eq!(row[CpuTimeRow::idle], Value::Int(3699));
        let old = core_line("cpu0 1 2 3 4 5 6 7").expect("a 2.6.0 line");
        assert_eq!(old[CpuTimeRow::guest_nice], Value::Int(0));
    }

    #[test]
    fn one_row_per_online_core() {
        let rows: Vec<Row> = CpuTime
            .scan(&ScanRequest::default())
            .expect("scan")
            .collect::<Result<_, _>>()
            .expect("rows");
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        assert!(rows.len() >= cores, "{} rows for {cores} cores", rows.len());
        for (i, row) in rows.iter().enumerate() {
            assert!(row[CpuTimeRow::core].as_i64().is_some_and(|c| c >= 0));
            assert!(
                row[1..].iter().all(|v| v.as_i64().is_some_and(|t| t >= 0)),
                "row {i}"
            );
        }
    }
}
