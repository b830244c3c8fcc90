//! What the running daemon says about itself (`vigil_info`, `vigil_events`), so that
//! `vigil query` reading its database sees it too.

use crate::Key;

/// This daemon's instance id (osquery's key): made once, the same at every start.
pub const INSTANCE_ID: Key<String> = Key::fixed(b"instance_uuid_v1");
/// The running config's hash (osquery's: SHA-1 of its sources' SHA-1s), empty when no valid
/// config runs.
pub const CONFIG_HASH: Key<String> = Key::fixed(b"config_hash");
/// Whether a valid config runs.
pub const CONFIG_VALID: Key<bool> = Key::fixed(b"config_valid");
/// Present while no probes could be started, saying why (`vigil_events.active` is 0 meanwhile).
pub const COLLECTION_STOPPED: Key<String> = Key::fixed(b"events_collection_stopped");
