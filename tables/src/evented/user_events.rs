//! `user_events`: user-space audit messages (logins, PAM, sudo, ...) from the audit publisher
//! (`--disable_audit=false`), with osquery's columns first and vigil's extras after them.

use std::sync::Arc;

use vigil_events::{
    Counters, EventStore, EventTable, UserEvent, event_table::audit::decode_user_event,
};

use super::StoredTable;
use crate::{row::table_row, table::Row};

table_row! {
    struct UserEventRow {
        // osquery's columns, in osquery's order.
        uid: BigInt,
        auid: BigInt,
        pid: BigInt,
        message: Text,
        r#type: Integer,
        path: Text,
        address: Text,
        terminal: Text,
        time: BigInt,
        uptime: BigInt,
        #[hidden]
        eid: Text,
        // vigil's extras.
        ses: BigInt,
        hostname: Text,
        result: Text,
        ntime: Text,
        audit_id: BigInt,
    }
}

/// The table over `store` (empty without one).
pub fn table(store: Option<Arc<EventStore>>, counters: &Counters) -> StoredTable {
    StoredTable::new(
        EventTable::UserEvents,
        UserEventRow::COLUMNS,
        |bytes, seq, _used, buffer| {
            decode_user_event(bytes).map(|event| buffer.set_row(row(&event, seq)))
        },
        store,
        counters,
    )
}

pub fn row(event: &UserEvent, seq: u64) -> Row {
    UserEventRow {
        uid: event.uid.into(),
        auid: event.auid.into(),
        pid: event.pid.into(),
        message: event.message.as_str().into(),
        r#type: u32::from(event.message_type).into(),
        path: event.path.as_str().into(),
        address: event.address.as_str().into(),
        terminal: event.terminal.as_str().into(),
        time: (event.time_ns / 1_000_000_000).into(),
        uptime: event.uptime.into(),
        eid: seq.to_string().into(),
        ses: event.session.into(),
        hostname: event.hostname.as_str().into(),
        result: event.result.as_str().into(),
        ntime: event.time_ns.to_string().into(),
        audit_id: event.audit_id.into(),
    }
    .into()
}
