//! `vigil_info` (alias `osquery_info`): this agent, with osquery_info's columns so fleet managers'
//! host-detail queries run unchanged.

use std::sync::Arc;

use vigil_events::EventStore;
use vigil_state::daemon;

use crate::{
    snapshot::util::{host_uuid, rows},
    table::{
        Column,
        ColumnType::{Integer, Text},
        Rows, ScanRequest, Table, TableError, Value,
    },
};

const COLUMNS: &[Column] = &[
    Column::new("pid", Integer),
    Column::new("uuid", Text),
    Column::new("instance_id", Text),
    Column::new("version", Text),
    Column::new("config_hash", Text),
    Column::new("config_valid", Integer),
    Column::new("extensions", Text),
    Column::new("build_platform", Text),
    Column::new("build_distro", Text),
    Column::new("start_time", Integer),
    Column::new("watcher", Integer),
    Column::new("platform_mask", Integer),
];

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
    /// The flags this process runs with (`vigil_flags`).
    pub flags: Vec<super::vigil_flags::FlagInfo>,
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
            flags: Vec::new(),
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
        COLUMNS
    }

    fn scan(&self, _request: &ScanRequest) -> Result<Rows, TableError> {
        let i = &self.info;
        let (instance_id, config_hash, config_valid) = self.state()?;
        Ok(rows(vec![vec![
            std::process::id().into(),
            host_uuid().unwrap_or_default().into(),
            instance_id.into(),
            i.version.into(),
            config_hash.into(),
            config_valid.into(),
            "active".into(),
            "linux".into(),
            distro().into(),
            Value::Int(i.start_time),
            Value::Int(i.watcher),
            Value::Int(PLATFORM_MASK_LINUX),
        ]]))
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
