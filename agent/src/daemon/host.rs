//! Who this host is, and where its kernel programs are pinned.

use vigil_events::{EventStore, linux::ebpf::pins};
use vigil_state::daemon::INSTANCE_ID;

use crate::cli::DaemonArgs;

/// Where a worker pins its kernel programs so they outlive it: one directory per database.
pub fn pin_dir(database: &std::path::Path) -> std::path::PathBuf {
    use std::os::unix::ffi::OsStrExt as _;
    let database = database
        .canonicalize()
        .unwrap_or_else(|_| database.to_owned());
    let id = pins::fnv1a(&[database.as_os_str().as_bytes()]);
    pins_root().join(format!("{id:016x}"))
}

/// Where every vigil daemon pins its kernel programs, one directory per database.
pub fn pins_root() -> std::path::PathBuf {
    std::path::Path::new(pins::BPFFS).join("vigil")
}

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
