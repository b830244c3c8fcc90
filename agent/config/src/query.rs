//! One scheduled query (`schedule.<name>` or `packs.<pack>.queries.<name>`).

use serde_json::Value;

use crate::Problems;

/// osquery's bounds: at least every second, at most once a week.
pub const INTERVAL_MAX: u64 = 604_800;
/// The interval of a query that names none.
pub const DEFAULT_INTERVAL: u64 = 3600;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduledQuery {
    pub query: String,
    /// Seconds between runs.
    pub interval: u64,
    /// Report the whole result every run, not differences.
    pub snapshot: bool,
    /// Report rows that disappeared (differential queries).
    pub removed: bool,
    /// Only on these platforms (`linux`, `posix`, `all`, ...), when set.
    pub platform: Option<String>,
    /// Run on this percentage of hosts (1-100), when set.
    pub shard: Option<u64>,
    /// Whether the watchdog may denylist the query.
    pub denylist: bool,
    /// The pack's `discovery` queries: the query runs only while each returns rows.
    pub discovery: Vec<String>,
}

/// osquery accepts numbers and booleans as JSON values or as strings.
pub(crate) fn number(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn boolean(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.trim() {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            _ => None,
        },
        Value::Number(n) => n.as_u64().map(|n| n != 0),
        _ => None,
    }
}

impl ScheduledQuery {
    pub(crate) fn parse(value: &Value, path: &str, problems: &mut Problems) -> Option<Self> {
        let Some(map) = value.as_object() else {
            problems.error(path, "expected an object with `query` and `interval`");
            return None;
        };
        let before = problems.errors.len();
        let query = match map.get("query").and_then(Value::as_str).map(str::trim) {
            Some(q) if !q.is_empty() => q.to_owned(),
            _ => {
                problems.error(&format!("{path}.query"), "expected the query's SQL text");
                String::new()
            }
        };
        let interval = match map.get("interval").map(number) {
            // osquery's --schedule_default_interval.
            None => DEFAULT_INTERVAL,
            Some(Some(i)) if (1..=INTERVAL_MAX).contains(&i) => i,
            _ => {
                problems.error(
                    &format!("{path}.interval"),
                    format!("expected a number from 1 to {INTERVAL_MAX}"),
                );
                0
            }
        };
        let mut flag = |key: &str, default: bool| match map.get(key) {
            None => default,
            Some(v) => boolean(v).unwrap_or_else(|| {
                problems.error(&format!("{path}.{key}"), "expected true or false");
                default
            }),
        };
        let snapshot = flag("snapshot", false);
        let removed = flag("removed", true);
        let denylist = flag("denylist", true);
        let platform = match map.get("platform") {
            None => None,
            Some(Value::String(p)) => Some(p.clone()),
            Some(_) => {
                problems.error(&format!("{path}.platform"), "expected a platform name");
                None
            }
        };
        let shard = match map.get("shard") {
            None => None,
            Some(v) => match number(v) {
                Some(s) if (1..=100).contains(&s) => Some(s),
                _ => {
                    problems.error(&format!("{path}.shard"), "expected a number from 1 to 100");
                    None
                }
            },
        };
        for key in map.keys() {
            if !matches!(
                key.as_str(),
                "query"
                    | "interval"
                    | "snapshot"
                    | "removed"
                    | "platform"
                    | "shard"
                    | "denylist"
                    | "blacklist"
                    | "version"
                    | "description"
                    | "value"
            ) {
                problems.warn(&format!("{path}.{key}"), "unknown key, ignored");
            }
        }
        (problems.errors.len() == before).then_some(Self {
            query,
            interval,
            snapshot,
            removed,
            platform,
            shard,
            denylist,
            discovery: Vec::new(),
        })
    }

    /// Whether the query runs on this (Linux) host, by its `platform`.
    pub fn runs_on_linux(&self) -> bool {
        match self.platform.as_deref() {
            None | Some("") => true,
            Some(list) => list
                .split(',')
                .map(str::trim)
                .any(|p| matches!(p, "all" | "any" | "linux" | "posix" | "ubuntu" | "centos")),
        }
    }

    pub fn to_json(&self) -> Value {
        let mut object = serde_json::json!({
            "query": self.query,
            "interval": self.interval,
            "snapshot": self.snapshot,
            "removed": self.removed,
            "denylist": self.denylist,
        });
        if let Some(platform) = &self.platform {
            object["platform"] = Value::from(platform.clone());
        }
        if let Some(shard) = self.shard {
            object["shard"] = Value::from(shard);
        }
        object
    }
}

/// For tests of what runs a schedule (the agent's scheduler among them).
impl ScheduledQuery {
    /// A query with `sql`, every 10 s, and a config's defaults for the rest.
    pub fn with_sql(sql: &str) -> Self {
        Self {
            query: sql.into(),
            interval: 10,
            snapshot: false,
            removed: true,
            platform: None,
            shard: None,
            denylist: true,
            discovery: Vec::new(),
        }
    }
}
