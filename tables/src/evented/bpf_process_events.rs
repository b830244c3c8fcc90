//! `bpf_process_events`: exec, fork/clone and exit events from vigil's eBPF probes, with
//! osquery's columns first and vigil's extras after them.

use std::sync::Arc;

use vigil_events::{Counters, EventStore, EventTable, ProcessEvent, codec::decode_process_event};

use super::StoredTable;
use crate::table::{
    Column,
    ColumnType::{BigInt, Integer, Text},
    Row, Value,
};

const COLUMNS: &[Column] = &[
    // osquery's columns, in osquery's order.
    Column::new("tid", BigInt),
    Column::new("pid", BigInt),
    Column::new("parent", BigInt),
    Column::new("uid", BigInt),
    Column::new("gid", BigInt),
    Column::new("cid", Integer),
    Column::new("exit_code", Text),
    Column::new("probe_error", Integer),
    Column::new("syscall", Text),
    Column::new("path", Text),
    Column::new("cwd", Text),
    Column::new("cmdline", Text),
    Column::new("duration", Integer),
    Column::hidden("json_cmdline", Text),
    Column::new("ntime", Text),
    Column::hidden("time", BigInt),
    Column::hidden("eid", Integer),
    // vigil's extras.
    Column::new("euid", BigInt),
    Column::new("egid", BigInt),
    Column::new("comm", Text),
    Column::new("argc", Integer),
    Column::new("truncated", Integer),
    Column::new("filename", Text),
    Column::new("parent_path", Text),
    Column::new("child_pid", BigInt),
    Column::new("exit_signal", Integer),
];

/// The table over `store` (empty without one).
pub fn table(store: Option<Arc<EventStore>>, counters: &Counters) -> StoredTable {
    StoredTable::new(
        EventTable::BpfProcessEvents,
        COLUMNS,
        |bytes, seq| decode_process_event(bytes).map(|event| row(&event, seq)),
        store,
        counters,
    )
}

pub fn row(event: &ProcessEvent, seq: u64) -> Row {
    vec![
        event.task.tid.into(),
        event.task.pid.into(),
        event.task.parent.into(),
        event.task.uid.into(),
        event.task.gid.into(),
        event.task.cgroup_id.into(),
        event.exit_code.to_string().into(),
        event.probe_error.into(),
        event.syscall.as_str().into(),
        event.path.as_str().into(),
        event.cwd.as_str().into(),
        event.cmdline().into(),
        event.duration_ns.into(),
        serde_json::to_string(&event.argv)
            .unwrap_or_default()
            .into(),
        event.time_ns.to_string().into(),
        (event.time_ns / 1_000_000_000).into(),
        seq.into(),
        event.task.euid.into(),
        event.task.egid.into(),
        event.task.comm.as_str().into(),
        (event.argv.len() as u64).into(),
        Value::Int(i64::from(event.argv_truncated)),
        event.filename.as_str().into(),
        event.parent_path.as_str().into(),
        event.child_pid.into(),
        event.exit_signal.into(),
    ]
}
