//! The local accounts whose home directories per-user tables read (`shell_history`,
//! `authorized_keys`, browser extensions, user-installed packages), from `/etc/passwd` as a
//! file, narrowed to the `uid = N` values a query gives (`users JOIN shell_history USING (uid)`
//! reads one home per user row).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::snapshot::linux::bounded;
use crate::table::{ScanRequest, Value};

const PASSWD: &str = "/etc/passwd";

/// A local account with a home directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    pub uid: u32,
    pub name: String,
    pub home: PathBuf,
}

/// The accounts with a home directory, each home once (system accounts often share `/` or
/// `/nonexistent`: those are left out), narrowed to `uid_column`'s `=` values when a query
/// gives any.
pub fn accounts(table: &str, request: &ScanRequest, uid_column: usize) -> Vec<Account> {
    let wanted: Option<HashSet<i64>> = {
        let values: Vec<&Value> = request.equal_values(uid_column).collect();
        if values.is_empty() {
            None
        } else {
            Some(values.into_iter().filter_map(Value::as_i64).collect())
        }
    };
    let text =
        bounded::read_text(table, PASSWD.as_ref(), bounded::MAX_FILE_BYTES).unwrap_or_default();
    let mut seen_homes = HashSet::new();
    parse_passwd(&text)
        .into_iter()
        .filter(|a| {
            wanted
                .as_ref()
                .is_none_or(|w| w.contains(&i64::from(a.uid)))
        })
        .filter(|a| a.home.is_absolute() && a.home != Path::new("/"))
        .filter(|a| seen_homes.insert(a.home.clone()))
        .collect()
}

/// `name:password:uid:gid:gecos:home:shell` lines; others skipped.
fn parse_passwd(text: &str) -> Vec<Account> {
    text.lines()
        .filter(|l| !l.starts_with(['#', '+', '-']))
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            let name = fields.first().filter(|n| !n.is_empty())?;
            Some(Account {
                uid: fields.get(2)?.parse().ok()?,
                name: (*name).to_owned(),
                home: PathBuf::from(fields.get(5)?),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::{Constraint, ConstraintOp};

    #[test]
    fn passwd_lines() {
        let accounts = parse_passwd(
            "root:x:0:0:root:/root:/bin/bash\nbad\n+nis\nalice:x:1000:1000::/home/alice:/bin/zsh\nx:x:y:0::/h:\n",
        );
        assert_eq!(
            accounts,
            [
                Account {
                    uid: 0,
                    name: "root".into(),
                    home: "/root".into()
                },
                Account {
                    uid: 1000,
                    name: "alice".into(),
                    home: "/home/alice".into()
                }
            ]
        );
    }

    #[test]
    fn the_host_has_root_and_a_uid_narrows() {
        let all = accounts("t", &ScanRequest::default(), 0);
        assert!(
            all.iter()
                .any(|a| a.uid == 0 && a.home == Path::new("/root"))
        );
        let request = ScanRequest {
            constraints: vec![Constraint {
                column: 0,
                op: ConstraintOp::Eq,
                value: Value::Int(0),
            }],
            ..ScanRequest::default()
        };
        let root = accounts("t", &request, 0);
        assert!(root.iter().all(|a| a.uid == 0));
        assert!(!root.is_empty());
    }
}
