//! `bpf_process_events`: exec, fork/clone and exit events from vigil's eBPF probes, with
//! osquery's columns first and vigil's extras after them.

use std::sync::Arc;

use vigil_events::{
    Counters, EventStore, EventTable, ProcessEvent, StoredText,
    event_table::process::{Args, ProcessEventView, decode_process_event_view},
};

use super::StoredTable;
use crate::{
    cell::{Cell, WriteText},
    row::table_row,
    table::{Row, UsedColumns},
};

table_row! {
    struct ProcessEventRow<'a> {
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
        |bytes, seq, used, buffer| {
            decode_process_event_view(bytes).map(|event| row_of(&event, seq, used).write_to(buffer))
        },
        store,
        counters,
    )
    .with_verbatim_columns(&[
        ProcessEventRow::path,
        ProcessEventRow::cwd,
        ProcessEventRow::comm,
        ProcessEventRow::filename,
        ProcessEventRow::parent_path,
    ])
}

pub fn row(event: &ProcessEvent, seq: u64) -> Row {
    row_of(&event.view(), seq, UsedColumns::ALL).into()
}

/// The row with at least the `used` columns filled (text cells are made only when read).
fn row_of<'a>(event: &'a ProcessEventView<'a>, seq: u64, used: UsedColumns) -> ProcessEventRow<'a> {
    type R<'a> = ProcessEventRow<'a>;
    let task = &event.task;
    let text =
        |column: usize, value: StoredText<'a>| used.cell(column, || value.to_str_lossy().into());
    ProcessEventRow {
        tid: task.tid.into(),
        pid: task.pid.into(),
        parent: task.parent.into(),
        uid: task.uid.into(),
        gid: task.gid.into(),
        cid: task.cgroup_id.into(),
        exit_code: used.cell(R::exit_code, || Cell::IntText(event.exit_code.into())),
        probe_error: event.probe_error.into(),
        syscall: used.cell(R::syscall, || event.syscall.as_str().into()),
        path: text(R::path, event.path),
        cwd: text(R::cwd, event.cwd),
        cmdline: used.cell(R::cmdline, || Cell::Written(&event.argv)),
        duration: event.duration_ns.into(),
        json_cmdline: used.cell(R::json_cmdline, || {
            let argv: Vec<_> = event.argv.iter().collect();
            serde_json::to_string(&argv).unwrap_or_default().into()
        }),
        ntime: used.cell(R::ntime, || Cell::IntText(event.time_ns.into())),
        time: (event.time_ns / 1_000_000_000).into(),
        eid: seq.into(),
        euid: task.euid.into(),
        egid: task.egid.into(),
        comm: text(R::comm, task.comm),
        argc: (event.argv.len() as u64).into(),
        truncated: Cell::Int(i64::from(event.argv_truncated)),
        filename: text(R::filename, event.filename),
        parent_path: text(R::parent_path, event.parent_path),
        child_pid: event.child_pid.into(),
        exit_signal: event.exit_signal.into(),
    }
}

/// `cmdline` is written straight into the scan's buffer, never built as a string of its own.
impl WriteText for Args<'_> {
    fn write_text(&self, out: &mut String) {
        self.write_cmdline(out);
    }
}
