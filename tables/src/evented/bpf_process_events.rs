//! `bpf_process_events`: exec, fork/clone and exit events from vigil's eBPF probes, with
//! osquery's columns first and vigil's extras after them.

use std::sync::Arc;

use vigil_events::{Counters, EventStore, EventTable, ProcessEvent, codec::decode_process_event};

use super::StoredTable;
use crate::{
    row::table_row,
    table::{Row, Value},
};

table_row! {
    struct ProcessEventRow {
        // osquery's columns, in osquery's order.
        tid: BigInt,
        pid: BigInt,
        parent: BigInt,
        uid: BigInt,
        gid: BigInt,
        cid: Integer,
        exit_code: Text,
        probe_error: Integer,
        syscall: Text,
        path: Text,
        cwd: Text,
        cmdline: Text,
        duration: Integer,
        #[hidden]
        json_cmdline: Text,
        ntime: Text,
        #[hidden]
        time: BigInt,
        #[hidden]
        eid: Integer,
        // vigil's extras.
        euid: BigInt,
        egid: BigInt,
        comm: Text,
        argc: Integer,
        truncated: Integer,
        filename: Text,
        parent_path: Text,
        child_pid: BigInt,
        exit_signal: Integer,
    }
}

/// The table over `store` (empty without one).
pub fn table(store: Option<Arc<EventStore>>, counters: &Counters) -> StoredTable {
    StoredTable::new(
        EventTable::BpfProcessEvents,
        ProcessEventRow::COLUMNS,
        |bytes, seq| decode_process_event(bytes).map(|event| row(&event, seq)),
        store,
        counters,
    )
}

pub fn row(event: &ProcessEvent, seq: u64) -> Row {
    let task = &event.task;
    ProcessEventRow {
        tid: task.tid.into(),
        pid: task.pid.into(),
        parent: task.parent.into(),
        uid: task.uid.into(),
        gid: task.gid.into(),
        cid: task.cgroup_id.into(),
        exit_code: event.exit_code.to_string().into(),
        probe_error: event.probe_error.into(),
        syscall: event.syscall.as_str().into(),
        path: event.path.as_str().into(),
        cwd: event.cwd.as_str().into(),
        cmdline: event.cmdline().into(),
        duration: event.duration_ns.into(),
        json_cmdline: serde_json::to_string(&event.argv)
            .unwrap_or_default()
            .into(),
        ntime: event.time_ns.to_string().into(),
        time: (event.time_ns / 1_000_000_000).into(),
        eid: seq.into(),
        euid: task.euid.into(),
        egid: task.egid.into(),
        comm: task.comm.as_str().into(),
        argc: (event.argv.len() as u64).into(),
        truncated: Value::Int(i64::from(event.argv_truncated)),
        filename: event.filename.as_str().into(),
        parent_path: event.parent_path.as_str().into(),
        child_pid: event.child_pid.into(),
        exit_signal: event.exit_signal.into(),
    }
    .into()
}
