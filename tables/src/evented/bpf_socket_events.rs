//! `bpf_socket_events`: connect, accept, accept4, bind and listen calls seen by vigil's eBPF
//! probes, with osquery's columns first and vigil's extras after them.

use std::sync::Arc;

use vigil_events::{
    Counters, EventStore, EventTable, SocketEvent, StoredText,
    event_table::socket::{SocketEventView, decode_socket_event_view},
};

use super::StoredTable;
use crate::{
    cell::Cell,
    row::table_row,
    table::{Row, UsedColumns},
};

table_row! {
    struct SocketEventRow<'a> {
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
        fd: Text,
        family: Integer,
        r#type: Integer,
        protocol: Integer,
        local_address: Text,
        remote_address: Text,
        local_port: Integer,
        remote_port: Integer,
        duration: Integer,
        ntime: Text,
        #[hidden]
        time: BigInt,
        #[hidden]
        eid: Integer,
        // vigil's extras.
        status: Text,
        euid: BigInt,
        egid: BigInt,
        comm: Text,
        cmdline: Text,
        socket: Text,
    }
}

/// The table over `store` (empty without one).
pub fn table(store: Option<Arc<EventStore>>, counters: &Counters) -> StoredTable {
    StoredTable::new(
        EventTable::BpfSocketEvents,
        SocketEventRow::COLUMNS,
        |bytes, seq, used, buffer| {
            decode_socket_event_view(bytes).map(|event| row_of(&event, seq, used).write_to(buffer))
        },
        store,
        counters,
    )
    .with_verbatim_columns(&[
        SocketEventRow::path,
        SocketEventRow::local_address,
        SocketEventRow::remote_address,
        SocketEventRow::comm,
        SocketEventRow::cmdline,
        SocketEventRow::socket,
    ])
}

pub fn row(event: &SocketEvent, seq: u64) -> Row {
    row_of(&event.view(), seq, UsedColumns::ALL).into()
}

/// The row with at least the `used` columns filled (text cells are made only when read).
fn row_of<'a>(event: &'a SocketEventView<'a>, seq: u64, used: UsedColumns) -> SocketEventRow<'a> {
    type R<'a> = SocketEventRow<'a>;
    let a = &event.actor;
    let t = &a.task;
    let name = |column: usize, value: &'static str| used.cell(column, || value.into());
    let text =
        |column: usize, value: StoredText<'a>| used.cell(column, || value.to_str_lossy().into());
    SocketEventRow {
        tid: t.tid.into(),
        pid: t.pid.into(),
        parent: t.parent.into(),
        uid: t.uid.into(),
        gid: t.gid.into(),
        cid: t.cgroup_id.into(),
        exit_code: used.cell(R::exit_code, || Cell::IntText(event.result.into())),
        probe_error: event.probe_error.into(),
        syscall: name(R::syscall, event.syscall.as_str()),
        path: text(R::path, a.path),
        fd: used.cell(R::fd, || Cell::IntText(event.fd.into())),
        family: u32::from(event.family).into(),
        r#type: u32::from(event.sock_type).into(),
        protocol: u32::from(event.protocol).into(),
        local_address: text(R::local_address, event.local_address),
        remote_address: text(R::remote_address, event.remote_address),
        local_port: u32::from(event.local_port).into(),
        remote_port: u32::from(event.remote_port).into(),
        duration: event.duration_ns.into(),
        ntime: used.cell(R::ntime, || Cell::IntText(event.time_ns.into())),
        time: (event.time_ns / 1_000_000_000).into(),
        eid: seq.into(),
        status: name(R::status, event.status().as_str()),
        euid: t.euid.into(),
        egid: t.egid.into(),
        comm: text(R::comm, t.comm),
        cmdline: text(R::cmdline, a.cmdline),
        socket: text(R::socket, event.socket_path),
    }
}
