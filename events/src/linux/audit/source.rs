//! What the audit publisher is, before it runs: its name and the tables it fills.

use crate::{event_table::EventTable, publisher::Source};

/// The audit publisher, as `vigil_events` names it (osquery's publisher type is
/// `auditeventpublisher`; vigil's publisher names are short).
pub const SOURCE: Source = Source {
    name: "audit",
    tables: &[
        EventTable::ProcessEvents,
        EventTable::SocketEvents,
        EventTable::UserEvents,
    ],
};
