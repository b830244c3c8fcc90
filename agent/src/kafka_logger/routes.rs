//! Which topic each buffered line goes to: a result line of a query the running config's
//! `kafka_topics` lists goes to that topic; status lines and every other query's results go to
//! `--logger_kafka_topic` (as osquery's kafka_producer does).

use std::sync::{Arc, Mutex};

use vigil_state::logs::{Line, LineKind};

use vigil_config::KafkaTopics;

/// The running config's `kafka_topics`, handed over by the daemon whenever a config starts
/// running; unknown (`None`) until the first one does.
#[derive(Clone, Default)]
pub struct TopicRoutes(Arc<Mutex<Option<Arc<KafkaTopics>>>>);

impl TopicRoutes {
    pub fn set(&self, topics: KafkaTopics) {
        if let Ok(mut routes) = self.0.lock() {
            *routes = Some(Arc::new(topics));
        }
    }

    /// The routes now, once a config runs: until then a result line could not be told where it
    /// belongs (a listed query's results left from the last run wait for the config).
    pub fn current(&self) -> Option<Arc<KafkaTopics>> {
        self.0.lock().ok().and_then(|routes| routes.clone())
    }
}

/// The topic `line` goes to.
pub fn topic_of<'a>(line: &Line, topics: &'a KafkaTopics, default: &'a str) -> &'a str {
    if line.kind == LineKind::Status || topics.is_empty() {
        return default;
    }
    let name = serde_json::from_str::<serde_json::Value>(&line.line)
        .ok()
        .and_then(|value| value.get("name")?.as_str().map(str::to_owned));
    name.and_then(|name| topics.topic_of(&name))
        .unwrap_or(default)
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use vigil_state::logs::LineKey;

    use super::*;

    fn line(kind: LineKind, text: &str) -> Line {
        Line {
            key: LineKey::default(),
            kind,
            line: text.to_owned(),
        }
    }

    #[test]
    fn a_listed_query_goes_to_its_topic_and_the_rest_to_the_default() {
        let config = crate::config::parse(
            &json!({"kafka_topics": {"process_results": ["procs"]}}),
            crate::config::Origin::Server,
            "_",
        )
        .expect("config");
        let topics = &config.kafka_topics;
        let result = |name: &str| line(LineKind::Result, &json!({"name": name}).to_string());
        assert_eq!(
            topic_of(&result("procs"), topics, "base"),
            "process_results"
        );
        assert_eq!(
            topic_of(
                &line(LineKind::Snapshot, r#"{"name":"procs"}"#),
                topics,
                "base"
            ),
            "process_results"
        );
        assert_eq!(topic_of(&result("users"), topics, "base"), "base");
        assert_eq!(
            topic_of(
                &line(LineKind::Status, r#"{"name":"procs"}"#),
                topics,
                "base"
            ),
            "base",
            "status lines go to the default topic"
        );
        assert_eq!(
            topic_of(&line(LineKind::Result, "not json"), topics, "base"),
            "base"
        );
    }
}
