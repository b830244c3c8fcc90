//! Who this host is.

use vigil_events::EventStore;
use vigil_state::daemon::INSTANCE_ID;

use crate::cli::DaemonArgs;

/// `--host_identifier`: the value result lines carry as `hostIdentifier`.
pub fn host_identifier(args: &DaemonArgs) -> String {
    match args.host_identifier.as_str() {
        "uuid" => vigil_tables::snapshot::util::host_uuid().unwrap_or_default(),
        "specified" => args.specified_identifier.clone(),
        _ => hostname(),
    }
}

pub use crate::os::hostname;

/// This daemon's instance id: made once, kept in its database, the same at every start (as
/// osquery keeps `instance_uuid_v1`).
pub fn instance_id(store: &EventStore) -> anyhow::Result<String> {
    if let Some(id) = INSTANCE_ID.get(store)?
        && !id.is_empty()
    {
        return Ok(id);
    }
    let id = crate::os::random_uuid().map_err(|e| anyhow::anyhow!("making an instance id: {e}"))?;
    INSTANCE_ID.set(store, &id)?;
    Ok(id)
}
