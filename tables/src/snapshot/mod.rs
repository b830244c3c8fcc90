//! Snapshot tables: the host as it is now, read from `/proc`, `/sys`, `/etc` and the kernel when
//! queried. Event history is joined with these (`JOIN processes USING (pid)`).

pub mod paths;
pub mod util;

pub mod file;
pub mod groups;
pub mod hash;
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
pub mod time;
pub mod uptime;
pub mod users;
