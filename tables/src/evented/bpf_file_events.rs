//! `bpf_file_events`: writes, creates, truncates, removals, renames, mode and owner changes,
//! links and directories, from vigil's eBPF probes, with absolute, normalised paths.

use std::sync::Arc;

use vigil_events::{
    Counters, EventStore, EventTable, FileEvent, StoredText,
    event_table::file::{FileEventView, decode_file_event_view},
};

use super::StoredTable;
use crate::{
    row::table_row,
    table::{Row, UsedColumns, Value},
};

table_row! {
    struct FileEventRow {
        operation: Text,
        pid: BigInt,
        ppid: BigInt,
        uid: BigInt,
        gid: BigInt,
        euid: BigInt,
        path: Text,
        dest_path: Text,
        mode: Text,
        flags: Integer,
        inode: BigInt,
        device: BigInt,
        executable: Text,
        cmdline: Text,
        cid: BigInt,
        success: Integer,
        errno: Integer,
        ntime: Text,
        #[hidden]
        time: BigInt,
        #[hidden]
        eid: Integer,
        // Extras.
        syscall: Text,
        resolved: Integer,
        tid: BigInt,
        egid: BigInt,
        comm: Text,
        fd: Integer,
        exit_code: Text,
        new_uid: BigInt,
        new_gid: BigInt,
        size: BigInt,
        duration: Integer,
    }
}

/// The table over `store` (empty without one).
pub fn table(store: Option<Arc<EventStore>>, counters: &Counters) -> StoredTable {
    StoredTable::new(
        EventTable::BpfFileEvents,
        FileEventRow::COLUMNS,
        |bytes, seq, used| decode_file_event_view(bytes).map(|event| row_of(&event, seq, used)),
        store,
        counters,
    )
    .with_verbatim_columns(&[
        FileEventRow::path,
        FileEventRow::dest_path,
        FileEventRow::executable,
        FileEventRow::cmdline,
        FileEventRow::comm,
    ])
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
    row_of(&event.view(), seq, UsedColumns::ALL)
}

/// The row with at least the `used` columns filled (text cells are made only when read).
pub fn row_of(event: &FileEventView<'_>, seq: u64, used: UsedColumns) -> Row {
    type R = FileEventRow;
    let a = &event.actor;
    let t = &a.task;
    let success = event.result >= 0;
    let name = |column: usize, value: &'static str| used.cell(column, || value.into());
    let text = |column: usize, value: StoredText<'_>| {
        used.cell(column, || value.to_str_lossy().into_owned().into())
    };
    FileEventRow {
        operation: name(R::operation, event.operation.as_str()),
        pid: t.pid.into(),
        ppid: t.parent.into(),
        uid: t.uid.into(),
        gid: t.gid.into(),
        euid: t.euid.into(),
        path: text(R::path, event.path),
        dest_path: text(R::dest_path, event.dest_path),
        mode: used.cell(R::mode, || format!("{:04o}", event.mode & 0o7777).into()),
        flags: event.flags.into(),
        inode: event.inode.into(),
        device: event.device.into(),
        executable: text(R::executable, a.path),
        cmdline: text(R::cmdline, a.cmdline),
        cid: t.cgroup_id.into(),
        success: Value::Int(i64::from(success)),
        errno: Value::Int(if success { 0 } else { -event.result }),
        ntime: used.cell(R::ntime, || event.time_ns.to_string().into()),
        time: (event.time_ns / 1_000_000_000).into(),
        eid: seq.into(),
        syscall: name(R::syscall, event.syscall.as_str()),
        resolved: Value::Int(i64::from(event.path_resolved)),
        tid: t.tid.into(),
        egid: t.egid.into(),
        comm: text(R::comm, t.comm),
        fd: Value::Int(i64::from(event.fd)),
        exit_code: used.cell(R::exit_code, || event.result.to_string().into()),
        new_uid: optional_id(event.new_uid),
        new_gid: optional_id(event.new_gid),
        size: Value::Int(event.size),
        duration: event.duration_ns.into(),
    }
    .into()
}
