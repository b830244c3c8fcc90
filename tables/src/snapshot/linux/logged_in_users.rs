//! `logged_in_users`: the login records in utmp, parsed from the file rather than through glibc's
//! `getutxent`, whose state is process-global and not thread-safe.

use crate::row::table_row;
use crate::snapshot::util::{failed, rows};
use crate::table::{Column, Row, Rows, ScanRequest, Table, TableError};

const NAME: &str = "logged_in_users";
const UTMP: &str = "/var/run/utmp";

table_row! {
    struct LoginRow {
        r#type: Text,
        user: Text,
        tty: Text,
        host: Text,
        time: BigInt,
        pid: Integer,
    }
}

/// glibc's `struct utmp` on 64-bit Linux, which keeps 32-bit times so the file layout matches
/// 32-bit programs.
const RECORD: usize = 384;
const TYPE: usize = 0;
const PID: usize = 4;
const LINE: (usize, usize) = (8, 32);
const USER: (usize, usize) = (44, 32);
const HOST: (usize, usize) = (76, 256);
const TV_SEC: usize = 340;

pub struct LoggedInUsers;

impl Table for LoggedInUsers {
    fn name(&self) -> &'static str {
        NAME
    }

    fn columns(&self) -> &'static [Column] {
        LoginRow::COLUMNS
    }

    fn scan(&self, _request: &ScanRequest) -> Result<Rows, TableError> {
        let data = match std::fs::read(UTMP) {
            Ok(data) => data,
            // No utmp (containers, systems without a login manager): nobody is logged in.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(failed(NAME, format!("reading {UTMP}: {e}"))),
        };
        Ok(rows(parse(&data)))
    }
}

/// Whole records only: a record being written while we read leaves a short tail, skipped.
fn parse(data: &[u8]) -> Vec<Row> {
    data.chunks_exact(RECORD).filter_map(record).collect()
}

fn record(rec: &[u8]) -> Option<Row> {
    let ut_type = i16::from_ne_bytes(rec.get(TYPE..TYPE + 2)?.try_into().ok()?);
    let pid = read_i32(rec, PID)?;
    // osquery leaves out records written by init itself; the same rows stay out here so that
    // queries count the same logins.
    if pid == 1 {
        return None;
    }
    let tv_sec = read_i32(rec, TV_SEC)?;
    let row = LoginRow {
        r#type: type_name(ut_type).into(),
        user: text(rec, USER)?.into(),
        tty: text(rec, LINE)?.into(),
        host: text(rec, HOST)?.into(),
        time: i64::from(tv_sec).into(),
        pid: pid.into(),
    };
    Some(row.into())
}

fn read_i32(rec: &[u8], at: usize) -> Option<i32> {
    Some(i32::from_ne_bytes(rec.get(at..at + 4)?.try_into().ok()?))
}

/// A fixed-size field: NUL-terminated unless it fills the whole field.
fn text(rec: &[u8], (at, len): (usize, usize)) -> Option<String> {
    let field = rec.get(at..at + len)?;
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    Some(String::from_utf8_lossy(&field[..end]).into_owned())
}

/// osquery's names for `ut_type` values (`<utmp.h>`).
fn type_name(ut_type: i16) -> &'static str {
    match ut_type {
        0 => "empty",
        1 => "runlevel",
        2 => "boot_time",
        3 => "new_time",
        4 => "old_time",
        5 => "init",
        6 => "login",
        7 => "user",
        8 => "dead",
        9 => "accounting",
        _ => "unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::{Value, row_mismatch};

    fn build(ut_type: i16, pid: i32, line: &str, user: &str, host: &str, sec: i32) -> Vec<u8> {
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
    fn scan_matches_utmp_on_this_host() {
        let rows: Vec<Row> = LoggedInUsers
            .scan(&ScanRequest::default())
            .expect("scan logged_in_users")
            .collect::<Result<_, _>>()
            .expect("logged_in_users rows");
        // Counted independently: whole records whose pid field is not 1.
        let expected = std::fs::read(UTMP).map_or(0, |data| {
            data.chunks_exact(384)
                .filter(|r| r[4..8] != 1i32.to_ne_bytes())
                .count()
        });
        assert_eq!(rows.len(), expected);
    }

    #[test]
    fn parses_records_and_skips_init_and_tails() {
        let mut data = build(7, 4242, "pts/0", "alice", "10.0.0.5", 1_700_000_000);
        data.extend(build(2, 1, "~", "reboot", "6.18.0", 1_600_000_000));
        data.extend(build(6, 77, "tty1", "LOGIN", "", 5));
        // A full-width user name has no terminating NUL.
        data.extend(build(42, 9, "x", &"u".repeat(32), "", 0));
        data.extend([0u8; 100]);
        let rows = parse(&data);
        assert_eq!(rows.len(), 3);
        for row in &rows {
            assert_eq!(row_mismatch(LoginRow::COLUMNS, row), None);
        }
        assert_eq!(
            rows[0],
            vec![
                Value::from("user"),
                Value::from("alice"),
                Value::from("pts/0"),
                Value::from("10.0.0.5"),
                Value::Int(1_700_000_000),
                Value::Int(4242),
            ]
        );
        assert_eq!(rows[1][0], Value::from("login"));
        assert_eq!(rows[1][1], Value::from("LOGIN"));
        assert_eq!(rows[2][0], Value::from("unknown"));
        assert_eq!(rows[2][1], Value::Text("u".repeat(32)));
    }
}
