//! `memory_info`: main memory and swap in bytes, from `/proc/meminfo` (kB there).

use crate::row::table_row;
use crate::snapshot::util::{failed, rows};
use crate::table::{Column, Rows, ScanRequest, Table, TableError, Value};

const NAME: &str = "memory_info";
const MEMINFO: &str = "/proc/meminfo";

table_row! {
    struct MemoryInfoRow {
        memory_total: BigInt,
        memory_free: BigInt,
        memory_available: BigInt,
        buffers: BigInt,
        cached: BigInt,
        swap_cached: BigInt,
        active: BigInt,
        inactive: BigInt,
        swap_total: BigInt,
        swap_free: BigInt,
    }
}

pub struct MemoryInfo;

impl Table for MemoryInfo {
    fn name(&self) -> &'static str {
        NAME
    }

    fn columns(&self) -> &'static [Column] {
        MemoryInfoRow::COLUMNS
    }

    fn scan(&self, _request: &ScanRequest) -> Result<Rows, TableError> {
        let text = std::fs::read_to_string(MEMINFO)
            .map_err(|e| failed(NAME, format!("reading {MEMINFO}: {e}")))?;
        Ok(rows(vec![row(&text).into()]))
    }
}

/// The row for a `/proc/meminfo` text; a field the kernel does not give is NULL.
fn row(meminfo: &str) -> MemoryInfoRow {
    let bytes = |key: &str| -> Value {
        meminfo
            .lines()
            .find_map(|line| {
                let (name, rest) = line.split_once(':')?;
                (name == key).then_some(rest)
            })
            .and_then(|rest| rest.split_whitespace().next()?.parse::<i64>().ok())
            .map_or(Value::Null, |kib| Value::Int(kib.saturating_mul(1024)))
    };
    MemoryInfoRow {
        memory_total: bytes("MemTotal"),
        memory_free: bytes("MemFree"),
        memory_available: bytes("MemAvailable"),
        buffers: bytes("Buffers"),
        cached: bytes("Cached"),
        swap_cached: bytes("SwapCached"),
        active: bytes("Active"),
        inactive: bytes("Inactive"),
        swap_total: bytes("SwapTotal"),
        swap_free: bytes("SwapFree"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::Row;

    #[test]
    fn kib_become_bytes() {
        let row = row(
            "MemTotal:       24576000 kB\nMemFree:  100 kB\nActive(anon): 5 kB\nActive: 7 kB\n",
        );
        assert_eq!(row.memory_total, Value::Int(24_576_000 * 1024));
        assert_eq!(row.memory_free, Value::Int(102_400));
        assert_eq!(row.active, Value::Int(7 * 1024));
        assert_eq!(row.swap_total, Value::Null);
    }

    #[test]
    fn the_host_row_is_consistent() {
        let rows: Vec<Row> = MemoryInfo
            .scan(&ScanRequest::default())
            .expect("scan")
            .collect::<Result<_, _>>()
            .expect("rows");
        assert_eq!(rows.len(), 1);
        let value = |i: usize| rows[0][i].as_i64().expect("a number");
        let total = value(MemoryInfoRow::memory_total);
        assert!(total > 0);
        for column in [
            MemoryInfoRow::memory_free,
            MemoryInfoRow::memory_available,
            MemoryInfoRow::cached,
            MemoryInfoRow::active,
        ] {
            let v = value(column);
            assert!((0..=total).contains(&v), "column {column}: {v} of {total}");
        }
        assert!(value(MemoryInfoRow::swap_free) <= value(MemoryInfoRow::swap_total));
    }
}
