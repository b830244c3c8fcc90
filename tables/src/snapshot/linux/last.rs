//! `last`: logins and logouts recorded in `/var/log/wtmp` (user-process and dead-process
//! records, as osquery reports them), read as records are consumed, up to a byte cap.

use std::io::{BufReader, Read};
use std::path::Path;

use crate::row::table_row;
use crate::table::{Column, Row, Rows, ScanRequest, Table, TableError, Value};

const NAME: &str = "last";
const WTMP: &str = "/var/log/wtmp";
/// About 700,000 records; a host's wtmp is rotated long before.
const MAX_WTMP_BYTES: u64 = 256 * 1024 * 1024;

/// glibc's `struct utmp` on 64-bit Linux (32-bit times, so the layout matches 32-bit
/// programs): the same layout `logged_in_users` reads from utmp.
const RECORD: usize = 384;
const TYPE: usize = 0;
const PID: usize = 4;
const LINE: (usize, usize) = (8, 32);
const USER: (usize, usize) = (44, 32);
const HOST: (usize, usize) = (76, 256);
const TV_SEC: usize = 340;
const USER_PROCESS: i16 = 7;
const DEAD_PROCESS: i16 = 8;

table_row! {
    struct LastRow {
        username: Text,
        tty: Text,
        pid: Integer,
        r#type: Integer,
        type_name: Text,
        time: Integer,
        host: Text,
    }
}

pub struct Last;

impl Table for Last {
    fn name(&self) -> &'static str {
        NAME
    }

    fn columns(&self) -> &'static [Column] {
        LastRow::COLUMNS
    }

    fn scan(&self, _request: &ScanRequest) -> Result<Rows, TableError> {
        Ok(Box::new(records(Path::new(WTMP)).map(Ok)))
    }
}

/// The login and logout rows of a wtmp file, read record by record; a record cut short at the
/// end (being written) is left out.
fn records(path: &Path) -> impl Iterator<Item = Row> {
    let mut reader = match std::fs::File::open(path) {
        Ok(file) => Some(BufReader::new(file.take(MAX_WTMP_BYTES))),
        Err(error) => {
            if error.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(table = NAME, path = %path.display(), %error, "cannot read");
            }
            None
        }
    };
    std::iter::from_fn(move || {
        let reader = reader.as_mut()?;
        let mut record = [0u8; RECORD];
        loop {
            reader.read_exact(&mut record).ok()?;
            if let Some(row) = record_row(&record) {
                return Some(row);
            }
        }
    })
}

fn record_row(record: &[u8]) -> Option<Row> {
    let ut_type = i16::from_ne_bytes(record.get(TYPE..TYPE + 2)?.try_into().ok()?);
    let type_name = match ut_type {
        USER_PROCESS => "user-process",
        DEAD_PROCESS => "dead-process",
        _ => return None,
    };
    let number = |at: usize| -> Option<i32> {
        Some(i32::from_ne_bytes(record.get(at..at + 4)?.try_into().ok()?))
    };
    let text = |(at, len): (usize, usize)| -> Option<String> {
        let field = record.get(at..at + len)?;
        let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
        Some(String::from_utf8_lossy(field.get(..end)?).into_owned())
    };
    Some(
        LastRow {
            username: text(USER)?.into(),
            tty: text(LINE)?.into(),
            pid: Value::from(number(PID)?),
            r#type: Value::from(i32::from(ut_type)),
            type_name: type_name.into(),
            time: Value::from(number(TV_SEC)?),
            host: text(HOST)?.into(),
        }
        .into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(ut_type: i16, pid: i32, line: &str, user: &str, host: &str, sec: i32) -> Vec<u8> {
        let mut rec = vec![0u8; RECORD];
        rec[0..2].copy_from_slice(&ut_type.to_ne_bytes());
        rec[4..8].copy_from_slice(&pid.to_ne_bytes());
        rec[8..8 + line.len()].copy_from_slice(line.as_bytes());
        rec[44..44 + user.len()].copy_from_slice(user.as_bytes());
        rec[76..76 + host.len()].copy_from_slice(host.as_bytes());
        rec[340..344].copy_from_slice(&sec.to_ne_bytes());
        rec
    }

    #[test]
    fn logins_and_logouts_of_a_wtmp_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("wtmp");
        let mut bytes = record(2, 0, "~", "reboot", "6.1.0", 1_700_000_000);
        bytes.extend(record(
            7,
            4242,
            "pts/0",
            "alice",
            "203.0.113.9",
            1_700_000_100,
        ));
        bytes.extend(record(8, 4242, "pts/0", "", "", 1_700_000_200));
        bytes.extend(&record(7, 1, "pts/1", "cut", "", 1)[..100]);
        std::fs::write(&path, bytes).expect("write");
        let rows: Vec<Row> = records(&path).collect();
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[0],
            vec![
                Value::from("alice"),
                Value::from("pts/0"),
                Value::Int(4242),
                Value::Int(7),
                Value::from("user-process"),
                Value::Int(1_700_000_100),
                Value::from("203.0.113.9"),
            ]
        );
        assert_eq!(rows[1][4], Value::from("dead-process"));
        assert_eq!(records(&dir.path().join("missing")).count(), 0);
    }

    #[test]
    fn the_host_records_are_logins_and_logouts() {
        let rows: Vec<Row> = Last
            .scan(&ScanRequest::default())
            .expect("scan")
            .collect::<Result<_, _>>()
            .expect("rows");
        for row in &rows {
            assert!(row[2].as_i64().is_some_and(|p| p >= 0));
            assert!(row[3].as_i64().is_some_and(|t| (7..=8).contains(&t)));
            assert!(row[5].as_i64().is_some_and(|t| t >= 0));
        }
    }
}
