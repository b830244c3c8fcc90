//! `etw_file_events`: new files, first writes, deletes and renames from ETW's
//! Microsoft-Windows-Kernel-File (Windows), in the style of `bpf_file_events`. The rows are
//! built and checked on every platform; the table exists where its publisher does.

use vigil_events::etw::EtwFileEvent;

use crate::{row::table_row, table::Row};

table_row! {
    pub struct EtwFileEventRow {
        tid: BigInt,
        pid: BigInt,
        operation: Text,
        path: Text,
        // The kernel's FILE_OBJECT address in hex: ties a write to its open.
        file_object: Text,
        create_options: BigInt,
        attributes: BigInt,
        share_access: BigInt,
        offset: BigInt,
        size: BigInt,
        ntime: Text,
        #[hidden]
        time: BigInt,
        #[hidden]
        eid: Integer,
    }
}

#[cfg(windows)]
/// The table over `store` (empty without one).
pub fn table(
    store: Option<std::sync::Arc<vigil_events::EventStore>>,
    counters: &vigil_events::Counters,
) -> super::StoredTable {
    super::StoredTable::new(
        vigil_events::EventTable::EtwFileEvents,
        EtwFileEventRow::COLUMNS,
        |bytes, seq, _used, buffer| {
            vigil_events::etw::stored::decode_file(bytes).map(|e| buffer.set_row(row(&e, seq)))
        },
        store,
        counters,
    )
}

pub fn row(event: &EtwFileEvent, seq: u64) -> Row {
    EtwFileEventRow {
        tid: event.tid.into(),
        pid: event.pid.into(),
        operation: event.operation.as_str().into(),
        path: event.path.as_str().into(),
        file_object: format!("0x{:x}", event.file_object).into(),
        create_options: event.create_options.into(),
        attributes: event.attributes.into(),
        share_access: event.share_access.into(),
        offset: event.offset.into(),
        size: event.size.into(),
        ntime: event.time_ns.to_string().into(),
        time: (event.time_ns / 1_000_000_000).into(),
        eid: seq.into(),
    }
    .into()
}

#[cfg(test)]
mod tests {
    use vigil_events::etw::FileOperation;

    use super::*;
    use crate::table::{Value, row_mismatch};

    #[test]
    fn a_write_row_matches_its_columns() {
        let event = EtwFileEvent {
            operation: FileOperation::Write,
            time_ns: 1_700_000_001_010_000_000,
            pid: 7464,
            tid: 8120,
            path: r"C:\Users\alice\AppData\Local\Temp\report.docx".into(),
            file_object: 0xFFFF_9A0C_6E1F_4C30,
            create_options: 0,
            attributes: 0,
            share_access: 0,
            offset: 4096,
            size: 4096,
        };
        let row = row(&event, 3);
        assert_eq!(row_mismatch(EtwFileEventRow::COLUMNS, &row), None);
        assert_eq!(row[EtwFileEventRow::operation], Value::Text("write".into()));
        assert_eq!(
            row[EtwFileEventRow::file_object],
            Value::Text("0xffff9a0c6e1f4c30".into())
        );
        assert_eq!(row[EtwFileEventRow::time], Value::Int(1_700_000_001));
    }
}
