//! The osquery-format JSON configuration: `options`, `schedule`, `packs` (inline, or paths to
//! pack files), `decorators`, `file_paths`/`exclude_paths`/`file_accesses`, `events` and
//! `kafka_topics`; and the
//! text of a `--flagfile` (`flagfile`).
//!
//! Parsing collects every problem, each named by its JSON path
//! (`schedule.procs.interval: expected a number from 1 to 604800`), so one `--config_check` run
//! shows them all. Unknown keys are warnings, not failures: configs written for osquery carry keys
//! vigil does not use.
//!
//! Nothing here reads a file or the network: the agent hands in the text (and, for a local
//! config, a `PackFiles` that reads the pack files it names), so every byte that reaches these
//! parsers can be fuzzed (`fuzz/fuzz_targets/config.rs`, `flagfile.rs`).

#![forbid(unsafe_code)]

mod file_filter;
pub mod flagfile;
mod kafka_topics;
mod packs;
mod query;
mod version;

use std::collections::BTreeMap;

pub use kafka_topics::KafkaTopics;
pub use packs::{Origin, PackFile, PackFiles};
pub use query::{DEFAULT_INTERVAL, INTERVAL_MAX, ScheduledQuery};
use serde_json::{Map, Value};
pub use version::AGENT_VERSION;
use vigil_events::file_filter::FileFilter;

/// A configuration that parsed, and the warnings it produced.
#[derive(Debug, Clone)]
pub struct Config {
    /// Flag values set by the config (`options`), as written.
    pub options: BTreeMap<String, Value>,
    /// Every scheduled query, packs' included, under its full name (`pack_<pack>_<query>`).
    pub schedule: BTreeMap<String, ScheduledQuery>,
    pub decorators: Decorators,
    pub file_filter: FileFilter,
    /// `file_paths`, `exclude_paths`, `file_accesses` as written (for `--config_dump`).
    pub file_keys: Map<String, Value>,
    pub events: EventsConfig,
    /// The Kafka topic of each query `kafka_topics` lists.
    pub kafka_topics: KafkaTopics,
    pub warnings: Vec<String>,
    /// `osquery_info.config_hash` of the text it was read from (see `hash`); empty until set.
    pub hash: String,
}

/// osquery's config hash: the SHA-1 (hex) of the SHA-1s (hex) of the config's sources, here the one
/// document's text.
pub fn hash(text: &str) -> String {
    use sha1::Digest as _;
    let hex = |bytes: &[u8]| -> String {
        sha1::Sha1::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    hex(hex(text.as_bytes()).as_bytes())
}

/// `decorators`: queries whose columns are added to every result line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Decorators {
    /// Run once when the config loads.
    pub load: Vec<String>,
    /// Run before every scheduled query.
    pub always: Vec<String>,
    /// Run every N seconds.
    pub interval: BTreeMap<u64, Vec<String>>,
}

/// `events`: per-table switches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventsConfig {
    pub enable_subscribers: Vec<String>,
    pub disable_subscribers: Vec<String>,
}

impl EventsConfig {
    /// Whether an event table is on. osquery's rule: `enable_subscribers` turns on a table that
    /// is off by default, and `disable_subscribers` wins over it. vigil's event tables are all on
    /// by default, so only `disable_subscribers` turns one off.
    pub fn is_enabled(&self, table: &str) -> bool {
        !self.disable_subscribers.iter().any(|t| t == table)
    }
}

/// Everything wrong with a configuration, one line per problem.
#[derive(Debug, thiserror::Error)]
#[error("{}", errors.join("\n"))]
pub struct ConfigError {
    pub errors: Vec<String>,
}

const TOP_LEVEL_KEYS: &[&str] = &[
    "options",
    "schedule",
    "packs",
    "decorators",
    "file_paths",
    "exclude_paths",
    "file_accesses",
    "events",
    "kafka_topics",
    // Accepted for osquery compatibility; not used by vigil yet.
    "yara",
    "prometheus_targets",
    "views",
    "auto_table_construction",
    "feature_vectors",
    "file_paths_query",
];

/// Collects problems while a document is read.
#[derive(Default)]
pub(crate) struct Problems {
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
}

impl Problems {
    pub fn error(&mut self, path: &str, problem: impl std::fmt::Display) {
        self.errors.push(format!("{path}: {problem}"));
    }

    pub fn warn(&mut self, path: &str, problem: impl std::fmt::Display) {
        self.warnings.push(format!("{path}: {problem}"));
    }
}

fn string_list(value: &Value, path: &str, problems: &mut Problems) -> Vec<String> {
    match value {
        Value::Array(items) => items
            .iter()
            .enumerate()
            .filter_map(|(i, item)| match item.as_str() {
                Some(s) => Some(s.to_owned()),
                None => {
                    problems.error(&format!("{path}[{i}]"), "expected a string");
                    None
                }
            })
            .collect(),
        _ => {
            problems.error(path, "expected a list of strings");
            Vec::new()
        }
    }
}

fn object<'a>(
    value: &'a Value,
    path: &str,
    problems: &mut Problems,
) -> Option<&'a Map<String, Value>> {
    let object = value.as_object();
    if object.is_none() {
        problems.error(path, "expected an object");
    }
    object
}

fn parse_decorators(value: &Value, problems: &mut Problems) -> Decorators {
    let mut decorators = Decorators::default();
    let Some(map) = object(value, "decorators", problems) else {
        return decorators;
    };
    for (key, value) in map {
        let path = format!("decorators.{key}");
        match key.as_str() {
            "load" => decorators.load = string_list(value, &path, problems),
            "always" => decorators.always = string_list(value, &path, problems),
            "interval" => {
                let Some(intervals) = object(value, &path, problems) else {
                    continue;
                };
                for (seconds, queries) in intervals {
                    let path = format!("{path}.{seconds}");
                    match seconds.parse::<u64>() {
                        Ok(s) if s > 0 && s % 60 == 0 && s <= query::INTERVAL_MAX => {
                            decorators
                                .interval
                                .insert(s, string_list(queries, &path, problems));
                        }
                        _ => problems.error(
                            &path,
                            format!(
                                "expected an interval in seconds that is a multiple of 60, at \
                                 most {}",
                                query::INTERVAL_MAX
                            ),
                        ),
                    }
                }
            }
            _ => problems.warn(&path, "unknown key, ignored"),
        }
    }
    decorators
}

fn parse_events(value: &Value, problems: &mut Problems) -> EventsConfig {
    let mut events = EventsConfig::default();
    let Some(map) = object(value, "events", problems) else {
        return events;
    };
    for (key, value) in map {
        let path = format!("events.{key}");
        let list = match key.as_str() {
            "enable_subscribers" => &mut events.enable_subscribers,
            "disable_subscribers" => &mut events.disable_subscribers,
            _ => {
                problems.warn(&path, "unknown key, ignored");
                continue;
            }
        };
        *list = string_list(value, &path, problems);
        let tables = vigil_events::EventTable::names();
        for (i, name) in list.iter().enumerate() {
            if !tables.iter().any(|t| t == name) {
                problems.warn(
                    &format!("{path}[{i}]"),
                    format!(
                        "`{name}` is not an event table of vigil ({}); ignored",
                        tables.join(", ")
                    ),
                );
            }
        }
    }
    events
}

/// Parses a config document from `origin` (a local file's pack file paths are read through its
/// `PackFiles`); `pack_delimiter` joins pack and query names (`--pack_delimiter`).
pub fn parse(
    document: &Value,
    origin: Origin,
    pack_delimiter: &str,
) -> Result<Config, ConfigError> {
    let mut problems = Problems::default();
    let Some(top) = document.as_object() else {
        return Err(ConfigError {
            errors: vec!["the config must be a JSON object".to_owned()],
        });
    };
    for key in top.keys() {
        if !TOP_LEVEL_KEYS.contains(&key.as_str()) {
            problems.warn(key, "unknown key, ignored");
        }
    }

    let mut options = BTreeMap::new();
    if let Some(value) = top.get("options")
        && let Some(map) = object(value, "options", &mut problems)
    {
        for (flag, value) in map {
            match value {
                Value::String(_) | Value::Number(_) | Value::Bool(_) => {
                    options.insert(flag.clone(), value.clone());
                }
                _ => problems.error(
                    &format!("options.{flag}"),
                    "expected a string, number or boolean",
                ),
            }
        }
    }

    let mut schedule = BTreeMap::new();
    if let Some(value) = top.get("schedule")
        && let Some(map) = object(value, "schedule", &mut problems)
    {
        for (name, query) in map {
            let path = format!("schedule.{name}");
            if let Some(q) = ScheduledQuery::parse(query, &path, &mut problems)
                && version::applies(query, &path, &mut problems)
            {
                schedule.insert(name.clone(), q);
            }
        }
    }

    if let Some(value) = top.get("packs")
        && let Some(map) = object(value, "packs", &mut problems)
    {
        for (pack_name, pack_value) in map {
            let Some(pack) = packs::load(pack_name, pack_value, origin, &mut problems) else {
                continue;
            };
            let pack_path = format!("packs.{pack_name}");
            let Some(pack) = object(&pack, &pack_path, &mut problems) else {
                continue;
            };
            let pack_platform = pack
                .get("platform")
                .and_then(Value::as_str)
                .map(str::to_owned);
            // osquery leaves out a whole pack whose `version` or `shard` does not fit; the shard
            // is applied with each query's own (both must fit).
            let pack_shard = match pack.get("shard") {
                None => None,
                Some(value) => match query::number(value) {
                    Some(0) => None,
                    Some(s) if s <= 100 => Some(s),
                    _ => {
                        problems.error(
                            &format!("{pack_path}.shard"),
                            "expected a number from 1 to 100",
                        );
                        None
                    }
                },
            };
            let pack_applies =
                version::applies(&Value::Object(pack.clone()), &pack_path, &mut problems);
            let discovery = match pack.get("discovery") {
                Some(value) => string_list(value, &format!("{pack_path}.discovery"), &mut problems),
                None => Vec::new(),
            };
            for key in pack.keys() {
                if !matches!(
                    key.as_str(),
                    "queries" | "platform" | "version" | "shard" | "discovery" | "oncall"
                ) {
                    problems.warn(&format!("{pack_path}.{key}"), "unknown key, ignored");
                }
            }
            let Some(queries) = pack.get("queries") else {
                problems.error(&pack_path, "a pack needs `queries`");
                continue;
            };
            let Some(queries) = object(queries, &format!("{pack_path}.queries"), &mut problems)
            else {
                continue;
            };
            for (query_name, query) in queries {
                let path = format!("{pack_path}.queries.{query_name}");
                if let Some(mut q) = ScheduledQuery::parse(query, &path, &mut problems) {
                    if !pack_applies || !version::applies(query, &path, &mut problems) {
                        continue;
                    }
                    q.shard = match (q.shard, pack_shard) {
                        (Some(own), Some(pack)) => Some(own.min(pack)),
                        (own, pack) => own.or(pack),
                    };
                    if q.platform.is_none() {
                        q.platform.clone_from(&pack_platform);
                    }
                    q.discovery.clone_from(&discovery);
                    let full =
                        format!("pack{pack_delimiter}{pack_name}{pack_delimiter}{query_name}");
                    schedule.insert(full, q);
                }
            }
        }
    }

    let decorators = match top.get("decorators") {
        Some(value) => parse_decorators(value, &mut problems),
        None => Decorators::default(),
    };
    let events = match top.get("events") {
        Some(value) => parse_events(value, &mut problems),
        None => EventsConfig::default(),
    };
    let kafka_topics = match top.get("kafka_topics") {
        Some(value) => kafka_topics::parse(value, &mut problems),
        None => KafkaTopics::default(),
    };
    let file_filter = match file_filter::file_filter(document) {
        Ok(filter) => filter,
        Err(error) => {
            problems.errors.push(error.to_string());
            FileFilter::defaults()
        }
    };

    if !problems.errors.is_empty() {
        return Err(ConfigError {
            errors: problems.errors,
        });
    }
    let file_keys = ["file_paths", "exclude_paths", "file_accesses"]
        .iter()
        .filter_map(|k| top.get(*k).map(|v| ((*k).to_owned(), v.clone())))
        .collect();
    Ok(Config {
        options,
        schedule,
        decorators,
        file_filter,
        file_keys,
        events,
        kafka_topics,
        warnings: problems.warnings,
        hash: String::new(),
    })
}

/// The effective configuration as JSON, for `--config_dump`.
pub fn dump(config: &Config) -> Value {
    let schedule: Map<String, Value> = config
        .schedule
        .iter()
        .map(|(name, q)| (name.clone(), q.to_json()))
        .collect();
    let interval: Map<String, Value> = config
        .decorators
        .interval
        .iter()
        .map(|(s, q)| (s.to_string(), serde_json::json!(q)))
        .collect();
    let mut out = serde_json::json!({
        "options": config.options,
        "schedule": schedule,
        "decorators": {
            "load": config.decorators.load,
            "always": config.decorators.always,
            "interval": interval,
        },
        "events": {
            "enable_subscribers": config.events.enable_subscribers,
            "disable_subscribers": config.events.disable_subscribers,
        },
    });
    if let Value::Object(map) = &mut out {
        map.extend(config.file_keys.clone());
        if !config.kafka_topics.is_empty() {
            map.insert("kafka_topics".to_owned(), config.kafka_topics.to_json());
        }
    }
    out
}

#[cfg(test)]
mod corpus_tests;
#[cfg(test)]
mod tests;
