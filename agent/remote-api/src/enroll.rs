//! The enrollment reply: the node key every later request carries, in its body and in the
//! `Authorization: NodeKey <key>` header.

use serde_json::{Map, Value};

/// Why an enrollment reply gave no node key vigil can use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NodeKeyError {
    #[error("gave no node_key")]
    Missing,
}

/// The node key of an enrollment reply (already through `reply::check`): `node_key`, or `id`
/// as older servers name it.
pub fn node_key(answer: &Map<String, Value>) -> Result<String, NodeKeyError> {
    let key = answer
        .get("node_key")
        .or_else(|| answer.get("id"))
        .and_then(Value::as_str)
        .filter(|key| !key.is_empty())
        .ok_or(NodeKeyError::Missing)?;
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
}
