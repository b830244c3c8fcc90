//! Windows' snapshot tables (`processes`, `users`, `os_version`, `system_info`) through its APIs
//! and registry, with osquery's Windows columns. What turns Windows' values into columns is in
//! `convert`, compiled and tested everywhere; the API calls are compiled for Windows only.

pub mod convert;
mod rows;

#[cfg(windows)]
mod os_version;
#[cfg(windows)]
mod processes;
#[cfg(windows)]
mod system_info;
#[cfg(windows)]
mod users;

#[cfg(windows)]
pub fn tables() -> Vec<std::sync::Arc<dyn crate::table::Table>> {
    vec![
        std::sync::Arc::new(os_version::OsVersion),
        std::sync::Arc::new(processes::Processes),
        std::sync::Arc::new(system_info::SystemInfo),
        std::sync::Arc::new(users::Users),
    ]
}
