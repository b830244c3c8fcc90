//! `vigil_info` (alias `osquery_info`): this agent, with osquery_info's columns so fleet managers'
//! host-detail queries run unchanged.

use std::sync::Arc;

use vigil_events::EventStore;
use vigil_state::daemon;

use crate::{
    row::table_row,
    snapshot::util::{host_uuid, rows},
    table::{Column, Row, Rows, ScanRequest, Table, TableError, Value},
};

table_row! {
    struct InfoRow {
        pid: Integer,
        uuid: Text,
        instance_id: Text,
        version: Text,
        config_hash: Text,
        config_valid: Integer,
        extensions: Text,
        build_platform: Text,
        build_distro: Text,
        start_time: Integer,
        watcher: Integer,
        platform_mask: Integer,
    }
}

/// What the running agent knows about itself.
#[derive(Debug, Clone)]
pub struct AgentInfo {
    pub version: &'static str,
    /// A stable id of this agent instance (kept in the database where there is one).
    pub instance_id: String,
    pub config_hash: String,
    pub config_valid: bool,
    /// Unix seconds when the process started.
    pub start_time: i64,
    /// The watcher process's pid, or -1 when there is none.
    pub watcher: i64,
    /// The flags this process runs with (`vigil_flags`, `vigil_registry`).
    pub flags: super::vigil_flags::FlagSource,
}

impl Default for AgentInfo {
    fn default() -> Self {
        Self {
            version: env!("CARGO_PKG_VERSION"),
            // The kernel's random UUID source: a fresh id for a process without a database.
            instance_id: std::fs::read_to_string("/proc/sys/kernel/random/uuid")
                .map(|s| s.trim().to_owned())
                .unwrap_or_default(),
            config_hash: String::new(),
            config_valid: false,
            start_time: vigil_events::wall_clock::unix_seconds(),
            watcher: -1,
            flags: super::vigil_flags::FlagSource::default(),
        }
    }
}

/// osquery's platform mask of a Linux host (POSIX | LINUX), also its enrollment `platform_type`.
pub const PLATFORM_MASK_LINUX: i64 = 9;

pub struct VigilInfo {
    info: AgentInfo,
    /// A daemon's database: its instance id and config state, also for `vigil query` reading it.
    store: Option<Arc<EventStore>>,
}

impl VigilInfo {
    pub fn new(info: AgentInfo, store: Option<Arc<EventStore>>) -> Self {
        Self { info, store }
    }

    /// The daemon's state in the database where there is one, this process's otherwise.
    fn state(&self) -> Result<(String, String, bool), TableError> {
        let i = &self.info;
        let own = (i.instance_id.clone(), i.config_hash.clone(), i.config_valid);
        let Some(store) = super::daemon_state(&self.store, "vigil_info")? else {
            return Ok(own);
        };
        let fail = super::store_failed("vigil_info");
        let Some(instance_id) = daemon::INSTANCE_ID.get(store).map_err(fail)? else {
            // Not a daemon's database.
            return Ok(own);
        };
        Ok((
            instance_id,
            daemon::CONFIG_HASH
                .get(store)
                .map_err(fail)?
                .unwrap_or_default(),
            daemon::CONFIG_VALID
                .get(store)
                .map_err(fail)?
                .unwrap_or(false),
        ))
    }
}

impl Table for VigilInfo {
    fn name(&self) -> &'static str {
        "vigil_info"
    }

    fn aliases(&self) -> &'static [&'static str] {
        &["osquery_info"]
    }

    fn columns(&self) -> &'static [Column] {
        InfoRow::COLUMNS
    }

    fn scan(&self, _request: &ScanRequest) -> Result<Rows, TableError> {
        let i = &self.info;
        let (instance_id, config_hash, config_valid) = self.state()?;
        let row = InfoRow {
            pid: std::process::id().into(),
            uuid: host_uuid().unwrap_or_default().into(),
            instance_id: instance_id.into(),
            version: i.version.into(),
            config_hash: config_hash.into(),
            config_valid: config_valid.into(),
            extensions: "active".into(),
            build_platform: "linux".into(),
            build_distro: distro().into(),
            start_time: Value::Int(i.start_time),
            watcher: Value::Int(i.watcher),
            platform_mask: Value::Int(PLATFORM_MASK_LINUX),
        };
        Ok(rows(vec![Row::from(row)]))
    }
}

/// The distribution as `/etc/os-release` names it (`debian`, `ubuntu`, ...).
fn distro() -> String {
    std::fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("ID="))
                .map(|id| id.trim_matches('"').to_owned())
        })
        .unwrap_or_default()
}
