//! `groups`: local groups from `/etc/group`, read as a file so that a query never reaches out to
//! LDAP or other NSS sources.

use std::collections::HashSet;

use crate::row::table_row;
use crate::snapshot::util::{failed, rows};
use crate::table::{Column, Row, Rows, ScanRequest, Table, TableError, Value};

const NAME: &str = "groups";
const GROUP: &str = "/etc/group";

const GID: usize = GroupRow::gid;

table_row! {
    struct GroupRow {
        gid: BigInt,
        gid_signed: BigInt,
        groupname: Text,
    }
}

pub struct Groups;

impl Table for Groups {
    fn name(&self) -> &'static str {
        NAME
    }

    fn columns(&self) -> &'static [Column] {
        GroupRow::COLUMNS
    }

    fn pushdown_columns(&self) -> &'static [usize] {
        &[GID]
    }

    fn scan(&self, request: &ScanRequest) -> Result<Rows, TableError> {
        let content = std::fs::read_to_string(GROUP)
            .map_err(|e| failed(NAME, format!("reading {GROUP}: {e}")))?;
        // A gid that is not a number cannot be matched here; then every group is returned and
        // SQLite decides.
        let wanted: Option<HashSet<i64>> = {
            let values: Vec<&Value> = request.equal_values(GID).collect();
            if values.is_empty() {
                None
            } else {
                values.iter().map(|v| v.as_i64()).collect()
            }
        };
        // Like osquery, the first group of a gid wins: duplicate gids are one group to the kernel.
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for (name, gid) in content.lines().filter_map(parse_line) {
            if wanted
                .as_ref()
                .is_some_and(|w| !w.contains(&i64::from(gid)))
            {
                continue;
            }
            if seen.insert(gid) {
                out.push(row(name, gid));
            }
        }
        Ok(rows(out))
    }
}

fn row(name: &str, gid: u32) -> Row {
    GroupRow {
        gid: gid.into(),
        // Reinterpreting the bits is the point: gid 4294967294 is "nogroup" as -2 elsewhere.
        gid_signed: i64::from(gid as i32).into(),
        groupname: name.into(),
    }
    .into()
}

/// `name:password:gid:members`; NIS `+`/`-` lines and malformed lines are skipped.
fn parse_line(line: &str) -> Option<(&str, u32)> {
    if line.starts_with('#') || line.starts_with('+') || line.starts_with('-') {
        return None;
    }
    let mut fields = line.split(':');
    let name = fields.next().filter(|n| !n.is_empty())?;
    let _password = fields.next()?;
    let gid = fields.next()?.parse().ok()?;
    Some((name, gid))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::{Constraint, ConstraintOp};

    fn scan(request: &ScanRequest) -> Vec<Row> {
        Groups
            .scan(request)
            .expect("scan groups")
            .collect::<Result<_, _>>()
            .expect("groups rows")
    }

    #[test]
    fn every_group_line_is_a_row() {
        let rows = scan(&ScanRequest::default());
        let content = std::fs::read_to_string(GROUP).expect("read /etc/group");
        let mut expected = Vec::new();
        let mut gids = HashSet::new();
        for line in content.lines() {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() >= 3
                && let Ok(gid) = f[2].parse::<i64>()
                && gids.insert(gid)
            {
                expected.push((f[0].to_owned(), gid));
            }
        }
        let got: Vec<(String, i64)> = rows
            .iter()
            .map(|r| {
                (
                    r[2].as_text().expect("groupname").to_owned(),
                    r[0].as_i64().expect("gid"),
                )
            })
            .collect();
        assert_eq!(got, expected);
        assert!(got.contains(&("root".to_owned(), 0)));
    }

    #[test]
    fn gid_constraint_narrows() {
        let request = ScanRequest {
            constraints: vec![Constraint {
                column: GID,
                op: ConstraintOp::Eq,
                value: Value::Int(0),
            }],
            ..Default::default()
        };
        let rows = scan(&request);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0][2], Value::from("root"));
        assert_eq!(rows[0][1], Value::Int(0));
    }

    #[test]
    fn bad_lines_are_skipped() {
        assert_eq!(parse_line("garbage"), None);
        assert_eq!(parse_line("x:x:y:"), None);
        assert_eq!(parse_line("nogroup:x:65534:"), Some(("nogroup", 65534)));
        assert_eq!(row("g", u32::MAX - 1)[1], Value::Int(-2));
    }
}
