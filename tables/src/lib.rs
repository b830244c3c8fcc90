//! vigil's SQL tables. Each table declares its columns and its row in one declaration
//! (`table_row!`, in [`row`]) and produces rows; one virtual-table adapter ([`vtab`])
//! connects them all to SQLite.

pub mod agent;
pub mod evented;
pub mod row;
pub mod snapshot;
pub mod table;
pub mod vtab;

use std::sync::Arc;

use rusqlite::Connection;
use vigil_events::{Counters, EventStore};

pub use agent::{vigil_events::CounterSource, vigil_flags::FlagInfo, vigil_info::AgentInfo};
pub use table::{
    Column, ColumnType, Constraint, ConstraintOp, Row, Rows, ScanRequest, Table, TableError, Value,
};

/// What the tables read from.
pub struct TablesContext {
    /// The event store, when there is one (a shell with events off and no database has none).
    pub store: Option<Arc<EventStore>>,
    /// This process's counters (shared with its publishers when it runs any).
    pub counters: Counters,
    /// Where `vigil_events` finds the collecting counters.
    pub counter_source: CounterSource,
    /// What `vigil_info` reports about this agent.
    pub agent: AgentInfo,
    /// The scheduler's query scope (its connection only): scheduled queries read each event once.
    pub scope: Option<Arc<evented::QueryScope>>,
}

/// Every table vigil has, in `.tables` order.
pub fn all_tables(ctx: TablesContext) -> Vec<Arc<dyn Table>> {
    vec![
        Arc::new(
            evented::bpf_process_events::table(ctx.store.clone(), &ctx.counters)
                .with_scope(ctx.scope.clone()),
        ),
        Arc::new(
            evented::bpf_socket_events::table(ctx.store.clone(), &ctx.counters)
                .with_scope(ctx.scope.clone()),
        ),
        Arc::new(
            evented::bpf_file_events::table(ctx.store.clone(), &ctx.counters)
                .with_scope(ctx.scope.clone()),
        ),
        Arc::new(agent::vigil_events::VigilEvents::new(
            ctx.counters,
            ctx.store.clone(),
            ctx.counter_source,
        )),
        Arc::new(agent::vigil_flags::VigilFlags::new(ctx.agent.flags.clone())),
        Arc::new(agent::vigil_info::VigilInfo::new(
            ctx.agent,
            ctx.store.clone(),
        )),
        Arc::new(agent::vigil_schedule::VigilSchedule::new(ctx.store.clone())),
        Arc::new(agent::vigil_logger::VigilLogger::new(ctx.store.clone())),
        Arc::new(snapshot::file::File),
        Arc::new(snapshot::groups::Groups),
        Arc::new(snapshot::hash::Hash),
        Arc::new(snapshot::interface_addresses::InterfaceAddresses),
        Arc::new(snapshot::interface_details::InterfaceDetails),
        Arc::new(snapshot::kernel_info::KernelInfo),
        Arc::new(snapshot::listening_ports::ListeningPorts),
        Arc::new(snapshot::logged_in_users::LoggedInUsers),
        Arc::new(snapshot::mounts::Mounts),
        Arc::new(snapshot::os_version::OsVersion),
        Arc::new(snapshot::process_open_files::ProcessOpenFiles),
        Arc::new(snapshot::process_open_sockets::ProcessOpenSockets),
        Arc::new(snapshot::processes::Processes),
        Arc::new(snapshot::system_info::SystemInfo),
        Arc::new(snapshot::time::Time),
        Arc::new(snapshot::uptime::Uptime),
        Arc::new(snapshot::users::Users),
    ]
}

/// Registers `tables` on `conn`.
pub fn register(conn: &Connection, tables: &[Arc<dyn Table>]) -> rusqlite::Result<()> {
    for table in tables {
        vtab::register(conn, table.clone())?;
    }
    Ok(())
}
