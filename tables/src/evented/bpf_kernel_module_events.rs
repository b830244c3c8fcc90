//! `bpf_kernel_module_events`: kernel module loads (init_module, finit_module) and unloads
//! (delete_module) seen by vigil's eBPF probes, successful or not, in the style of the other
//! `bpf_*` tables.

use std::sync::Arc;

use vigil_events::{
    Counters, EventStore, EventTable,
    event_table::kernel_module::{KernelModuleEvent, decode_kernel_module_event},
};

use super::StoredTable;
use crate::{row::table_row, table::Row};

table_row! {
    struct KernelModuleEventRow {
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
        name: Text,
        module_path: Text,
        size: BigInt,
        params: Text,
        flags: Integer,
        fd: Integer,
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
        EventTable::BpfKernelModuleEvents,
        KernelModuleEventRow::COLUMNS,
        |bytes, seq, _used, buffer| {
            decode_kernel_module_event(bytes).map(|event| buffer.set_row(row(&event, seq)))
        },
        store,
        counters,
    )
}

pub fn row(event: &KernelModuleEvent, seq: u64) -> Row {
    let a = &event.actor;
    let t = &a.task;
    KernelModuleEventRow {
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
        name: event.name.as_str().into(),
        module_path: event.module_path.as_str().into(),
        size: event.size.into(),
        params: event.params.as_str().into(),
        flags: event.flags.into(),
        fd: event.fd.into(),
        duration: event.duration_ns.into(),
        ntime: event.time_ns.to_string().into(),
        time: (event.time_ns / 1_000_000_000).into(),
        eid: seq.into(),
    }
    .into()
}
