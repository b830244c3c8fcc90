//! The worker's command line on Windows. The watcher may itself be the service
//! (`vigil service run -- FLAGS`), which only the service manager can start; its worker is the
//! plain daemon with the service's flags (`vigil daemon FLAGS`). Otherwise the worker gets the
//! watcher's own arguments.

use std::ffi::OsString;

/// The worker's arguments (without the program): from the service's daemon flags when the
/// watcher runs as the service, else the watcher's own `args` (without the program).
#[cfg_attr(not(windows), allow(dead_code))]
pub fn for_worker(service_flags: Option<&[String]>, args: Vec<OsString>) -> Vec<OsString> {
    match service_flags {
        Some(flags) => std::iter::once(OsString::from("daemon"))
            .chain(flags.iter().map(OsString::from))
            .collect(),
        None => args,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn the_services_worker_is_the_daemon_with_the_services_flags() {
        let flags = ["--database_path".to_owned(), r"D:\vigil".to_owned()];
        assert_eq!(
            for_worker(Some(&flags), strings(&["service", "run", "--", "ignored"])),
            strings(&["daemon", "--database_path", r"D:\vigil"])
        );
        assert_eq!(
            for_worker(Some(&[]), strings(&["service", "run"])),
            strings(&["daemon"])
        );
    }

    #[test]
    fn a_daemons_worker_gets_the_same_arguments() {
        let daemon = strings(&["--verbose", "daemon", "--pidfile", "x.pid"]);
        assert_eq!(for_worker(None, daemon.clone()), daemon);
    }
}
