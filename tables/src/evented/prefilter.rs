//! `path LIKE '%curl%'` on a text column the store keeps verbatim
//! (a path, a command line) are first tried against each row's stored bytes: a row whose bytes
//! lack a literal part of the pattern cannot match, and is skipped before it is decoded. SQLite
//! still checks every row it gets (the constraint is not omitted), so this only ever skips rows
//! that would not match, never admits one.
//!
//! A literal part is a run of ASCII characters of the pattern without `LIKE`'s wildcards, compared
//! ignoring ASCII case (`LIKE`'s default; a case-sensitive `LIKE` or `=` matches a subset of what
//! this admits). A stored string is its UTF-8 bytes as the column shows them, so the literal is
//! there in the same bytes; non-ASCII characters end a run rather than being compared, so a
//! damaged string, shown with U+FFFD, is never skipped wrongly.

use memchr::memchr2;

use vigil_events::store::StoredPage;

use crate::table::{Constraint, ConstraintOp, Value};

/// The literal each row must contain, one per usable constraint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPrefilter {
    /// Lower-case ASCII, none empty.
    needles: Vec<Vec<u8>>,
}

impl StoredPrefilter {
    /// The prefilter for the `LIKE` constraints among `constraints` on the `verbatim`
    /// columns, or `None` when none of them gives a literal to look for.
    pub fn new(constraints: &[Constraint], verbatim: &[usize]) -> Option<Self> {
        let needles: Vec<Vec<u8>> = constraints
            .iter()
            .filter(|c| verbatim.contains(&c.column))
            .filter_map(|c| match (&c.op, &c.value) {
                (ConstraintOp::Like, Value::Text(pattern)) => longest_run(pattern.as_bytes()),
                // Not `=`: SQLite hands it down whatever its collation, and under RTRIM or
                // vigil's `version` collations equal strings need not share their bytes.
                _ => None,
            })
            .map(|run| run.to_ascii_lowercase())
            .collect();
        (!needles.is_empty()).then_some(Self { needles })
    }

    /// Whether a row stored as `stored` may satisfy the constraints (false: it cannot): what
    /// `page_candidates` says of each row of a page.
    #[cfg(test)]
    pub fn may_match(&self, stored: &[u8]) -> bool {
        self.needles
            .iter()
            .all(|needle| contains_ignoring_ascii_case(stored, needle))
    }

    /// For each row of `page`, whether it may satisfy the constraints, into `out`: one search
    /// through the page's values instead of one per row. A literal found across two rows marks
    /// the first (a row kept for SQLite to check); one inside a row always marks it.
    pub fn page_candidates(&self, page: &StoredPage, out: &mut Vec<bool>) {
        out.clear();
        out.resize(page.len(), true);
        let mut found = vec![false; page.len()];
        for needle in &self.needles {
            found.iter_mut().for_each(|f| *f = false);
            for_each_match(page.values(), needle, |offset| {
                if let Some(row) = page.row_at(offset) {
                    found[row] = true;
                }
            });
            for (keep, found) in out.iter_mut().zip(&found) {
                *keep &= *found;
            }
        }
    }
}

/// The longest run of ASCII bytes in a `LIKE` pattern that are not its wildcards (`%`, `_`).
fn longest_run(text: &[u8]) -> Option<&[u8]> {
    text.split(|&b| !b.is_ascii() || b == b'%' || b == b'_')
        .max_by_key(|run| run.len())
        .filter(|run| !run.is_empty())
}

/// `haystack` contains `needle` (lower-case ASCII, not empty) ignoring ASCII case.
#[cfg(test)]
fn contains_ignoring_ascii_case(haystack: &[u8], needle: &[u8]) -> bool {
    let mut found = false;
    for_each_match_while(haystack, needle, |_| {
        found = true;
        false
    });
    found
}

/// Calls `on_match` with the offset of each place `needle` (lower-case ASCII) starts in
/// `haystack`, ignoring ASCII case.
fn for_each_match(haystack: &[u8], needle: &[u8], mut on_match: impl FnMut(usize)) {
    for_each_match_while(haystack, needle, |offset| {
        on_match(offset);
        true
    });
}

/// As `for_each_match`, until `on_match` returns false.
fn for_each_match_while(haystack: &[u8], needle: &[u8], mut on_match: impl FnMut(usize) -> bool) {
    let Some((&first, rest)) = needle.split_first() else {
        return;
    };
    let mut from = 0;
    while let Some(offset) = haystack
        .get(from..)
        .and_then(|h| memchr2(first, first.to_ascii_uppercase(), h))
    {
        let start = from + offset;
        let after = start + 1;
        match haystack.get(after..after + rest.len()) {
            Some(candidate) if candidate.eq_ignore_ascii_case(rest) => {
                if !on_match(start) {
                    return;
                }
            }
            Some(_) => {}
            None => return,
        }
        from = after;
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use rusqlite::Connection;

    use super::*;

    const PATH: usize = 3;

    fn like(pattern: &str) -> Constraint {
        Constraint {
            column: PATH,
            op: ConstraintOp::Like,
            value: Value::Text(pattern.into()),
        }
    }

    fn prefilter(constraints: &[Constraint]) -> Option<StoredPrefilter> {
        StoredPrefilter::new(constraints, &[PATH])
    }

    #[test]
    fn the_longest_literal_run_of_a_pattern_is_looked_for_ignoring_case() {
        let filter = prefilter(&[like("%/BIN/cur_l%")]).expect("a literal");
        assert_eq!(filter.needles, vec![b"/bin/cur".to_vec()]);
        assert!(filter.may_match(b"\x05/usr/bin/curl\x00"));
        assert!(filter.may_match(b"/USR/Bin/Cur"));
        assert!(!filter.may_match(b"/usr/sbin/wget"));
        assert!(
            !filter.may_match(b"/bin/cu"),
            "a needle cut by the row's end"
        );
    }

    #[test]
    fn constraints_that_give_no_literal_filter_nothing() {
        assert_eq!(prefilter(&[like("%%_%")]), None);
        assert_eq!(prefilter(&[like("%é%")]), None, "non-ASCII is not compared");
        let other_column = Constraint {
            column: PATH + 1,
            ..like("%curl%")
        };
        assert_eq!(prefilter(&[other_column]), None);
        let number = Constraint {
            value: Value::Int(5),
            ..like("")
        };
        assert_eq!(prefilter(&[number]), None);
        let greater = Constraint {
            op: ConstraintOp::Gt,
            ..like("/usr")
        };
        assert_eq!(prefilter(&[greater]), None);
    }

    #[test]
    fn an_equality_filters_nothing_whatever_its_collation_may_equal() {
        let equal = Constraint {
            op: ConstraintOp::Eq,
            ..like("/tmp/a_b%c")
        };
        assert_eq!(prefilter(&[equal]), None);
    }

    #[test]
    fn every_constraint_must_find_its_literal() {
        let filter = prefilter(&[like("%curl%"), like("%/usr/%")]).expect("literals");
        assert!(filter.may_match(b"/usr/bin/curl"));
        assert!(!filter.may_match(b"/opt/bin/curl"));
    }

    /// A page searched as a whole marks exactly the rows that contain the literal, plus a row
    /// where a literal starts that the next row ends: never fewer.
    #[test]
    fn a_page_is_searched_once_and_each_row_marked() {
        use std::sync::Arc;

        use vigil_events::{EventStore, EventTable, TimeRange};

        let dir = tempfile::tempdir().expect("a temporary directory");
        let store = Arc::new(EventStore::open_primary(&dir.path().join("db")).expect("store"));
        let values: Vec<&[u8]> = vec![
            b"/usr/bin/cu",
            b"rl and more",
            b"x/CURL/y",
            b"nothing here",
            b"curl",
        ];
        let rows: Vec<(u64, Vec<u8>)> = values
            .iter()
            .enumerate()
            .map(|(i, v)| (1_000 + i as u64, v.to_vec()))
            .collect();
        store
            .append(EventTable::BpfFileEvents, &rows)
            .expect("append");
        let mut page = StoredPage::default();
        store
            .read_page(
                EventTable::BpfFileEvents,
                (0, 0),
                TimeRange::ALL,
                16,
                &mut page,
            )
            .expect("a page");
        let filter = prefilter(&[like("%curl%")]).expect("a literal");
        let mut candidates = Vec::new();
        filter.page_candidates(&page, &mut candidates);
        assert_eq!(candidates, vec![true, false, true, false, true]);
        for (i, value) in values.iter().enumerate() {
            if filter.may_match(value) {
                assert!(candidates[i], "row {i} holds the literal");
            }
        }
        let none = prefilter(&[like("%curl%"), like("%nothing%")]).expect("literals");
        none.page_candidates(&page, &mut candidates);
        assert_eq!(candidates, vec![false; 5], "no row holds both");
    }

    fn sqlite_like(value: &str, pattern: &str) -> bool {
        let conn = Connection::open_in_memory().expect("SQLite");
        conn.query_row("SELECT ?1 LIKE ?2", [value, pattern], |row| row.get(0))
            .expect("LIKE")
    }

    proptest! {
        /// Never skips a row SQLite's own `LIKE` would keep: whatever the value and pattern
        /// (wildcards, case, non-ASCII), stored as its bytes among other bytes.
        #[test]
        fn never_skips_a_row_sqlite_like_keeps(
            value in "[a-cA-C%_/é\\.]{0,12}",
            pattern in "[a-cA-C%_/é\\.]{0,8}",
            before in proptest::collection::vec(any::<u8>(), 0..8),
            after in proptest::collection::vec(any::<u8>(), 0..8),
        ) {
            if let Some(filter) = prefilter(&[like(&pattern)]) {
                let stored = [before.as_slice(), value.as_bytes(), after.as_slice()].concat();
                if sqlite_like(&value, &pattern) {
                    prop_assert!(filter.may_match(&stored), "{value:?} LIKE {pattern:?}");
                }
            }
        }
    }
}
