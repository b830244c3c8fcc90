//! `uptime`: time since boot from `/proc/uptime`, which counts suspended time too, as osquery's
//! Linux table does.

use crate::row::table_row;
use crate::snapshot::util::{failed, rows};
use crate::table::{Column, Row, Rows, ScanRequest, Table, TableError};

const NAME: &str = "uptime";
const UPTIME: &str = "/proc/uptime";

table_row! {
    struct UptimeRow {
        days: Integer,
        hours: Integer,
        minutes: Integer,
        seconds: Integer,
        total_seconds: BigInt,
    }
}

pub struct Uptime;

impl Table for Uptime {
    fn name(&self) -> &'static str {
        NAME
    }

    fn columns(&self) -> &'static [Column] {
        UptimeRow::COLUMNS
    }

    fn scan(&self, _request: &ScanRequest) -> Result<Rows, TableError> {
        let content = std::fs::read_to_string(UPTIME)
            .map_err(|e| failed(NAME, format!("reading {UPTIME}: {e}")))?;
        let total = parse(&content)
            .ok_or_else(|| failed(NAME, format!("unexpected {UPTIME}: {content:?}")))?;
        Ok(rows(vec![row(total)]))
    }
}

/// Whole seconds from the first field (`"3081.99 2257.15"`).
fn parse(content: &str) -> Option<i64> {
    let first = content.split_whitespace().next()?;
    let whole = first.split('.').next()?;
    whole.parse().ok().filter(|s: &i64| *s >= 0)
}

fn row(total: i64) -> Row {
    UptimeRow {
        days: (total / 86_400).into(),
        hours: (total / 3_600 % 24).into(),
        minutes: (total / 60 % 60).into(),
        seconds: (total % 60).into(),
        total_seconds: total.into(),
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::Value;

    #[test]
    fn total_is_close_to_proc_uptime() {
        let before: f64 = std::fs::read_to_string(UPTIME)
            .expect("read /proc/uptime")
            .split_whitespace()
            .next()
            .and_then(|v| v.parse().ok())
            .expect("uptime seconds");
        let rows: Vec<Row> = Uptime
            .scan(&ScanRequest::default())
            .expect("scan uptime")
            .collect::<Result<_, _>>()
            .expect("uptime rows");
        assert_eq!(rows.len(), 1);
        let total = rows[0][4].as_i64().expect("total_seconds");
        assert!((total as f64 - before).abs() < 5.0, "{total} vs {before}");
        let parts: Vec<i64> = rows[0][..4]
            .iter()
            .map(|v| v.as_i64().expect("a number"))
            .collect();
        assert_eq!(
            parts[0] * 86_400 + parts[1] * 3_600 + parts[2] * 60 + parts[3],
            total
        );
    }

    #[test]
    fn splits_into_units() {
        assert_eq!(parse("93784.56 1.0\n"), Some(93_784));
        assert_eq!(parse(""), None);
        assert_eq!(parse("x y"), None);
        assert_eq!(
            row(93_784),
            vec![
                Value::Int(1),
                Value::Int(2),
                Value::Int(3),
                Value::Int(4),
                Value::Int(93_784),
            ]
        );
    }
}
