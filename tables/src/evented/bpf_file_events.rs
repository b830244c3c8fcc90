//! `bpf_file_events`: writes, creates, truncates, removals, renames, mode and owner changes,
//! links and directories, from vigil's eBPF probes, with absolute, normalised paths.

use std::{fmt::Write as _, sync::Arc};

use vigil_events::{
    Counters, EventStore, EventTable, FileEvent, StoredText,
    event_table::file::{FileEventView, decode_file_event_view},
};

use super::StoredTable;
use crate::{
    cell::Cell,
    row::table_row,
    table::{Row, UsedColumns},
};

table_row! {
    struct FileEventRow<'a> {
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
        |bytes, seq, used, buffer| {
            decode_file_event_view(bytes).map(|event| row_of(&event, seq, used).write_to(buffer))
        },
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
fn optional_id(id: u32) -> Cell<'static> {
    if id == u32::MAX {
        Cell::Null
    } else {
        id.into()
    }
}

pub fn row(event: &FileEvent, seq: u64) -> Row {
    row_of(&event.view(), seq, UsedColumns::ALL).into()
}

/// The row with at least the `used` columns filled (text cells are made only when read).
fn row_of<'a>(event: &'a FileEventView<'a>, seq: u64, used: UsedColumns) -> FileEventRow<'a> {
    type R<'a> = FileEventRow<'a>;
    let a = &event.actor;
    let t = &a.task;
    let success = event.result >= 0;
    let name = |column: usize, value: &'static str| used.cell(column, || value.into());
    let text =
        |column: usize, value: StoredText<'a>| used.cell(column, || value.to_str_lossy().into());
    FileEventRow {
        operation: name(R::operation, event.operation.as_str()),
        pid: t.pid.into(),
        ppid: t.parent.into(),
        uid: t.uid.into(),
        gid: t.gid.into(),
        euid: t.euid.into(),
        path: text(R::path, event.path),
        dest_path: text(R::dest_path, event.dest_path),
        mode: used.cell(R::mode, || {
            Cell::IntWith(i64::from(event.mode & 0o7777), |mode, out| {
                // Writing into a String cannot fail.
                let _ = write!(out, "{mode:04o}");
            })
        }),
        flags: event.flags.into(),
        inode: event.inode.into(),
        device: event.device.into(),
        executable: text(R::executable, a.path),
        cmdline: text(R::cmdline, a.cmdline),
        cid: t.cgroup_id.into(),
        success: Cell::Int(i64::from(success)),
        errno: Cell::Int(if success { 0 } else { -event.result }),
        ntime: used.cell(R::ntime, || Cell::IntText(event.time_ns.into())),
        time: (event.time_ns / 1_000_000_000).into(),
        eid: seq.into(),
        syscall: name(R::syscall, event.syscall.as_str()),
        resolved: Cell::Int(i64::from(event.path_resolved)),
        tid: t.tid.into(),
        egid: t.egid.into(),
        comm: text(R::comm, t.comm),
        fd: Cell::Int(i64::from(event.fd)),
        exit_code: used.cell(R::exit_code, || Cell::IntText(event.result.into())),
        new_uid: optional_id(event.new_uid),
        new_gid: optional_id(event.new_gid),
        size: Cell::Int(event.size),
        duration: event.duration_ns.into(),
    }
}
