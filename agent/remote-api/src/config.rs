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

    /// A number past u64 is read as a float: without serde_json's exact float parsing, reading
    /// the kept text back could land one ulp off, so the same server config showed another
    /// `config_hash` after a restart and was reloaded as if it had changed (found by the
    /// tls_response fuzz target).
    #[test]
    fn a_kept_config_reads_back_exactly_whatever_its_numbers() {
        for number in [
            "18446744073709665511",
            "1e30",
            "0.1",
            "-2.2250738585072014e-308",
        ] {
            let reply = format!(r#"{{"options": {{"x": {number}}}}}"#);
            let Ok(Value::Object(answer)) = serde_json::from_str(&reply) else {
                panic!("an object");
            };
            let got = ConfigDocument::from_reply(answer);
            assert_eq!(
                ConfigDocument::from_kept(got.text.as_bytes()).as_ref(),
                Some(&got),
                "{number}"
            );
        }
    }
}
