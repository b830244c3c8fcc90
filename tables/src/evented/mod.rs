//! Evented tables: rows read from the event store, newest history included.

pub mod bpf_file_events;
pub mod bpf_kernel_module_events;
pub mod bpf_process_events;
pub mod bpf_ptrace_events;
pub mod bpf_socket_events;
pub mod es_process_events;
pub mod es_process_file_events;
pub mod etw_file_events;
pub mod etw_socket_events;
mod pages;
mod prefilter;
pub mod process_etw_events;
pub mod process_events;
pub mod scope;
pub mod socket_events;
mod stored;
pub mod user_events;

pub use pages::StoredPages;
pub use scope::{Cursor, QueryScope, ScopeOutcome};
pub use stored::{RowDecoder, StoredTable};

use std::sync::Arc;

use vigil_events::{Counters, EventStore, EventTable, platform};

use crate::table::Table;

type Make = fn(Option<Arc<EventStore>>, &Counters) -> StoredTable;

/// The tables of publishers that exist on one platform only.
#[cfg(windows)]
fn platform_tables() -> Vec<(EventTable, Make)> {
    vec![
        (EventTable::EtwProcessEvents, process_etw_events::table),
        (EventTable::EtwFileEvents, etw_file_events::table),
        (EventTable::EtwSocketEvents, etw_socket_events::table),
    ]
}

#[cfg(target_os = "macos")]
fn platform_tables() -> Vec<(EventTable, Make)> {
    vec![
        (EventTable::EsProcessEvents, es_process_events::table),
        (
            EventTable::EsProcessFileEvents,
            es_process_file_events::table,
        ),
    ]
}

#[cfg(not(any(windows, target_os = "macos")))]
fn platform_tables() -> Vec<(EventTable, Make)> {
    Vec::new()
}

/// The evented tables some publisher of this platform fills, over `store`: a table no publisher
/// fills here (the `bpf_*` tables outside Linux) is absent, not forever empty.
pub fn tables(
    store: &Option<Arc<EventStore>>,
    counters: &Counters,
    scope: &Option<Arc<QueryScope>>,
) -> Vec<Arc<dyn Table>> {
    let all: [(EventTable, Make); 8] = [
        (EventTable::BpfProcessEvents, bpf_process_events::table),
        (EventTable::BpfSocketEvents, bpf_socket_events::table),
        (EventTable::BpfFileEvents, bpf_file_events::table),
        (
            EventTable::BpfKernelModuleEvents,
            bpf_kernel_module_events::table,
        ),
        (EventTable::BpfPtraceEvents, bpf_ptrace_events::table),
        (EventTable::ProcessEvents, process_events::table),
        (EventTable::SocketEvents, socket_events::table),
        (EventTable::UserEvents, user_events::table),
    ];
    all.into_iter()
        .chain(platform_tables())
        .filter(|(table, _)| platform::source_of(*table).is_some())
        .map(|(_, table)| {
            Arc::new(table(store.clone(), counters).with_scope(scope.clone())) as Arc<dyn Table>
        })
        .collect()
}
