//! The enrollment reply: the node key every later request carries, in its body and in the
//! `Authorization: NodeKey <key>` header.

use serde_json::{Map, Value};

/// Why an enrollment reply gave no node key vigil can use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NodeKeyError {
    #[error("gave no node_key")]
    Missing,
    #[error(
        "gave a node_key that cannot be sent back in an HTTP header (it holds a control \
         character): every request with it would fail before reaching the server, so it is \
         refused; the server must issue keys of printable characters"
    )]
    Unsendable,
}

/// Whether `key` can go in an HTTP header value (`NodeKey <key>`): no control character but tab
/// (the rule of the `http` crate, which would refuse to build the request).
pub fn is_sendable(key: &str) -> bool {
    key.bytes().all(|b| b == b'\t' || (b >= 0x20 && b != 0x7f))
}

/// The node key of an enrollment reply (already through `reply::check`): `node_key`, or `id`
/// as older servers name it; a key vigil could not send back is refused.
pub fn node_key(answer: &Map<String, Value>) -> Result<String, NodeKeyError> {
    let key = answer
        .get("node_key")
        .or_else(|| answer.get("id"))
        .and_then(Value::as_str)
        .filter(|key| !key.is_empty())
        .ok_or(NodeKeyError::Missing)?;
    if !is_sendable(key) {
        return Err(NodeKeyError::Unsendable);
    }
    Ok(key.to_owned())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn key_of(answer: Value) -> Result<String, NodeKeyError> {
        let Value::Object(map) = answer else {
            panic!("an object");
        };
        node_key(&map)
    }

    #[test]
    fn the_key_is_node_key_or_id() {
        assert_eq!(key_of(json!({"node_key": "k1"})), Ok("k1".into()));
        assert_eq!(key_of(json!({"id": "k2"})), Ok("k2".into()));
        assert_eq!(key_of(json!({"node_key": ""})), Err(NodeKeyError::Missing));
        assert_eq!(key_of(json!({"node_key": 5})), Err(NodeKeyError::Missing));
        assert_eq!(key_of(json!({})), Err(NodeKeyError::Missing));
    }

    /// Such a key was taken and kept before: every request then failed in the client (the
    /// header could not be built), the server never saw one to call the key invalid, and the
    /// key was reloaded from the database at each start.
    #[test]
    fn a_key_that_cannot_go_in_a_header_is_refused() {
        for key in ["line\nbreak", "nul\0", "del\u{7f}", "\r"] {
            assert_eq!(
                key_of(json!({ "node_key": key })),
                Err(NodeKeyError::Unsendable),
                "{key:?}"
            );
        }
        for key in ["0f3c-ab", "with space", "tab\there", "clé"] {
            assert_eq!(key_of(json!({ "node_key": key })), Ok(key.into()));
        }
    }
}
