//! Snapshot tables: the host as it is now, read from the operating system when queried. Event
//! history is joined with these (`JOIN processes USING (pid)`).
//!
//! `hash` and `time` work everywhere, `file` wherever files have POSIX metadata; the rest read
//! Linux's interfaces (`/proc`, `/sys`, ...) and live in `linux/`, or Windows' APIs and registry
//! in `windows/`, each absent on other platforms.

pub mod namespace;
pub mod paths;
pub mod util;

#[cfg(unix)]
pub mod file;
pub mod hash;
pub mod time;

#[cfg(target_os = "linux")]
mod linux;
// Its conversions are compiled (and tested) everywhere, its tables on Windows only.
pub mod windows;
// Where they always were, for code (benches, tests) naming them.
#[cfg(target_os = "linux")]
pub use linux::{
    groups, interface_addresses, interface_details, kernel_info, listening_ports, logged_in_users,
    mounts, os_version, process_open_files, process_open_sockets, processes, system_info, uptime,
    users,
};

use std::sync::Arc;

use crate::table::Table;

/// This platform's snapshot tables, by name.
pub fn tables() -> Vec<Arc<dyn Table>> {
    let mut tables: Vec<Arc<dyn Table>> = vec![Arc::new(hash::Hash), Arc::new(time::Time)];
    #[cfg(unix)]
    tables.push(Arc::new(file::File));
    #[cfg(target_os = "linux")]
    tables.extend(linux::tables());
    #[cfg(windows)]
    tables.extend(windows::tables());
    tables.sort_by_key(|table| table.name());
    tables
}
