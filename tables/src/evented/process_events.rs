//! `process_events`: execs and forks from the kernel's audit records (the audit publisher,
//! `--disable_audit=false`), with osquery's columns first and vigil's extras after them.

use std::sync::Arc;

use vigil_events::{
    AuditProcessEvent, Counters, EventStore, EventTable,
    event_table::audit::decode_audit_process_event,
};

use super::StoredTable;
use crate::{row::table_row, table::Row};

table_row! {
    struct AuditProcessEventRow {
        // osquery's columns, in osquery's order.
        pid: BigInt,
        path: Text,
        mode: Text,
        cmdline: Text,
        #[hidden]
        cmdline_size: BigInt,
        #[hidden]
        env: Text,
        #[hidden]
        env_count: BigInt,
        #[hidden]
        env_size: BigInt,
        cwd: Text,
        auid: BigInt,
        uid: BigInt,
        euid: BigInt,
        gid: BigInt,
        egid: BigInt,
        owner_uid: BigInt,
        owner_gid: BigInt,
        atime: BigInt,
        mtime: BigInt,
        ctime: BigInt,
        btime: BigInt,
        #[hidden]
        overflows: Text,
        parent: BigInt,
        time: BigInt,
        uptime: BigInt,
        #[hidden]
        eid: Text,
        fsuid: BigInt,
        suid: BigInt,
        fsgid: BigInt,
        sgid: BigInt,
        syscall: Text,
        // vigil's extras.
        ntime: Text,
        audit_id: BigInt,
        tty: Text,
        ses: BigInt,
        comm: Text,
        #[hidden]
        json_cmdline: Text,
        incomplete: Integer,
    }
}

/// The table over `store` (empty without one).
pub fn table(store: Option<Arc<EventStore>>, counters: &Counters) -> StoredTable {
    StoredTable::new(
        EventTable::ProcessEvents,
        AuditProcessEventRow::COLUMNS,
        |bytes, seq, _used, buffer| {
            decode_audit_process_event(bytes).map(|event| buffer.set_row(row(&event, seq)))
        },
        store,
        counters,
    )
}

pub fn row(event: &AuditProcessEvent, seq: u64) -> Row {
    let ids = &event.ids;
    let cmdline = event.cmdline();
    AuditProcessEventRow {
        pid: event.pid.into(),
        path: event.path.as_str().into(),
        mode: event.mode.as_str().into(),
        cmdline_size: (cmdline.len() as u64).into(),
        cmdline: cmdline.into(),
        env: "".into(),
        env_count: 0u32.into(),
        env_size: 0u32.into(),
        cwd: event.cwd.as_str().into(),
        auid: ids.auid.into(),
        uid: ids.uid.into(),
        euid: ids.euid.into(),
        gid: ids.gid.into(),
        egid: ids.egid.into(),
        owner_uid: event.owner_uid.into(),
        owner_gid: event.owner_gid.into(),
        atime: event.atime.into(),
        mtime: event.mtime.into(),
        ctime: event.ctime.into(),
        btime: 0u32.into(),
        overflows: "".into(),
        parent: event.parent.into(),
        time: (event.time_ns / 1_000_000_000).into(),
        uptime: event.uptime.into(),
        eid: seq.to_string().into(),
        fsuid: ids.fsuid.into(),
        suid: ids.suid.into(),
        fsgid: ids.fsgid.into(),
        sgid: ids.sgid.into(),
        syscall: event.syscall.as_str().into(),
        ntime: event.time_ns.to_string().into(),
        audit_id: event.audit_id.into(),
        tty: event.tty.as_str().into(),
        ses: event.session.into(),
        comm: event.comm.as_str().into(),
        json_cmdline: serde_json::to_string(&event.argv)
            .unwrap_or_default()
            .into(),
        incomplete: event.incomplete.into(),
    }
    .into()
}
