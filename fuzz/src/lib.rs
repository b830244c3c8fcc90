//! What the fuzz targets assert about the parsers of outside text, shared by the targets that
//! reach the same parser (a config document comes from a file and from the TLS server), and the
//! layout of their inputs.

use serde_json::Value;
use vigil_config::{
    Config, INTERVAL_MAX, Origin, PackFile, PackFiles, ScheduledQuery, dump, parse,
};

/// The pack delimiter the targets parse with (`--pack_delimiter`'s default).
pub const PACK_DELIMITER: &str = "_";

/// Every pack file a local config names reads as `text`: the fuzzer's input again, so what pack
/// files hold is fuzzed too, without a file.
pub struct EveryPackFileIs<'a>(pub &'a str);

impl PackFiles for EveryPackFileIs<'_> {
    fn read(&self, name: &str) -> Result<PackFile, String> {
        Ok(PackFile {
            shown_as: format!("/fuzz/{name}"),
            text: self.0.to_owned(),
        })
    }
}

/// The promises a config that parsed keeps to the parts of the agent that use it, and that
/// `--config_dump` prints a config that reads back as the same one.
pub fn check_config(config: &Config) {
    for (name, query) in &config.schedule {
        assert!(
            (1..=INTERVAL_MAX).contains(&query.interval),
            "schedule.{name}: interval {} out of bounds",
            query.interval
        );
        assert!(
            query.shard.is_none_or(|s| (1..=100).contains(&s)),
            "schedule.{name}: shard {:?}",
            query.shard
        );
        assert!(
            !query.query.is_empty() && query.query.trim() == query.query,
            "schedule.{name}: query {:?}",
            query.query
        );
    }
    for seconds in config.decorators.interval.keys() {
        assert!(
            *seconds > 0 && seconds % 60 == 0 && *seconds <= INTERVAL_MAX,
            "decorator interval {seconds}"
        );
    }

    let dumped = serde_json::to_string_pretty(&dump(config)).expect("a dump serializes");
    let document: Value = serde_json::from_str(&dumped).expect("a dump is JSON");
    let again = parse(&document, Origin::Server, PACK_DELIMITER).unwrap_or_else(|error| {
        panic!("the --config_dump of a valid config does not parse: {error}\n{dumped}")
    });
    assert_eq!(again.options, config.options, "options differ after a dump");
    // A pack's `discovery` has no place in a dumped `schedule` entry: all else must stay.
    let without_discovery = |query: &ScheduledQuery| ScheduledQuery {
        discovery: Vec::new(),
        ..query.clone()
    };
    assert_eq!(
        again
            .schedule
            .values()
            .map(without_discovery)
            .collect::<Vec<_>>(),
        config
            .schedule
            .values()
            .map(without_discovery)
            .collect::<Vec<_>>(),
        "the schedule differs after a dump"
    );
    assert!(
        again.schedule.keys().eq(config.schedule.keys()),
        "query names differ after a dump"
    );
    assert_eq!(again.decorators, config.decorators, "decorators differ");
    assert_eq!(again.events, config.events, "event switches differ");
    assert_eq!(
        again.file_filter, config.file_filter,
        "the file filter differs"
    );
    assert_eq!(again.file_keys, config.file_keys, "file keys differ");
    assert_eq!(
        again.kafka_topics, config.kafka_topics,
        "Kafka topics differ after a dump"
    );
    assert_eq!(dump(&again), dump(config), "a dump of the dump differs");
}

/// `hash` as `osquery_info.config_hash` shows it: 40 lowercase hex digits.
pub fn check_hash(hash: &str) {
    assert!(
        hash.len() == 40 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')),
        "config hash {hash:?}"
    );
}

/// A `tls_response` input: the HTTP status in decimal on the first line, the body after it
/// (`200\n{"node_key": "k"}`); an input whose first line is no status is a 200's body whole.
pub fn split_reply(data: &[u8]) -> (u16, &[u8]) {
    if let Some(end) = data.iter().position(|&b| b == b'\n')
        && let Ok(first) = std::str::from_utf8(&data[..end])
        && let Ok(status) = first.trim().parse::<u16>()
    {
        return (status, &data[end + 1..]);
    }
    (200, data)
}
