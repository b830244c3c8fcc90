//! `es_process_file_events`: file creates, renames, writes, truncates, unlinks (and opens when
//! asked) from Endpoint Security (macOS), with osquery's columns. The rows are built and checked
//! on every platform; the table exists where its publisher does.

use vigil_events::es::EsFileEvent;

use crate::{row::table_row, table::Row};

table_row! {
    pub struct EsFileEventRow {
        version: Integer,
        seq_num: BigInt,
        global_seq_num: BigInt,
        pid: BigInt,
        parent: BigInt,
        path: Text,
        filename: Text,
        dest_filename: Text,
        event_type: Text,
        time: BigInt,
        #[hidden]
        eid: Text,
    }
}

#[cfg(target_os = "macos")]
/// The table over `store` (empty without one).
pub fn table(
    store: Option<std::sync::Arc<vigil_events::EventStore>>,
    counters: &vigil_events::Counters,
) -> super::StoredTable {
    super::StoredTable::new(
        vigil_events::EventTable::EsProcessFileEvents,
        EsFileEventRow::COLUMNS,
        |bytes, seq, _used, buffer| {
            vigil_events::es::stored::decode_file(bytes).map(|e| buffer.set_row(row(&e, seq)))
        },
        store,
        counters,
    )
}

pub fn row(event: &EsFileEvent, seq: u64) -> Row {
    EsFileEventRow {
        version: event.version.into(),
        seq_num: event.seq_num.into(),
        global_seq_num: event.global_seq_num.into(),
        pid: event.pid.into(),
        parent: event.parent.into(),
        path: event.path.as_str().into(),
        filename: event.filename.as_str().into(),
        dest_filename: event.dest_filename.as_str().into(),
        event_type: event.event_type.as_str().into(),
        time: (event.time_ns / 1_000_000_000).into(),
        eid: seq.to_string().into(),
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::{Value, row_mismatch};

    #[test]
    fn a_rename_row_has_osquerys_columns() {
        let names: Vec<&str> = EsFileEventRow::COLUMNS.iter().map(|c| c.name).collect();
        assert_eq!(
            names,
            [
                "version",
                "seq_num",
                "global_seq_num",
                "pid",
                "parent",
                "path",
                "filename",
                "dest_filename",
                "event_type",
                "time",
                "eid",
            ]
        );
        let event = EsFileEvent {
            version: 7,
            seq_num: 19,
            global_seq_num: 90_230,
            event_type: "rename".into(),
            time_ns: 1_700_000_000_400_000_000,
            pid: 48_200,
            parent: 48_199,
            path: "/bin/zsh".into(),
            filename: "/Users/alice/.zshrc.tmp".into(),
            dest_filename: "/Users/alice/.zshrc".into(),
        };
        let row = row(&event, 9);
        assert_eq!(row_mismatch(EsFileEventRow::COLUMNS, &row), None);
        assert_eq!(
            row[EsFileEventRow::dest_filename],
            Value::Text("/Users/alice/.zshrc".into())
        );
        assert_eq!(row[EsFileEventRow::eid], Value::Text("9".into()));
    }
}
