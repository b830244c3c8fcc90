//! Who this host is.

use vigil_events::{EventStore, store::StateBatch};
use vigil_tables::agent::vigil_info::INSTANCE_ID_KEY;

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
    if let Some(id) = store.get_state(INSTANCE_ID_KEY)?
        && !id.is_empty()
    {
        return Ok(String::from_utf8_lossy(&id).into_owned());
    }
    let id = std::fs::read_to_string("/proc/sys/kernel/random/uuid")
        .map_err(|e| anyhow::anyhow!("making an instance id: {e}"))?
        .trim()
        .to_owned();
    store.commit_state(StateBatch {
        puts: vec![(INSTANCE_ID_KEY.to_vec(), id.as_bytes().to_vec())],
        ..StateBatch::default()
    })?;
    Ok(id)
}
