//! `users`: local accounts from `/etc/passwd`, read as a file so that a query never reaches out to
//! LDAP or other NSS sources.

use std::collections::HashSet;

use crate::row::table_row;
use crate::snapshot::util::{failed, rows};
use crate::table::{Column, Row, Rows, ScanRequest, Table, TableError, Value};

const NAME: &str = "users";
const PASSWD: &str = "/etc/passwd";

const UID: usize = UserRow::uid;
const USERNAME: usize = UserRow::username;

table_row! {
    struct UserRow {
        uid: BigInt,
        gid: BigInt,
        uid_signed: BigInt,
        gid_signed: BigInt,
        username: Text,
        description: Text,
        directory: Text,
        shell: Text,
        uuid: Text,
    }
}

pub struct Users;

impl Table for Users {
    fn name(&self) -> &'static str {
        NAME
    }

    fn columns(&self) -> &'static [Column] {
        UserRow::COLUMNS
    }

    fn pushdown_columns(&self) -> &'static [usize] {
        &[UID, USERNAME]
    }

    fn scan(&self, request: &ScanRequest) -> Result<Rows, TableError> {
        let content = std::fs::read_to_string(PASSWD)
            .map_err(|e| failed(NAME, format!("reading {PASSWD}: {e}")))?;
        let filter = Filter::from_request(request);
        Ok(rows(
            content
                .lines()
                .filter_map(parse_line)
                .filter(|user| filter.admits(user))
                .map(|user| user.row())
                .collect(),
        ))
    }
}

/// One `/etc/passwd` entry.
struct PasswdEntry<'a> {
    name: &'a str,
    uid: u32,
    gid: u32,
    gecos: &'a str,
    dir: &'a str,
    shell: &'a str,
}

impl PasswdEntry<'_> {
    fn row(&self) -> Row {
        UserRow {
            uid: self.uid.into(),
            gid: self.gid.into(),
            // Reinterpreting the bits is the point: uid 4294967294 is "nobody" as -2 elsewhere.
            uid_signed: i64::from(self.uid as i32).into(),
            gid_signed: i64::from(self.gid as i32).into(),
            username: self.name.into(),
            description: self.gecos.into(),
            directory: self.dir.into(),
            shell: self.shell.into(),
            uuid: "".into(),
        }
        .into()
    }
}

/// `name:password:uid:gid:gecos:dir:shell`; NIS `+`/`-` lines and malformed lines are skipped.
fn parse_line(line: &str) -> Option<PasswdEntry<'_>> {
    if line.starts_with('#') || line.starts_with('+') || line.starts_with('-') {
        return None;
    }
    let mut fields = line.split(':');
    let name = fields.next().filter(|n| !n.is_empty())?;
    let _password = fields.next()?;
    let uid = fields.next()?.parse().ok()?;
    let gid = fields.next()?.parse().ok()?;
    let gecos = fields.next()?;
    let dir = fields.next()?;
    // glibc accepts a line without the shell field and gives an empty shell.
    let shell = fields.next().unwrap_or("");
    Some(PasswdEntry {
        name,
        uid,
        gid,
        gecos,
        dir,
        shell,
    })
}

/// The `uid =` / `username =` values a query named. A value that cannot match a passwd entry as
/// given (a non-numeric uid) disables that narrowing rather than risk dropping a row SQLite
/// would have kept after its own conversion.
struct Filter<'a> {
    uids: Option<HashSet<i64>>,
    names: Option<HashSet<&'a str>>,
}

impl<'a> Filter<'a> {
    fn from_request(request: &'a ScanRequest) -> Self {
        let uids = collect(request.equal_values(UID), Value::as_i64);
        let names = collect(request.equal_values(USERNAME), Value::as_text);
        Self { uids, names }
    }

    fn admits(&self, user: &PasswdEntry<'_>) -> bool {
        self.uids
            .as_ref()
            .is_none_or(|uids| uids.contains(&i64::from(user.uid)))
            && self
                .names
                .as_ref()
                .is_none_or(|names| names.contains(user.name))
    }
}

/// `None` (no narrowing) when there are no values or one cannot be converted.
fn collect<'a, T: Eq + std::hash::Hash>(
    values: impl Iterator<Item = &'a Value>,
    convert: impl Fn(&'a Value) -> Option<T>,
) -> Option<HashSet<T>> {
    let mut set = HashSet::new();
    for value in values {
        set.insert(convert(value)?);
    }
    (!set.is_empty()).then_some(set)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::{Constraint, ConstraintOp};

    fn scan(request: &ScanRequest) -> Vec<Row> {
        Users
            .scan(request)
            .expect("scan users")
            .collect::<Result<_, _>>()
            .expect("users rows")
    }

    /// `/etc/passwd` lines with a name and numeric uid, split independently of the table.
    fn passwd_lines() -> Vec<Vec<String>> {
        std::fs::read_to_string(PASSWD)
            .expect("read /etc/passwd")
            .lines()
            .map(|l| l.split(':').map(str::to_owned).collect::<Vec<_>>())
            .filter(|f| f.len() >= 6 && f[2].parse::<u32>().is_ok() && !f[0].starts_with('#'))
            .collect()
    }

    #[test]
    fn every_passwd_line_is_a_row() {
        let rows = scan(&ScanRequest::default());
        let lines = passwd_lines();
        assert_eq!(rows.len(), lines.len());
        for (row, fields) in rows.iter().zip(&lines) {
            assert_eq!(row.len(), UserRow::COLUMNS.len());
            assert_eq!(row[4], Value::Text(fields[0].clone()));
            assert_eq!(row[0].as_i64(), fields[2].parse().ok());
            assert_eq!(row[1].as_i64(), fields[3].parse().ok());
            assert_eq!(row[6], Value::Text(fields[5].clone()));
        }
        let root = rows
            .iter()
            .find(|r| r[4] == Value::from("root"))
            .expect("a root row");
        assert_eq!(root[0], Value::Int(0));
        assert_eq!(root[2], Value::Int(0));
        assert_eq!(root[6], Value::from("/root"));
    }

    #[test]
    fn uid_constraint_narrows_to_root() {
        let request = ScanRequest {
            constraints: vec![Constraint {
                column: UID,
                op: ConstraintOp::Eq,
                value: Value::Int(0),
            }],
            ..Default::default()
        };
        let rows = scan(&request);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0][4], Value::from("root"));
    }

    #[test]
    fn username_constraint_narrows() {
        let request = ScanRequest {
            constraints: vec![Constraint {
                column: USERNAME,
                op: ConstraintOp::Eq,
                value: Value::from("root"),
            }],
            ..Default::default()
        };
        let rows = scan(&request);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0][0], Value::Int(0));
    }

    #[test]
    fn sql_filters_agree_with_the_scan() {
        let conn = rusqlite::Connection::open_in_memory().expect("sqlite");
        crate::vtab::register(&conn, std::sync::Arc::new(Users)).expect("register users");
        let by_uid: String = conn
            .query_row("SELECT username FROM users WHERE uid = 0", [], |r| r.get(0))
            .expect("root by uid");
        assert_eq!(by_uid, "root");
        let in_list: i64 = conn
            .query_row(
                "SELECT count(*) FROM users WHERE username IN ('root', 'no-such-user-x')",
                [],
                |r| r.get(0),
            )
            .expect("count by username");
        assert_eq!(in_list, 1);
        let all: i64 = conn
            .query_row("SELECT count(*) FROM users", [], |r| r.get(0))
            .expect("count all");
        assert_eq!(usize::try_from(all).ok(), Some(passwd_lines().len()));
    }

    #[test]
    fn bad_lines_are_skipped_and_ids_sign_extend() {
        assert!(parse_line("broken").is_none());
        assert!(parse_line("x:x:notanumber:0:::").is_none());
        assert!(parse_line("+::::::").is_none());
        let nobody = parse_line("nobody:x:4294967294:4294967294:Nobody:/:/sbin/nologin")
            .expect("a valid line");
        let row = nobody.row();
        assert_eq!(row[0], Value::Int(4_294_967_294));
        assert_eq!(row[2], Value::Int(-2));
        assert_eq!(row[3], Value::Int(-2));
    }
}
