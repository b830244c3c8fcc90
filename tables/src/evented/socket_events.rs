//! `socket_events`: bind, connect and accept calls from the kernel's audit records (the audit
//! publisher, `--disable_audit=false --audit_allow_sockets`), with osquery's columns first and
//! vigil's extras after them.

use std::sync::Arc;

use vigil_events::{
    AuditSocketEvent, Counters, EventStore, EventTable, Syscall,
    event_table::audit::decode_audit_socket_event,
};

use super::StoredTable;
use crate::{row::table_row, table::Row};

table_row! {
    struct AuditSocketEventRow {
        // osquery's columns, in osquery's order.
        action: Text,
        pid: BigInt,
        path: Text,
        fd: Text,
        auid: BigInt,
        family: Integer,
        #[hidden]
        protocol: Integer,
        local_address: Text,
        remote_address: Text,
        local_port: Integer,
        remote_port: Integer,
        #[hidden]
        socket: Text,
        time: BigInt,
        uptime: BigInt,
        #[hidden]
        eid: Text,
        #[hidden]
        success: Integer,
        status: Text,
        // vigil's extras.
        syscall: Text,
        parent: BigInt,
        uid: BigInt,
        euid: BigInt,
        gid: BigInt,
        egid: BigInt,
        exit_code: Text,
        comm: Text,
        ntime: Text,
        audit_id: BigInt,
        incomplete: Integer,
    }
}

/// The table over `store` (empty without one).
pub fn table(store: Option<Arc<EventStore>>, counters: &Counters) -> StoredTable {
    StoredTable::new(
        EventTable::SocketEvents,
        AuditSocketEventRow::COLUMNS,
        |bytes, seq, _used, buffer| {
            decode_audit_socket_event(bytes).map(|event| buffer.set_row(row(&event, seq)))
        },
        store,
        counters,
    )
}

pub fn row(event: &AuditSocketEvent, seq: u64) -> Row {
    // osquery names both accept calls `accept`; `syscall` tells them apart.
    let action = match event.syscall {
        Syscall::Accept4 => "accept",
        other => other.as_str(),
    };
    AuditSocketEventRow {
        action: action.into(),
        pid: event.pid.into(),
        path: event.path.as_str().into(),
        fd: event.fd.to_string().into(),
        auid: event.ids.auid.into(),
        family: u32::from(event.family).into(),
        protocol: 0u32.into(),
        local_address: event.local_address.as_str().into(),
        remote_address: event.remote_address.as_str().into(),
        local_port: u32::from(event.local_port).into(),
        remote_port: u32::from(event.remote_port).into(),
        socket: event.socket_path.as_str().into(),
        time: (event.time_ns / 1_000_000_000).into(),
        uptime: event.uptime.into(),
        eid: seq.to_string().into(),
        success: (event.status != "failed").into(),
        status: event.status.as_str().into(),
        syscall: event.syscall.as_str().into(),
        parent: event.parent.into(),
        uid: event.ids.uid.into(),
        euid: event.ids.euid.into(),
        gid: event.ids.gid.into(),
        egid: event.ids.egid.into(),
        exit_code: event.result.to_string().into(),
        comm: event.comm.as_str().into(),
        ntime: event.time_ns.to_string().into(),
        audit_id: event.audit_id.into(),
        incomplete: event.incomplete.into(),
    }
    .into()
}
