//! What the eBPF publisher is, before it runs: its name and the tables it fills.

use super::decode::{FAMILIES, family_table};
use crate::{event_table::EventTable, publisher::Source};

/// The tables the eBPF publisher fills: one per record family.
const TABLES: [EventTable; FAMILIES.len()] = {
    let mut tables = [family_table(FAMILIES[0]); FAMILIES.len()];
    let mut i = 1;
    while i < tables.len() {
        tables[i] = family_table(FAMILIES[i]);
        i += 1;
    }
    tables
};

/// The eBPF publisher, as `vigil_events` names it.
pub const SOURCE: Source = Source {
    name: "bpf",
    tables: &TABLES,
};
