//! The distributed read reply: the queries to run (`queries`, id → SQL), each one's discovery
//! query (`discovery`, id → SQL: it runs only if that returns rows), and `accelerate` (seconds
//! during which the agent checks for queries every few seconds).

use serde_json::{Map, Value};

/// The longest the server may ask for quick checks at once: bounded, so that the deadline the
/// agent computes from it cannot overflow.
pub const ACCELERATE_MAX: u64 = 86_400;

/// One query the server asks to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistributedQuery {
    pub id: String,
    pub sql: String,
    /// Runs only while this returns rows.
    pub discovery: Option<String>,
}

/// What a distributed read reply asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DistributedRead {
    /// In the reply's order; ids whose SQL is not a string are left out.
    pub queries: Vec<DistributedQuery>,
    /// Seconds of quick checks, at most `ACCELERATE_MAX`.
    pub accelerate: u64,
    /// What was wrong with `accelerate`, for the log.
    pub warnings: Vec<String>,
}

/// A read's `accelerate` within bounds: a value that is not a non-negative integer is ignored
/// and one past `ACCELERATE_MAX` brought back to it, each with a warning.
fn accelerate_seconds(value: &Value, warnings: &mut Vec<String>) -> u64 {
    let seconds = match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        Value::Bool(false) | Value::Null => Some(0),
        _ => None,
    };
    match seconds {
        Some(s) if s <= ACCELERATE_MAX => s,
        Some(s) => {
            warnings.push(format!(
                "distributed read: `accelerate` {s} is more than {ACCELERATE_MAX} s; \
                 {ACCELERATE_MAX} is used"
            ));
            ACCELERATE_MAX
        }
        None => {
            warnings.push(format!(
                "distributed read: `accelerate` {value} is not a number of seconds; ignored"
            ));
            0
        }
    }
}

/// The queries and `accelerate` of a distributed read reply (already through `reply::check`).
pub fn read_reply(answer: &Map<String, Value>) -> DistributedRead {
    let empty = Map::new();
    let object = |key: &str| answer.get(key).and_then(Value::as_object).unwrap_or(&empty);
    let discovery = object("discovery");
    let queries = object("queries")
        .iter()
        .filter_map(|(id, sql)| {
            Some(DistributedQuery {
                id: id.clone(),
                sql: sql.as_str()?.to_owned(),
                discovery: discovery.get(id).and_then(Value::as_str).map(str::to_owned),
            })
        })
        .collect();
    let mut warnings = Vec::new();
    let accelerate = answer
        .get("accelerate")
        .map_or(0, |value| accelerate_seconds(value, &mut warnings));
    DistributedRead {
        queries,
        accelerate,
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn read(answer: Value) -> DistributedRead {
        let Value::Object(map) = answer else {
            panic!("an object");
        };
        read_reply(&map)
    }

    #[test]
    fn queries_with_their_discovery_in_the_replys_order() {
        let got = read(json!({
            "queries": {"b": "SELECT 2", "a": "SELECT 1", "bad": 5},
            "discovery": {"a": "SELECT 1 FROM system_info", "b": 7}
        }));
        assert_eq!(
            got.queries,
            [
                DistributedQuery {
                    id: "b".into(),
                    sql: "SELECT 2".into(),
                    discovery: None
                },
                DistributedQuery {
                    id: "a".into(),
                    sql: "SELECT 1".into(),
                    discovery: Some("SELECT 1 FROM system_info".into())
                },
            ]
        );
        assert_eq!((got.accelerate, got.warnings.len()), (0, 0));
        assert_eq!(read(json!({"queries": [1]})), DistributedRead::default());
    }

    #[test]
    fn accelerate_is_bounded_whatever_the_server_sends() {
        let accelerate = |value: Value| read(json!({ "accelerate": value })).accelerate;
        assert_eq!(accelerate(json!(60)), 60);
        assert_eq!(accelerate(json!("60")), 60);
        assert_eq!(accelerate(json!(false)), 0);
        assert_eq!(accelerate(json!(u64::MAX)), ACCELERATE_MAX);
        assert_eq!(accelerate(json!(-1)), 0);
        assert_eq!(accelerate(json!(1.5e300)), 0);
        assert_eq!(accelerate(json!("soon")), 0);
        assert_eq!(accelerate(json!({"a": 1})), 0);
        assert_eq!(
            read(json!({"accelerate": u64::MAX})).warnings,
            [
                "distributed read: `accelerate` 18446744073709551615 is more than 86400 s; 86400 is \
              used"
            ]
        );
        assert_eq!(
            read(json!({"accelerate": "-1"})).warnings,
            ["distributed read: `accelerate` \"-1\" is not a number of seconds; ignored"]
        );
    }
}
