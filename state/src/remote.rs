//! What the TLS server gave: the node key from enrollment, and the last config it sent.

use crate::{Commit, Key};

/// The node key the server gave at enrollment.
pub const NODE_KEY: Key<String> = Key::fixed(b"node_key");
/// When the node key was given: Unix seconds, in decimal.
const NODE_KEY_TIME: Key<String> = Key::fixed(b"node_key_time");

/// The last config the server sent (its JSON text): what runs until the server answers.
pub const CONFIG_BACKUP: Key<String> = Key::fixed(b"config_backup");

/// Enrollment gave `node_key` at `unix_seconds`.
pub fn enrolled(commit: &mut Commit, node_key: &str, unix_seconds: i64) {
    commit.put(&NODE_KEY, &node_key.to_owned());
    commit.put(&NODE_KEY_TIME, &unix_seconds.to_string());
}

/// The server called the node key invalid: it is forgotten, and the daemon enrolls again.
pub fn forget_node_key(commit: &mut Commit) {
    commit.delete(&NODE_KEY);
    commit.delete(&NODE_KEY_TIME);
}
