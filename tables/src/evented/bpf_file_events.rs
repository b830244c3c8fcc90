//! `bpf_file_events`: writes, creates, truncates, removals, renames, mode and owner changes,
//! links and directories, from vigil's eBPF probes, with absolute, normalised paths.

use std::sync::Arc;

use vigil_events::{Counters, EventStore, EventTable, FileEvent, codec::decode_file_event};

use super::StoredTable;
use crate::table::{
    Column,
    ColumnType::{BigInt, Integer, Text},
    Row, Value,
};

const COLUMNS: &[Column] = &[
    Column::new("operation", Text),
    Column::new("pid", BigInt),
    Column::new("ppid", BigInt),
    Column::new("uid", BigInt),
    Column::new("gid", BigInt),
    Column::new("euid", BigInt),
    Column::new("path", Text),
    Column::new("dest_path", Text),
    Column::new("mode", Text),
    Column::new("flags", Integer),
    Column::new("inode", BigInt),
    Column::new("device", BigInt),
    Column::new("executable", Text),
    Column::new("cmdline", Text),
    Column::new("cid", BigInt),
    Column::new("success", Integer),
    Column::new("errno", Integer),
    Column::new("ntime", Text),
    Column::hidden("time", BigInt),
    Column::hidden("eid", Integer),
    // Extras.
    Column::new("syscall", Text),
    Column::new("resolved", Integer),
    Column::new("tid", BigInt),
    Column::new("egid", BigInt),
    Column::new("comm", Text),
    Column::new("fd", Integer),
    Column::new("exit_code", Text),
    Column::new("new_uid", BigInt),
    Column::new("new_gid", BigInt),
    Column::new("size", BigInt),
    Column::new("duration", Integer),
];

/// The table over `store` (empty without one).
pub fn table(store: Option<Arc<EventStore>>, counters: &Counters) -> StoredTable {
    StoredTable::new(
        EventTable::BpfFileEvents,
        COLUMNS,
        |bytes, seq| decode_file_event(bytes).map(|event| row(&event, seq)),
        store,
        counters,
    )
}

/// An id argument that was not given (`-1` to chown) reads as NULL, not 4294967295.
fn optional_id(id: u32) -> Value {
    if id == u32::MAX {
        Value::Null
    } else {
        id.into()
    }
}

pub fn row(event: &FileEvent, seq: u64) -> Row {
    let a = &event.actor;
    let t = &a.task;
    let success = event.result >= 0;
    vec![
        event.operation.as_str().into(),
        t.pid.into(),
        t.parent.into(),
        t.uid.into(),
        t.gid.into(),
        t.euid.into(),
        event.path.as_str().into(),
        event.dest_path.as_str().into(),
        format!("{:04o}", event.mode & 0o7777).into(),
        event.flags.into(),
        event.inode.into(),
        event.device.into(),
        a.path.as_str().into(),
        a.cmdline.as_str().into(),
        t.cgroup_id.into(),
        Value::Int(i64::from(success)),
        Value::Int(if success { 0 } else { -event.result }),
        event.time_ns.to_string().into(),
        (event.time_ns / 1_000_000_000).into(),
        seq.into(),
        event.syscall.as_str().into(),
        Value::Int(i64::from(event.path_resolved)),
        t.tid.into(),
        t.egid.into(),
        t.comm.as_str().into(),
        Value::Int(i64::from(event.fd)),
        event.result.to_string().into(),
        optional_id(event.new_uid),
        optional_id(event.new_gid),
        Value::Int(event.size),
        event.duration_ns.into(),
    ]
}
