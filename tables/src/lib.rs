//! vigil's SQL tables. Each table declares its columns and its row in one declaration
//! (`table_row!`, in [`row`]) and produces rows; one virtual-table adapter ([`vtab`])
//! connects them all to SQLite, beside osquery's SQL functions ([`sql_functions`]).

pub mod agent;
pub mod cell;
pub mod evented;
pub mod row;
pub mod snapshot;
pub mod sql_functions;
pub mod table;
pub mod vtab;

use std::sync::Arc;

use rusqlite::Connection;
use vigil_events::{Counters, EventStore};

pub use agent::{
    vigil_events::CounterSource,
    vigil_flags::{FlagInfo, FlagSource},
    vigil_info::AgentInfo,
};
pub use table::{
    CellRows, Column, ColumnType, Constraint, ConstraintOp, Row, Rows, ScanRequest, Table,
    TableError, UsedColumns, Value,
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

/// Every table vigil has on this platform, in `.tables` order.
pub fn all_tables(ctx: TablesContext) -> Vec<Arc<dyn Table>> {
    let flags = ctx.agent.flags.clone();
    let mut tables = evented::tables(&ctx.store, &ctx.counters, &ctx.scope);
    tables.extend::<[Arc<dyn Table>; 5]>([
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
    ]);
    let snapshot = snapshot::tables();
    let every_other: Vec<Arc<dyn Table>> = tables.iter().chain(&snapshot).cloned().collect();
    tables.push(Arc::new(agent::vigil_registry::VigilRegistry::new(
        &every_other,
        flags,
    )));
    tables.extend(snapshot);
    tables
}

/// Registers `tables` on `conn`, with osquery's SQL functions and collations: every connection
/// vigil opens goes through here, so queries written for osquery find both.
pub fn register(conn: &Connection, tables: &[Arc<dyn Table>]) -> rusqlite::Result<()> {
    for table in tables {
        vtab::register(conn, table.clone())?;
    }
    sql_functions::register(conn)
}

#[cfg(test)]
mod tests {
    use vigil_events::EventTable;

    use super::*;

    fn names() -> Vec<&'static str> {
        all_tables(TablesContext {
            store: None,
            counters: Counters::new(&EventTable::names()),
            counter_source: CounterSource::None,
            agent: AgentInfo::default(),
            scope: None,
        })
        .iter()
        .map(|table| table.name())
        .collect()
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn linux_has_every_table() {
        assert_eq!(
            names(),
            [
                "bpf_process_events",
                "bpf_socket_events",
                "bpf_file_events",
                "bpf_kernel_module_events",
                "bpf_ptrace_events",
                "process_events",
                "socket_events",
                "user_events",
                "vigil_events",
                "vigil_flags",
                "vigil_info",
                "vigil_schedule",
                "vigil_logger",
                "vigil_registry",
                "acpi_tables",
                "apt_sources",
                "arp_cache",
                "authorized_keys",
                "block_devices",
                "certificates",
                "chrome_extensions",
                "cpu_time",
                "cpuid",
                "crontab",
                "deb_packages",
                "disk_encryption",
                "dns_resolvers",
                "docker_containers",
                "etc_hosts",
                "file",
                "firefox_addons",
                "groups",
                "hash",
                "interface_addresses",
                "interface_details",
                "iptables",
                "kernel_info",
                "kernel_modules",
                "last",
                "listening_ports",
                "load_average",
                "logged_in_users",
                "memory_info",
                "mounts",
                "npm_packages",
                "opera_extensions",
                "os_version",
                "pci_devices",
                "portage_packages",
                "process_envs",
                "process_memory_map",
                "process_open_files",
                "process_open_sockets",
                "processes",
                "python_packages",
                "routes",
                "rpm_packages",
                "shell_history",
                "smbios_tables",
                "startup_items",
                "sudoers",
                "suid_bin",
                "system_controls",
                "system_info",
                "systemd_units",
                "time",
                "uptime",
                "usb_devices",
                "user_groups",
                "users",
                "yum_sources",
            ]
        );
    }

    #[test]
    fn an_event_table_is_there_when_a_publisher_of_this_platform_fills_it() {
        let names = names();
        for table in EventTable::ALL {
            assert_eq!(
                names.contains(&table.name()),
                vigil_events::platform::source_of(*table).is_some(),
                "{}",
                table.name()
            );
        }
    }
}
