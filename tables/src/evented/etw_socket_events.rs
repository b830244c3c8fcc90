//! `etw_socket_events`: TCP connections attempted and accepted, UDP datagrams sent and received,
//! from ETW's Microsoft-Windows-Kernel-Network (Windows), in the style of `bpf_socket_events`.
//! The rows are built and checked on every platform; the table exists where its publisher does.

use vigil_events::etw::EtwSocketEvent;

use crate::{row::table_row, table::Row};

table_row! {
    pub struct EtwSocketEventRow {
        pid: BigInt,
        action: Text,
        family: Integer,
        protocol: Integer,
        local_address: Text,
        remote_address: Text,
        local_port: Integer,
        remote_port: Integer,
        size: BigInt,
        connection_id: BigInt,
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
        vigil_events::EventTable::EtwSocketEvents,
        EtwSocketEventRow::COLUMNS,
        |bytes, seq, _used, buffer| {
            vigil_events::etw::stored::decode_socket(bytes).map(|e| buffer.set_row(row(&e, seq)))
        },
        store,
        counters,
    )
}

pub fn row(event: &EtwSocketEvent, seq: u64) -> Row {
    EtwSocketEventRow {
        pid: event.pid.into(),
        action: event.action.as_str().into(),
        family: u32::from(event.family).into(),
        protocol: u32::from(event.protocol).into(),
        local_address: event.local_address.as_str().into(),
        remote_address: event.remote_address.as_str().into(),
        local_port: u32::from(event.local_port).into(),
        remote_port: u32::from(event.remote_port).into(),
        size: event.size.into(),
        connection_id: event.connection_id.into(),
        ntime: event.time_ns.to_string().into(),
        time: (event.time_ns / 1_000_000_000).into(),
        eid: seq.into(),
    }
    .into()
}

#[cfg(test)]
mod tests {
    use vigil_events::etw::SocketAction;

    use super::*;
    use crate::table::{Value, row_mismatch};

    #[test]
    fn a_connect_row_matches_its_columns() {
        let event = EtwSocketEvent {
            action: SocketAction::Connect,
            time_ns: 1_700_000_001_500_000_000,
            pid: 7464,
            family: 2,
            protocol: 6,
            local_address: "192.168.1.23".into(),
            local_port: 49978,
            remote_address: "93.184.215.14".into(),
            remote_port: 443,
            size: 0,
            connection_id: 0,
        };
        let row = row(&event, 5);
        assert_eq!(row_mismatch(EtwSocketEventRow::COLUMNS, &row), None);
        assert_eq!(
            row[EtwSocketEventRow::action],
            Value::Text("connect".into())
        );
        assert_eq!(row[EtwSocketEventRow::remote_port], Value::Int(443));
    }
}
