//! `vigil service` outside Windows: a clear error pointing at the platform's own service
//! definition.

use std::process::ExitCode;

use crate::cli::ServiceAction;

pub fn run(_action: ServiceAction) -> anyhow::Result<ExitCode> {
    anyhow::bail!(
        "`vigil service` manages the Windows service; on Linux install \
         packaging/systemd/vigil.service, on macOS packaging/launchd/com.vigil.daemon.plist"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outside_windows_the_service_command_names_the_platforms_service_file() {
        let error = run(ServiceAction::Uninstall).expect_err("not Windows");
        let message = error.to_string();
        assert!(
            message.contains("packaging/systemd/vigil.service"),
            "{message}"
        );
        assert!(
            message.contains("packaging/launchd/com.vigil.daemon.plist"),
            "{message}"
        );
    }
}
