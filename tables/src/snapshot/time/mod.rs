//! `time`: the current date and time in UTC, and the name of the local time zone.

#[cfg_attr(unix, path = "unix.rs")]
#[cfg_attr(windows, path = "windows.rs")]
mod clock;

use crate::row::table_row;
use crate::snapshot::util::{failed, rows};
use crate::table::{Column, Row, Rows, ScanRequest, Table, TableError};

const NAME: &str = "time";

table_row! {
    struct TimeRow {
        weekday: Text,
        year: Integer,
        month: Integer,
        day: Integer,
        hour: Integer,
        minutes: Integer,
        seconds: Integer,
        timezone: Text,
        local_timezone: Text,
        unix_time: Integer,
        timestamp: Text,
        datetime: Text,
        iso_8601: Text,
    }
}

const WEEKDAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

pub struct Time;

impl Table for Time {
    fn name(&self) -> &'static str {
        NAME
    }

    fn columns(&self) -> &'static [Column] {
        TimeRow::COLUMNS
    }

    fn scan(&self, _request: &ScanRequest) -> Result<Rows, TableError> {
        let now = clock::now();
        let utc = clock::utc(now).map_err(|message| failed(NAME, message))?;
        let local_timezone = clock::local_timezone(now).unwrap_or_else(|| "UTC".to_owned());
        row(now, &utc, local_timezone)
            .map(|r| rows(vec![r]))
            .ok_or_else(|| failed(NAME, "the calendar fields are out of range"))
    }
}

/// `unix_time` as osquery writes times in its logs (`calendarTime`) and in `time.timestamp`.
pub fn calendar_time(unix_time: i64) -> Option<String> {
    asctime(&clock::utc(unix_time).ok()?)
}

/// asctime's layout (day padded with a space), trimmed, with " UTC": osquery's log format.
fn asctime(utc: &libc::tm) -> Option<String> {
    let weekday = *WEEKDAYS.get(usize::try_from(utc.tm_wday).ok()?)?;
    let month_name = *MONTHS.get(usize::try_from(utc.tm_mon).ok()?)?;
    let year = i64::from(utc.tm_year) + 1900;
    let (day, hour, minute, second) = (utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec);
    Some(format!(
        "{} {month_name} {day:2} {hour:02}:{minute:02}:{second:02} {year} UTC",
        weekday.get(..3)?
    ))
}

fn row(now: i64, utc: &libc::tm, local_timezone: String) -> Option<Row> {
    let weekday = *WEEKDAYS.get(usize::try_from(utc.tm_wday).ok()?)?;
    let year = i64::from(utc.tm_year) + 1900;
    let (month, day) = (utc.tm_mon + 1, utc.tm_mday);
    let (hour, minute, second) = (utc.tm_hour, utc.tm_min, utc.tm_sec);
    let iso = format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z");
    let timestamp = asctime(utc)?;
    let row = TimeRow {
        weekday: weekday.into(),
        year: year.into(),
        month: month.into(),
        day: day.into(),
        hour: hour.into(),
        minutes: minute.into(),
        seconds: second.into(),
        timezone: "UTC".into(),
        local_timezone: local_timezone.into(),
        unix_time: now.into(),
        timestamp: timestamp.into(),
        datetime: iso.clone().into(),
        iso_8601: iso.into(),
    };
    Some(row.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::Value;
    use std::time::{SystemTime, UNIX_EPOCH};

    /// Days since the epoch to a (year, month, day), by Howard Hinnant's civil_from_days.
    fn civil(days: i64) -> (i64, i64, i64) {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        let y = yoe + era * 400 + i64::from(m <= 2);
        (y, m, d)
    }

    #[test]
    fn matches_the_system_clock() {
        let rows: Vec<Row> = Time
            .scan(&ScanRequest::default())
            .expect("scan time")
            .collect::<Result<_, _>>()
            .expect("time rows");
        assert_eq!(rows.len(), 1);
        let row = &rows[0];
        assert_eq!(row.len(), TimeRow::COLUMNS.len());
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .expect("after the epoch")
            .as_secs();
        let unix = row[9].as_i64().expect("unix_time");
        let now = i64::try_from(now).expect("seconds fit");
        assert!((unix - now).abs() <= 5, "{unix} vs {now}");

        // Every calendar column follows from unix_time.
        let (y, m, d) = civil(unix.div_euclid(86_400));
        let secs = unix.rem_euclid(86_400);
        assert_eq!(row[1], Value::Int(y));
        assert_eq!(row[2], Value::Int(m));
        assert_eq!(row[3], Value::Int(d));
        assert_eq!(row[4], Value::Int(secs / 3600));
        assert_eq!(row[5], Value::Int(secs / 60 % 60));
        assert_eq!(row[6], Value::Int(secs % 60));
        // 1970-01-01 was a Thursday.
        let weekday = WEEKDAYS[usize::try_from((unix.div_euclid(86_400) + 4) % 7).expect("0..7")];
        assert_eq!(row[0], Value::from(weekday));
        let iso = format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        );
        assert_eq!(row[11], Value::Text(iso.clone()));
        assert_eq!(row[12], Value::Text(iso));
        assert_eq!(row[7], Value::from("UTC"));
        assert!(!row[8].as_text().expect("local_timezone").is_empty());
        let timestamp = row[10].as_text().expect("timestamp");
        assert!(timestamp.starts_with(&weekday[..3]) && timestamp.ends_with(&format!("{y} UTC")));
    }

    #[test]
    fn formats_like_osquery() {
        let t: libc::time_t = 1_704_164_645; // 2024-01-02T03:04:05Z, a Tuesday.
        let tm = clock::utc(t).expect("gmtime_r");
        let row = row(1_704_164_645, &tm, "CET".to_owned()).expect("a row");
        assert_eq!(row[0], Value::from("Tuesday"));
        assert_eq!(row[8], Value::from("CET"));
        assert_eq!(row[10], Value::from("Tue Jan  2 03:04:05 2024 UTC"));
        assert_eq!(row[11], Value::from("2024-01-02T03:04:05Z"));
    }
}
