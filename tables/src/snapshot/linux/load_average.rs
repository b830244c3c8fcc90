//! `load_average`: the 1, 5 and 15 minute load averages from `/proc/loadavg`, as text like
//! osquery's (`0.150000`).

use crate::row::table_row;
use crate::snapshot::util::{failed, rows};
use crate::table::{Column, Row, Rows, ScanRequest, Table, TableError};

const NAME: &str = "load_average";
const LOADAVG: &str = "/proc/loadavg";

table_row! {
    struct LoadAverageRow {
        period: Text,
        average: Text,
    }
}

pub struct LoadAverage;

impl Table for LoadAverage {
    fn name(&self) -> &'static str {
        NAME
    }

    fn columns(&self) -> &'static [Column] {
        LoadAverageRow::COLUMNS
    }

    fn scan(&self, _request: &ScanRequest) -> Result<Rows, TableError> {
        let text = std::fs::read_to_string(LOADAVG)
            .map_err(|e| failed(NAME, format!("reading {LOADAVG}: {e}")))?;
        let averages =
            parse(&text).ok_or_else(|| failed(NAME, format!("unexpected {LOADAVG}: {text:?}")))?;
        Ok(rows(
            ["1m", "5m", "15m"]
                .into_iter()
                .zip(averages)
                .map(|(period, average)| {
                    Row::from(LoadAverageRow {
                        period: period.into(),
                        average: format!("{average:.6}").into(),
                    })
                })
                .collect(),
        ))
    }
}

/// `0.15 0.10 0.05 1/123 4567`: the first three fields.
fn parse(text: &str) -> Option<[f64; 3]> {
    let mut fields = text.split_whitespace().map(|f| f.parse::<f64>().ok());
    Some([fields.next()??, fields.next()??, fields.next()??])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::Value;

    #[test]
    fn three_periods_with_six_decimals() {
        assert_eq!(parse("0.15 1.00 12.50 2/345 678"), Some([0.15, 1.0, 12.5]));
        assert_eq!(parse("0.15 x"), None);
        let rows: Vec<Row> = LoadAverage
            .scan(&ScanRequest::default())
            .expect("scan")
            .collect::<Result<_, _>>()
            .expect("rows");
        let periods: Vec<_> = rows.iter().map(|r| r[0].clone()).collect();
        assert_eq!(
            periods,
            [Value::from("1m"), Value::from("5m"), Value::from("15m")]
        );
        for row in &rows {
            let average = row[1].as_text().expect("text");
            let (_, decimals) = average.split_once('.').expect("a decimal point");
            assert_eq!(decimals.len(), 6, "{average}");
            assert!(average.parse::<f64>().is_ok_and(|a| a >= 0.0));
        }
    }
}
