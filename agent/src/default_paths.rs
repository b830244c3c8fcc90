//! Where the daemon keeps its database, logs and pid file when no flag says. On Unix: the FHS's
//! places (`/var/lib`, `/var/log`, `/run`). On Windows osquery uses `C:\Program Files\osquery\`
//! (`osquery.db`, `log`, `osqueryd.pidfile`); vigil keeps its data out of the program directory,
//! under `%ProgramData%\vigil\`, where Windows expects a service's machine-wide data.

use std::path::PathBuf;

/// `--database_path`'s default.
pub fn database_path() -> PathBuf {
    platform_default("/var/lib/vigil", "db")
}

/// `--logger_path`'s default.
pub fn logger_path() -> PathBuf {
    platform_default("/var/log/vigil", "log")
}

/// `--pidfile`'s default.
pub fn pidfile() -> PathBuf {
    platform_default("/run/vigil.pid", "vigil.pid")
}

#[cfg(not(windows))]
fn platform_default(unix: &str, _windows_leaf: &str) -> PathBuf {
    PathBuf::from(unix)
}

#[cfg(windows)]
fn platform_default(_unix: &str, windows_leaf: &str) -> PathBuf {
    PathBuf::from(under_program_data(
        std::env::var("ProgramData").ok().as_deref(),
        windows_leaf,
    ))
}

/// `leaf` in vigil's folder of `%ProgramData%` (`C:\ProgramData` when the variable is unset or
/// empty, as in a process started with an empty environment).
#[cfg_attr(not(windows), allow(dead_code))]
fn under_program_data(program_data: Option<&str>, leaf: &str) -> String {
    let base = program_data
        .map(|dir| dir.trim_end_matches('\\'))
        .filter(|dir| !dir.is_empty())
        .unwrap_or(r"C:\ProgramData");
    format!(r"{base}\vigil\{leaf}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_defaults_are_in_vigils_folder_of_program_data() {
        assert_eq!(
            under_program_data(Some(r"D:\Data"), "db"),
            r"D:\Data\vigil\db"
        );
        assert_eq!(
            under_program_data(Some(r"C:\ProgramData\"), "vigil.pid"),
            r"C:\ProgramData\vigil\vigil.pid"
        );
        assert_eq!(under_program_data(None, "log"), r"C:\ProgramData\vigil\log");
        assert_eq!(
            under_program_data(Some(""), "log"),
            r"C:\ProgramData\vigil\log"
        );
    }

    #[cfg(unix)]
    #[test]
    fn unix_defaults_are_the_fhs_places() {
        assert_eq!(database_path(), PathBuf::from("/var/lib/vigil"));
        assert_eq!(logger_path(), PathBuf::from("/var/log/vigil"));
        assert_eq!(pidfile(), PathBuf::from("/run/vigil.pid"));
    }
}
