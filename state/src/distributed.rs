//! Distributed query results waiting for the server: each is kept before anything is sent, and
//! forgotten once the server took it.

use crate::{Family, Key};

/// Each result waiting for the server (`rows`, `status`, `message`, `stats`, and how often the
/// server refused it, `rejections`), by the query's id.
pub const PENDING: Family<serde_json::Value> = Family::new("distributed/");

/// The id of the distributed query running now: if the worker is stopped meanwhile, the next one
/// reports it as failed instead of leaving the server waiting.
pub const EXECUTING: Key<String> = Key::fixed(b"distributed_executing");
