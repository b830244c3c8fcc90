//! The config reply: the config document itself, as osquery's TLS config plugin takes it.

use serde_json::{Map, Value};

/// A config document from the server, and its text: what is hashed (`config_hash`), kept as the
/// last good config, and compared to notice a change.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigDocument {
    pub document: Value,
    pub text: String,
}

impl ConfigDocument {
    /// The document a config reply (already through `reply::check`) carries: the reply itself,
    /// without the `node_invalid: false` a server may add to every reply.
    pub fn from_reply(mut answer: Map<String, Value>) -> Self {
        answer.remove("node_invalid");
        Self::from_document(Value::Object(answer))
    }

    /// A document kept from an earlier reply (its `text`), or `None` when it is not JSON.
    pub fn from_kept(text: &[u8]) -> Option<Self> {
        serde_json::from_slice(text).ok().map(Self::from_document)
    }

    fn from_document(document: Value) -> Self {
        let text = document.to_string();
        Self { document, text }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn node_invalid_is_not_part_of_the_config_and_the_kept_text_reads_back() {
        let Value::Object(answer) = json!({"node_invalid": false, "schedule": {}}) else {
            panic!("an object");
        };
        let got = ConfigDocument::from_reply(answer);
        assert_eq!(got.document, json!({"schedule": {}}));
        assert_eq!(got.text, r#"{"schedule":{}}"#);
        assert_eq!(ConfigDocument::from_kept(got.text.as_bytes()), Some(got));
        assert_eq!(ConfigDocument::from_kept(b"{not json"), None);
    }
}
