//! `process_etw_events`: process starts and stops from ETW (Windows), with osquery's columns
//! first and vigil's extras after them. The rows are built and checked on every platform; the
//! table exists where its publisher does.

use vigil_events::etw::EtwProcessEvent;

use crate::{row::table_row, table::Row};

table_row! {
    pub struct EtwProcessEventRow {
        // osquery's columns, in osquery's order.
        r#type: Text,
        pid: BigInt,
        ppid: BigInt,
        session_id: Integer,
        flags: Integer,
        exit_code: Integer,
        path: Text,
        cmdline: Text,
        username: Text,
        token_elevation_type: Text,
        token_elevation_status: Integer,
        mandatory_label: Text,
        // osquery's DATETIME: the Unix time in seconds.
        datetime: BigInt,
        #[hidden]
        time_windows: BigInt,
        #[hidden]
        time: BigInt,
        #[hidden]
        eid: Integer,
        #[hidden]
        header_pid: BigInt,
        #[hidden]
        process_sequence_number: BigInt,
        #[hidden]
        parent_process_sequence_number: BigInt,
        // vigil's extras.
        user_sid: Text,
        ntime: Text,
    }
}

#[cfg(windows)]
/// The table over `store` (empty without one).
pub fn table(
    store: Option<std::sync::Arc<vigil_events::EventStore>>,
    counters: &vigil_events::Counters,
) -> super::StoredTable {
    super::StoredTable::new(
        vigil_events::EventTable::EtwProcessEvents,
        EtwProcessEventRow::COLUMNS,
        |bytes, seq, _used, buffer| {
            vigil_events::etw::stored::decode_process(bytes)
                .map(|event| buffer.set_row(row(&event, seq)))
        },
        store,
        counters,
    )
}

pub fn row(event: &EtwProcessEvent, seq: u64) -> Row {
    let seconds = event.time_ns / 1_000_000_000;
    EtwProcessEventRow {
        r#type: event.event_type.as_str().into(),
        pid: event.pid.into(),
        ppid: event.ppid.into(),
        session_id: event.session_id.into(),
        flags: event.flags.into(),
        exit_code: event.exit_code.into(),
        path: event.path.as_str().into(),
        cmdline: event.cmdline.as_str().into(),
        username: event.username.as_str().into(),
        token_elevation_type: event.token_elevation_type.as_str().into(),
        token_elevation_status: event.token_elevation_status.into(),
        mandatory_label: event.mandatory_label.as_str().into(),
        datetime: seconds.into(),
        time_windows: event.time_windows.into(),
        time: seconds.into(),
        eid: seq.into(),
        header_pid: event.header_pid.into(),
        process_sequence_number: event.process_sequence_number.into(),
        parent_process_sequence_number: event.parent_process_sequence_number.into(),
        user_sid: event.user_sid.as_str().into(),
        ntime: event.time_ns.to_string().into(),
    }
    .into()
}

#[cfg(test)]
mod tests {
    use vigil_events::etw::ProcessEventType;

    use super::*;
    use crate::table::{Value, row_mismatch};

    #[test]
    fn a_start_fills_osquerys_columns_in_osquerys_order() {
        let names: Vec<&str> = EtwProcessEventRow::COLUMNS.iter().map(|c| c.name).collect();
        assert_eq!(
            names[..19],
            [
                "type",
                "pid",
                "ppid",
                "session_id",
                "flags",
                "exit_code",
                "path",
                "cmdline",
                "username",
                "token_elevation_type",
                "token_elevation_status",
                "mandatory_label",
                "datetime",
                "time_windows",
                "time",
                "eid",
                "header_pid",
                "process_sequence_number",
                "parent_process_sequence_number",
            ]
        );
        let event = EtwProcessEvent {
            event_type: ProcessEventType::ProcessStop,
            time_ns: 1_700_000_002_500_000_000,
            time_windows: 133_444_736_025_000_000,
            header_pid: 5932,
            pid: 7464,
            ppid: 5932,
            session_id: 1,
            flags: 0,
            exit_code: -1_073_741_510,
            path: r"C:\Windows\System32\cmd.exe".into(),
            cmdline: "cmd.exe /c exit 1".into(),
            user_sid: "S-1-5-18".into(),
            username: r"NT AUTHORITY\SYSTEM".into(),
            token_elevation_type: String::new(),
            token_elevation_status: 0,
            mandatory_label: String::new(),
            process_sequence_number: 9,
            parent_process_sequence_number: 8,
        };
        let row = row(&event, 17);
        assert_eq!(row_mismatch(EtwProcessEventRow::COLUMNS, &row), None);
        assert_eq!(
            row[EtwProcessEventRow::r#type],
            Value::Text("ProcessStop".into())
        );
        assert_eq!(
            row[EtwProcessEventRow::exit_code],
            Value::Int(-1_073_741_510)
        );
        assert_eq!(row[EtwProcessEventRow::datetime], Value::Int(1_700_000_002));
        assert_eq!(
            row[EtwProcessEventRow::process_sequence_number],
            Value::Int(9)
        );
        assert_eq!(
            row[EtwProcessEventRow::parent_process_sequence_number],
            Value::Int(8)
        );
        assert_eq!(row[EtwProcessEventRow::eid], Value::Int(17));
    }
}
