//! `kafka_topics`: which Kafka topic a query's results go to, in osquery's shape (its
//! `kafka_topics` config parser and `kafka_producer` logger): an object of topic names, each a
//! list of query names as they appear in result lines' `name`
//! (`{"process_events": ["pack_security_procs", "procs"]}`). A query in no list, and every status
//! line, goes to `--logger_kafka_topic`.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::Problems;

/// The config's `kafka_topics`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KafkaTopics {
    /// As written, topic by topic (for `--config_dump`).
    written: Map<String, Value>,
    /// Each listed query's topic.
    by_query: BTreeMap<String, String>,
}

impl KafkaTopics {
    /// The topic `query`'s results go to, if the config lists it.
    pub fn topic_of(&self, query: &str) -> Option<&str> {
        self.by_query.get(query).map(String::as_str)
    }

    /// Whether the config has no `kafka_topics` (or an empty one).
    pub fn is_empty(&self) -> bool {
        self.written.is_empty()
    }

    /// `kafka_topics` as written.
    pub fn to_json(&self) -> Value {
        Value::Object(self.written.clone())
    }
}

const SHAPE: &str = "expected an object of topic names, each a list of query names \
                     (\"kafka_topics\": {\"topic\": [\"query\", ...]})";

/// Reads `kafka_topics`; every problem is named by its JSON path.
pub(crate) fn parse(value: &Value, problems: &mut Problems) -> KafkaTopics {
    let mut topics = KafkaTopics::default();
    let Some(map) = value.as_object() else {
        problems.error("kafka_topics", SHAPE);
        return topics;
    };
    for (topic, queries) in map {
        let path = format!("kafka_topics.{topic}");
        if topic.trim().is_empty() {
            problems.error(&path, "a topic name cannot be empty");
            continue;
        }
        let Some(queries) = queries.as_array() else {
            problems.error(&path, "expected a list of query names ([\"query\", ...])");
            continue;
        };
        for (i, query) in queries.iter().enumerate() {
            let path = format!("{path}[{i}]");
            match query.as_str() {
                Some("") => problems.error(&path, "a query name cannot be empty"),
                Some(query) => {
                    // osquery keeps the last topic that lists a query; so does vigil, but says so.
                    if let Some(earlier) = topics.by_query.insert(query.to_owned(), topic.clone())
                        && earlier != *topic
                    {
                        problems.warn(
                            &path,
                            format!(
                                "query `{query}` is listed under topic `{earlier}` too; its \
                                 results go to `{topic}`, the last that lists it"
                            ),
                        );
                    }
                }
                None => problems.error(&path, "expected a query name (a string)"),
            }
        }
    }
    topics.written = map.clone();
    topics
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn parsed(value: Value) -> (KafkaTopics, Problems) {
        let mut problems = Problems::default();
        let topics = parse(&value, &mut problems);
        (topics, problems)
    }

    #[test]
    fn listed_queries_have_their_topic_and_others_none() {
        let (topics, problems) = parsed(json!({
            "process_results": ["procs", "pack_security_listeners"],
            "file_results": ["files"],
        }));
        assert!(problems.errors.is_empty() && problems.warnings.is_empty());
        assert_eq!(topics.topic_of("procs"), Some("process_results"));
        assert_eq!(
            topics.topic_of("pack_security_listeners"),
            Some("process_results")
        );
        assert_eq!(topics.topic_of("files"), Some("file_results"));
        assert_eq!(topics.topic_of("users"), None);
    }

    #[test]
    fn a_bad_shape_is_an_error_naming_the_key() {
        let (_, problems) = parsed(json!(["procs"]));
        assert_eq!(problems.errors.len(), 1);
        assert!(
            problems.errors[0].starts_with("kafka_topics: expected an object of topic names"),
            "{:?}",
            problems.errors
        );

        let (_, problems) = parsed(json!({"results": "procs", "other": ["ok", 3, ""]}));
        assert_eq!(
            problems.errors,
            [
                "kafka_topics.results: expected a list of query names ([\"query\", ...])",
                "kafka_topics.other[1]: expected a query name (a string)",
                "kafka_topics.other[2]: a query name cannot be empty",
            ]
        );
    }

    #[test]
    fn the_config_refuses_a_bad_kafka_topics_and_dumps_a_good_one() {
        let packs = crate::Origin::Server;
        let error = crate::parse(&json!({"kafka_topics": {"results": "procs"}}), packs, "_")
            .expect_err("a topic that is not a list");
        assert_eq!(
            error.errors,
            ["kafka_topics.results: expected a list of query names ([\"query\", ...])"]
        );
        let config = crate::parse(&json!({"kafka_topics": {"results": ["procs"]}}), packs, "_")
            .expect("parses");
        assert!(config.warnings.is_empty(), "{:?}", config.warnings);
        assert_eq!(config.kafka_topics.topic_of("procs"), Some("results"));
        assert_eq!(
            crate::dump(&config)["kafka_topics"],
            json!({"results": ["procs"]})
        );
    }

    #[test]
    fn a_query_under_two_topics_goes_to_the_last_with_a_warning() {
        let (topics, problems) = parsed(json!({"a": ["procs"], "b": ["procs"]}));
        assert!(problems.errors.is_empty());
        assert_eq!(topics.topic_of("procs"), Some("b"));
        assert_eq!(problems.warnings.len(), 1);
        assert!(
            problems.warnings[0].starts_with("kafka_topics.b[0]: query `procs`"),
            "{:?}",
            problems.warnings
        );
    }
}
