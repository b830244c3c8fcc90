//! `user_groups`: which groups each local user is in, as osquery gives it (`getgrouplist`): one
//! row per user and group, the user's primary group from `/etc/passwd` and each group of
//! `/etc/group` that lists the user as a member. Read as files, like `users` and `groups`, so a
//! query never reaches out to LDAP or other NSS sources. `uid = N` reads one user's.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;

use crate::row::table_row;
use crate::snapshot::linux::bounded;
use crate::snapshot::util::rows;
use crate::table::{Column, Row, Rows, ScanRequest, Table, TableError, Value};

const NAME: &str = "user_groups";
const PASSWD: &str = "/etc/passwd";
const GROUP: &str = "/etc/group";

table_row! {
    struct UserGroupRow {
        uid: BigInt,
        gid: BigInt,
    }
}

pub struct UserGroups;

impl Table for UserGroups {
    fn name(&self) -> &'static str {
        NAME
    }

    fn columns(&self) -> &'static [Column] {
        UserGroupRow::COLUMNS
    }

    fn pushdown_columns(&self) -> &'static [usize] {
        &[UserGroupRow::uid]
    }

    fn scan(&self, request: &ScanRequest) -> Result<Rows, TableError> {
        let read = |path: &str| {
            bounded::read_text(NAME, Path::new(path), bounded::MAX_FILE_BYTES).unwrap_or_default()
        };
        // A uid that is not a number cannot be matched here: then every user, and SQLite decides.
        let wanted: Option<HashSet<i64>> = {
            let values: Vec<&Value> = request.equal_values(UserGroupRow::uid).collect();
            if values.is_empty() {
                None
            } else {
                values.iter().map(|v| v.as_i64()).collect()
            }
        };
        Ok(rows(memberships(
            &read(PASSWD),
            &read(GROUP),
            wanted.as_ref(),
        )))
    }
}

/// The `(uid, gid)` rows of the users of `passwd` (those `wanted`, or all) and the groups of
/// `group`.
fn memberships(passwd: &str, group: &str, wanted: Option<&HashSet<i64>>) -> Vec<Row> {
    // User name to the gids of the groups listing it.
    let mut member_of: HashMap<&str, BTreeSet<u32>> = HashMap::new();
    for line in group.lines().filter(|l| !l.starts_with(['#', '+', '-'])) {
        let fields: Vec<&str> = line.split(':').collect();
        let (Some(gid), Some(members)) =
            (fields.get(2).and_then(|g| g.parse().ok()), fields.get(3))
        else {
            continue;
        };
        for member in members.split(',').map(str::trim).filter(|m| !m.is_empty()) {
            member_of.entry(member).or_default().insert(gid);
        }
    }
    let mut seen_users = HashSet::new();
    let mut out = Vec::new();
    for line in passwd.lines().filter(|l| !l.starts_with(['#', '+', '-'])) {
        let fields: Vec<&str> = line.split(':').collect();
        let (Some(name), Some(uid), Some(gid)) = (
            fields.first().filter(|n| !n.is_empty()),
            fields.get(2).and_then(|u| u.parse::<u32>().ok()),
            fields.get(3).and_then(|g| g.parse::<u32>().ok()),
        ) else {
            continue;
        };
        if wanted.is_some_and(|w| !w.contains(&i64::from(uid))) || !seen_users.insert(*name) {
            continue;
        }
        let mut gids = vec![gid];
        gids.extend(
            member_of
                .get(name)
                .into_iter()
                .flatten()
                .filter(|&&g| g != gid),
        );
        out.extend(gids.into_iter().map(|gid| {
            Row::from(UserGroupRow {
                uid: uid.into(),
                gid: gid.into(),
            })
        }));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(rows: &[Row]) -> Vec<(Value, Value)> {
        rows.iter()
            .map(|r| (r[UserGroupRow::uid].clone(), r[UserGroupRow::gid].clone()))
            .collect()
    }

    #[test]
    fn primary_group_then_the_groups_listing_the_user() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/sh\n\
                      +nis:x:::::\nbroken line\n";
        let group = "root:x:0:\nsudo:x:27:alice\nalice:x:1000:\ndocker:x:999:bob, alice\n";
        let all = memberships(passwd, group, None);
        let int = |v: i64| Value::Int(v);
        assert_eq!(
            pairs(&all),
            [
                (int(0), int(0)),
                (int(1000), int(1000)),
                (int(1000), int(27)),
                (int(1000), int(999)),
            ]
        );
        let alice_only = memberships(passwd, group, Some(&HashSet::from([1000])));
        assert_eq!(alice_only.len(), 3);
    }

    #[test]
    fn the_host_has_root_in_group_0() {
        let rows: Vec<Row> = UserGroups
            .scan(&ScanRequest::default())
            .expect("scan")
            .collect::<Result<_, _>>()
            .expect("rows");
        assert!(pairs(&rows).contains(&(Value::Int(0), Value::Int(0))));
    }
}
