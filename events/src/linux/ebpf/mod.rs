//! The eBPF publisher: loads vigil's tracepoint programs, reads their ring buffer and turns
//! records into events of the `bpf_*` tables.

pub mod attach;
pub mod btf;
mod config;
pub mod decode;
mod dir_filter;
mod handover;
mod host;
pub mod layout;
pub mod offsets;
pub mod pins;
pub mod probes;
mod publisher;
mod reader;
pub mod tracepoint_format;

pub use attach::ProgramReport;
pub use config::EbpfError;
pub use publisher::{EbpfProbes, EbpfPublisher};

use crate::{publisher::Source, tables::EventTable};

/// The tables the eBPF publisher fills: one per record family.
const TABLES: [EventTable; decode::FAMILIES.len()] = {
    let mut tables = [decode::family_table(decode::FAMILIES[0]); decode::FAMILIES.len()];
    let mut i = 1;
    while i < tables.len() {
        tables[i] = decode::family_table(decode::FAMILIES[i]);
        i += 1;
    }
    tables
};

/// The eBPF publisher, as `vigil_events` names it.
pub const SOURCE: Source = Source {
    name: "bpf",
    tables: &TABLES,
};
