//! Snapshot tables that read Linux's own interfaces: `/proc`, `/sys`, `/etc`'s user database,
//! utmp, `getifaddrs` with Linux's layout. Other platforms have none of these tables yet.

pub mod groups;
pub mod interface_addresses;
pub mod interface_details;
pub mod kernel_info;
pub mod listening_ports;
pub mod logged_in_users;
pub mod mounts;
pub mod os_version;
pub mod process_open_files;
pub mod process_open_sockets;
pub mod processes;
pub mod system_info;
pub mod uptime;
pub mod users;

use std::sync::Arc;

use crate::table::Table;

/// This module's tables.
pub fn tables() -> Vec<Arc<dyn Table>> {
    vec![
        Arc::new(groups::Groups),
        Arc::new(interface_addresses::InterfaceAddresses),
        Arc::new(interface_details::InterfaceDetails),
        Arc::new(kernel_info::KernelInfo),
        Arc::new(listening_ports::ListeningPorts),
        Arc::new(logged_in_users::LoggedInUsers),
        Arc::new(mounts::Mounts),
        Arc::new(os_version::OsVersion),
        Arc::new(process_open_files::ProcessOpenFiles),
        Arc::new(process_open_sockets::ProcessOpenSockets),
        Arc::new(processes::Processes),
        Arc::new(system_info::SystemInfo),
        Arc::new(uptime::Uptime),
        Arc::new(users::Users),
    ]
}
