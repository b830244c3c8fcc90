//! Scheduled query results as osquery writes them: differences by exact row match, and the
//! event-format, batch-format and snapshot lines.

use serde_json::{Map, Value};

use crate::sql::{Cell, ResultSet};

pub use vigil_state::schedule::ResultRow;

/// Rows as JSON objects; integers and reals become numbers with `numerics`, else strings (the
/// default, as osquery's `--logger_numerics=false`).
pub fn rows_of(result: &ResultSet, numerics: bool) -> Vec<ResultRow> {
    result
        .rows
        .iter()
        .map(|row| {
            result
                .columns
                .iter()
                .zip(row)
                .map(|(name, cell)| {
                    let value = match cell {
                        Cell::Integer(i) if numerics => Value::from(*i),
                        Cell::Real(r) if numerics => Value::from(*r),
                        other => Value::from(other.text()),
                    };
                    (name.clone(), value)
                })
                .collect()
        })
        .collect()
}

#[derive(Debug, Default, PartialEq)]
pub struct Diff {
    pub added: Vec<ResultRow>,
    pub removed: Vec<ResultRow>,
}

impl Diff {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty()
    }
}

/// What changed from `previous` to `current`, rows compared exactly and counted (a row present
/// twice before and once now is removed once).
pub fn diff(previous: &[ResultRow], current: &[ResultRow]) -> Diff {
    let mut unmatched: Vec<&ResultRow> = previous.iter().collect();
    let mut added = Vec::new();
    for row in current {
        match unmatched.iter().position(|p| *p == row) {
            Some(i) => {
                unmatched.swap_remove(i);
            }
            None => added.push(row.clone()),
        }
    }
    Diff {
        added,
        removed: unmatched.into_iter().cloned().collect(),
    }
}

/// What every line of one query run carries.
pub struct LineContext<'a> {
    pub name: &'a str,
    pub host_identifier: &'a str,
    pub unix_time: i64,
    pub epoch: u64,
    pub counter: u64,
    pub numerics: bool,
    pub decorations: &'a ResultRow,
    /// `--decorations_top_level`: decoration columns as top-level keys.
    pub decorations_top_level: bool,
}

/// `asctime` in UTC with " UTC" appended, as osquery's `calendarTime`.
pub fn calendar_time(unix_time: i64) -> String {
    vigil_tables::snapshot::time::calendar_time(unix_time).unwrap_or_default()
}

impl LineContext<'_> {
    /// The fields every line starts with, in osquery's order.
    fn head(&self) -> Map<String, Value> {
        let mut line = Map::new();
        line.insert("name".into(), Value::from(self.name));
        line.insert("hostIdentifier".into(), Value::from(self.host_identifier));
        line.insert(
            "calendarTime".into(),
            Value::from(calendar_time(self.unix_time)),
        );
        line.insert("unixTime".into(), Value::from(self.unix_time));
        line.insert("epoch".into(), Value::from(self.epoch));
        line.insert("counter".into(), Value::from(self.counter));
        line.insert("numerics".into(), Value::from(self.numerics));
        if self.decorations_top_level {
            for (k, v) in self.decorations {
                line.insert(k.clone(), v.clone());
            }
        } else if !self.decorations.is_empty() {
            line.insert(
                "decorations".into(),
                Value::Object(self.decorations.clone()),
            );
        }
        line
    }

    /// Event format: one line per row, removed rows first.
    pub fn event_lines(&self, diff: &Diff) -> Vec<String> {
        let tagged = diff
            .removed
            .iter()
            .map(|r| (r, "removed"))
            .chain(diff.added.iter().map(|r| (r, "added")));
        tagged
            .map(|(row, action)| {
                let mut line = self.head();
                line.insert("columns".into(), Value::Object(row.clone()));
                line.insert("action".into(), Value::from(action));
                Value::Object(line).to_string()
            })
            .collect()
    }

    /// Batch format: one line with `diffResults`.
    pub fn batch_line(&self, diff: &Diff) -> String {
        let mut line = Map::new();
        let rows =
            |rows: &[ResultRow]| Value::Array(rows.iter().cloned().map(Value::Object).collect());
        line.insert(
            "diffResults".into(),
            serde_json::json!({"removed": rows(&diff.removed), "added": rows(&diff.added)}),
        );
        line.extend(self.head());
        Value::Object(line).to_string()
    }

    /// A snapshot with `--logger_snapshot_event_type`: one line per row.
    pub fn snapshot_row_lines(&self, rows: &[ResultRow]) -> Vec<String> {
        rows.iter()
            .map(|row| {
                let mut line = self.head();
                line.insert("columns".into(), Value::Object(row.clone()));
                line.insert("action".into(), Value::from("snapshot"));
                Value::Object(line).to_string()
            })
            .collect()
    }

    /// A snapshot: every row, in one line.
    pub fn snapshot_line(&self, rows: &[ResultRow]) -> String {
        let mut line = Map::new();
        line.insert(
            "snapshot".into(),
            Value::Array(rows.iter().cloned().map(Value::Object).collect()),
        );
        line.insert("action".into(), Value::from("snapshot"));
        line.extend(self.head());
        Value::Object(line).to_string()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn row(path: &str, size: &str) -> ResultRow {
        let Value::Object(map) = json!({"path": path, "size": size}) else {
            unreachable!("a literal object")
        };
        map
    }

    #[test]
    fn diff_matches_rows_exactly_and_counts_duplicates() {
        let before = vec![row("/a", "1"), row("/b", "2"), row("/b", "2")];
        let after = vec![row("/b", "2"), row("/c", "3")];
        let d = diff(&before, &after);
        assert_eq!(d.added, vec![row("/c", "3")]);
        assert_eq!(d.removed.len(), 2);
        assert!(d.removed.contains(&row("/a", "1")) && d.removed.contains(&row("/b", "2")));
        assert!(diff(&after, &after).is_empty());
    }

    #[test]
    fn lines_have_osquerys_fields_in_osquerys_order() {
        let decorations = {
            let Value::Object(map) = json!({"host_uuid": "4C4C"}) else {
                unreachable!("a literal object")
            };
            map
        };
        let ctx = LineContext {
            name: "pack_linux_files",
            host_identifier: "web-01",
            unix_time: 1_785_844_805,
            epoch: 0,
            counter: 7,
            numerics: false,
            decorations: &decorations,
            decorations_top_level: false,
        };
        let d = Diff {
            added: vec![row("/c", "3")],
            removed: vec![row("/a", "1")],
        };
        let lines = ctx.event_lines(&d);
        assert_eq!(
            lines[0],
            r#"{"name":"pack_linux_files","hostIdentifier":"web-01","calendarTime":"Tue Aug  4 12:00:05 2026 UTC","unixTime":1785844805,"epoch":0,"counter":7,"numerics":false,"decorations":{"host_uuid":"4C4C"},"columns":{"path":"/a","size":"1"},"action":"removed"}"#
        );
        assert!(lines[1].ends_with(r#""columns":{"path":"/c","size":"3"},"action":"added"}"#));
        let batch: Value = serde_json::from_str(&ctx.batch_line(&d)).expect("json");
        assert_eq!(batch["diffResults"]["added"][0]["path"], "/c");
        let per_row = ctx.snapshot_row_lines(&d.removed);
        assert!(per_row[0].ends_with(r#""columns":{"path":"/a","size":"1"},"action":"snapshot"}"#));
        let snapshot: Value = serde_json::from_str(&ctx.snapshot_line(&d.added)).expect("json");
        assert_eq!(snapshot["action"], "snapshot");
        assert_eq!(snapshot["snapshot"][0]["size"], "3");
    }
}
