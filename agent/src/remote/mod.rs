//! osquery's TLS remote API: enrollment, config, result and status logs, distributed queries,
//! over rustls. Everything a remote part sends waits in the database first.

pub mod client;
pub mod config;
pub mod distributed;
pub mod logger;
pub mod tls;

use serde_json::{Map, Value};

use crate::session::{Events, Session};

/// What the server is told about this host at enrollment: osquery's `host_details` (the first row
/// of each table; `platform_info` has no counterpart here and is left empty).
pub fn host_details() -> Value {
    let mut details = Map::new();
    let session = Session::open(Events::None, crate::sql::Limits::NONE).ok();
    for (key, table) in [
        ("os_version", "os_version"),
        ("osquery_info", "osquery_info"),
        ("system_info", "system_info"),
        ("platform_info", ""),
    ] {
        let row = session
            .as_ref()
            .filter(|_| !table.is_empty())
            .and_then(|s| crate::sql::run(&s.conn, &format!("SELECT * FROM {table}")).ok())
            .and_then(|results| results.into_iter().next())
            .and_then(|r| {
                crate::scheduler::results::rows_of(&r, false)
                    .into_iter()
                    .next()
            })
            .unwrap_or_default();
        details.insert(key.into(), Value::Object(row));
    }
    Value::Object(details)
}
