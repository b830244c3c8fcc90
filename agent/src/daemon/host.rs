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

pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most `buf.len()` bytes into `buf`.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    if rc == 0 {
        String::from_utf8_lossy(&buf[..end]).into_owned()
    } else {
        String::new()
    }
}

/// This daemon's instance id: made once, kept in its database, the same at every start (as
/// osquery keeps `instance_uuid_v1`).
pub fn instance_id(store: &EventStore) -> anyhow::Result<String> {
    if let Some(id) = INSTANCE_ID.get(store)?
        && !id.is_empty()
    {
        return Ok(id);
    }
    let id = std::fs::read_to_string("/proc/sys/kernel/random/uuid")
        .map_err(|e| anyhow::anyhow!("making an instance id: {e}"))?
        .trim()
        .to_owned();
    INSTANCE_ID.set(store, &id)?;
    Ok(id)
}
