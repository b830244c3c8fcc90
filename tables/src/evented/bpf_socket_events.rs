//! `bpf_socket_events`: connect, accept, accept4, bind and listen calls seen by vigil's eBPF
//! probes, with osquery's columns first and vigil's extras after them.

use std::sync::Arc;

use vigil_events::{Counters, EventStore, EventTable, SocketEvent, codec::decode_socket_event};

use super::StoredTable;
use crate::table::{
    Column,
    ColumnType::{BigInt, Integer, Text},
    Row,
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
    Column::new("fd", Text),
    Column::new("family", Integer),
    Column::new("type", Integer),
    Column::new("protocol", Integer),
    Column::new("local_address", Text),
    Column::new("remote_address", Text),
    Column::new("local_port", Integer),
    Column::new("remote_port", Integer),
    Column::new("duration", Integer),
    Column::new("ntime", Text),
    Column::hidden("time", BigInt),
    Column::hidden("eid", Integer),
    // vigil's extras.
    Column::new("status", Text),
    Column::new("euid", BigInt),
    Column::new("egid", BigInt),
    Column::new("comm", Text),
    Column::new("cmdline", Text),
    Column::new("socket", Text),
];

/// The table over `store` (empty without one).
pub fn table(store: Option<Arc<EventStore>>, counters: &Counters) -> StoredTable {
    StoredTable::new(
        EventTable::BpfSocketEvents,
        COLUMNS,
        |bytes, seq| decode_socket_event(bytes).map(|event| row(&event, seq)),
        store,
        counters,
    )
}

pub fn row(event: &SocketEvent, seq: u64) -> Row {
    let a = &event.actor;
    let t = &a.task;
    vec![
        t.tid.into(),
        t.pid.into(),
        t.parent.into(),
        t.uid.into(),
        t.gid.into(),
        t.cgroup_id.into(),
        event.result.to_string().into(),
        event.probe_error.into(),
        event.syscall.as_str().into(),
        a.path.as_str().into(),
        event.fd.to_string().into(),
        u32::from(event.family).into(),
        u32::from(event.sock_type).into(),
        u32::from(event.protocol).into(),
        event.local_address.as_str().into(),
        event.remote_address.as_str().into(),
        u32::from(event.local_port).into(),
        u32::from(event.remote_port).into(),
        event.duration_ns.into(),
        event.time_ns.to_string().into(),
        (event.time_ns / 1_000_000_000).into(),
        seq.into(),
        event.status().as_str().into(),
        t.euid.into(),
        t.egid.into(),
        t.comm.as_str().into(),
        a.cmdline.as_str().into(),
        event.socket_path.as_str().into(),
    ]
}
