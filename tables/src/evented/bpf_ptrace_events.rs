//! `bpf_ptrace_events`: ptrace requests that attach to another process or write into it
//! (attach, seize, pokes, register, option and signal writes) seen by vigil's eBPF probes,
//! successful or not, in the style of the other `bpf_*` tables: a process-injection signal.

use std::sync::Arc;

use vigil_events::{
    Counters, EventStore, EventTable,
    event_table::ptrace::{PtraceEvent, decode_ptrace_event},
};

use super::StoredTable;
use crate::{row::table_row, table::Row};

table_row! {
    struct PtraceEventRow {
        tid: BigInt,
        pid: BigInt,
        parent: BigInt,
        uid: BigInt,
        gid: BigInt,
        euid: BigInt,
        egid: BigInt,
        cid: Integer,
        exit_code: Text,
        probe_error: Integer,
        syscall: Text,
        path: Text,
        comm: Text,
        cmdline: Text,
        request: Text,
        target_pid: BigInt,
        addr: BigInt,
        data: BigInt,
        duration: Integer,
        ntime: Text,
        #[hidden]
        time: BigInt,
        #[hidden]
        eid: Integer,
    }
}

/// The table over `store` (empty without one).
pub fn table(store: Option<Arc<EventStore>>, counters: &Counters) -> StoredTable {
    StoredTable::new(
        EventTable::BpfPtraceEvents,
        PtraceEventRow::COLUMNS,
        |bytes, seq, _used, buffer| {
            decode_ptrace_event(bytes).map(|event| buffer.set_row(row(&event, seq)))
        },
        store,
        counters,
    )
}

pub fn row(event: &PtraceEvent, seq: u64) -> Row {
    let a = &event.actor;
    let t = &a.task;
    PtraceEventRow {
        tid: t.tid.into(),
        pid: t.pid.into(),
        parent: t.parent.into(),
        uid: t.uid.into(),
        gid: t.gid.into(),
        euid: t.euid.into(),
        egid: t.egid.into(),
        cid: t.cgroup_id.into(),
        exit_code: event.result.to_string().into(),
        probe_error: event.probe_error.into(),
        syscall: event.syscall.as_str().into(),
        path: a.path.as_str().into(),
        comm: t.comm.as_str().into(),
        cmdline: a.cmdline.as_str().into(),
        request: event.request_name().into(),
        target_pid: event.target_pid.into(),
        // SQLite integers are signed: an address or word past i64::MAX shows as its two's
        // complement, as osquery shows such values.
        addr: (event.addr as i64).into(),
        data: (event.data as i64).into(),
        duration: event.duration_ns.into(),
        ntime: event.time_ns.to_string().into(),
        time: (event.time_ns / 1_000_000_000).into(),
        eid: seq.into(),
    }
    .into()
}
