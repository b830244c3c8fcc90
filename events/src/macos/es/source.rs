//! What the Endpoint Security publisher is, before it runs: its name and the tables it fills.

use crate::{event_table::EventTable, publisher::Source};

/// Named after osquery's publisher (`endpointsecurity`).
pub const SOURCE: Source = Source {
    name: "endpointsecurity",
    tables: &[EventTable::EsProcessEvents, EventTable::EsProcessFileEvents],
};
