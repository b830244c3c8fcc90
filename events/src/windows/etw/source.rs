//! What the ETW publisher is, before it runs: its name and the tables it fills.

use crate::{event_table::EventTable, publisher::Source};

pub const SOURCE: Source = Source {
    name: "etw",
    tables: &[
        EventTable::EtwProcessEvents,
        EventTable::EtwFileEvents,
        EventTable::EtwSocketEvents,
    ],
};
