//! The daemon as a Windows service (`windows-service`): `vigil service install` registers it
//! (automatic start, LocalSystem, which ETW needs), `uninstall` stops and removes it, and `run`
//! is what the service manager starts: it reports the service running, runs the daemon, and turns
//! the manager's Stop and Shutdown controls into the daemon's stop request.

use std::{ffi::OsString, process::ExitCode, sync::OnceLock, time::Duration};

use anyhow::Context as _;
use clap::Parser as _;
use windows_service::{
    define_windows_service,
    service::{
        ServiceAccess, ServiceControl, ServiceControlAccept, ServiceErrorControl, ServiceExitCode,
        ServiceInfo, ServiceStartType, ServiceState, ServiceStatus, ServiceType,
    },
    service_control_handler::{self, ServiceControlHandlerResult},
    service_dispatcher,
    service_manager::{ServiceManager, ServiceManagerAccess},
};

use crate::cli::{Cli, Command, ServiceAction};

const NAME: &str = "vigil";
const DESCRIPTION: &str = "vigil: SQL over the machine's process, file and network events (ETW)";

/// The daemon's flags for `run`, set before the dispatcher calls `service_main`.
static DAEMON_FLAGS: OnceLock<Vec<String>> = OnceLock::new();

pub fn run(action: ServiceAction) -> anyhow::Result<ExitCode> {
    match action {
        ServiceAction::Install { daemon_flags } => install(daemon_flags),
        ServiceAction::Uninstall => uninstall(),
        ServiceAction::Run { daemon_flags } => {
            let _ = DAEMON_FLAGS.set(daemon_flags);
            service_dispatcher::start(NAME, ffi_service_main).context(
                "`vigil service run` is started by the service manager: install the service \
                 with `vigil service install` and start it with `sc start vigil`",
            )?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The daemon's flags when this process is the service (`vigil service run -- FLAGS`): what its
/// watchdog's worker runs as `vigil daemon FLAGS`.
pub fn daemon_flags() -> Option<&'static [String]> {
    DAEMON_FLAGS.get().map(Vec::as_slice)
}

fn install(daemon_flags: Vec<String>) -> anyhow::Result<ExitCode> {
    // The flags must parse now, not when the service first starts.
    daemon_args(&daemon_flags)?;
    let manager = ServiceManager::local_computer(
        None::<&str>,
        ServiceManagerAccess::CONNECT | ServiceManagerAccess::CREATE_SERVICE,
    )
    .context("opening the service manager (run as an administrator)")?;
    let mut launch_arguments: Vec<OsString> = vec!["service".into(), "run".into(), "--".into()];
    launch_arguments.extend(daemon_flags.into_iter().map(OsString::from));
    let info = ServiceInfo {
        name: NAME.into(),
        display_name: NAME.into(),
        service_type: ServiceType::OWN_PROCESS,
        start_type: ServiceStartType::AutoStart,
        error_control: ServiceErrorControl::Normal,
        executable_path: std::env::current_exe().context("finding vigil's own executable")?,
        launch_arguments,
        dependencies: Vec::new(),
        // LocalSystem: ETW's kernel sessions need it.
        account_name: None,
        account_password: None,
    };
    let service = manager
        .create_service(&info, ServiceAccess::CHANGE_CONFIG)
        .context("creating the `vigil` service (`vigil service uninstall` removes an old one)")?;
    service
        .set_description(DESCRIPTION)
        .context("describing the `vigil` service")?;
    println!("installed the `vigil` service; `sc start vigil` starts it");
    Ok(ExitCode::SUCCESS)
}

fn uninstall() -> anyhow::Result<ExitCode> {
    let manager = ServiceManager::local_computer(None::<&str>, ServiceManagerAccess::CONNECT)
        .context("opening the service manager (run as an administrator)")?;
    let service = manager
        .open_service(
            NAME,
            ServiceAccess::QUERY_STATUS | ServiceAccess::STOP | ServiceAccess::DELETE,
        )
        .context("opening the `vigil` service (is it installed?)")?;
    if service.query_status()?.current_state != ServiceState::Stopped {
        service.stop().context("stopping the `vigil` service")?;
    }
    service.delete().context("removing the `vigil` service")?;
    println!("removed the `vigil` service");
    Ok(ExitCode::SUCCESS)
}

fn daemon_args(flags: &[String]) -> anyhow::Result<Box<crate::cli::DaemonArgs>> {
    let argv = ["vigil", "daemon"]
        .into_iter()
        .map(str::to_owned)
        .chain(flags.iter().cloned());
    match Cli::try_parse_from(argv)
        .context("the daemon's flags")?
        .command
    {
        Command::Daemon(args) => Ok(args),
        _ => anyhow::bail!("the daemon's flags do not make a `vigil daemon` command line"),
    }
}

define_windows_service!(ffi_service_main, service_main);

fn service_main(_arguments: Vec<OsString>) {
    if let Err(error) = run_service() {
        tracing::error!("the vigil service stopped: {error:#}");
    }
}

fn status(state: ServiceState, exit: u32) -> ServiceStatus {
    ServiceStatus {
        service_type: ServiceType::OWN_PROCESS,
        current_state: state,
        controls_accepted: if state == ServiceState::Running {
            ServiceControlAccept::STOP | ServiceControlAccept::SHUTDOWN
        } else {
            ServiceControlAccept::empty()
        },
        exit_code: ServiceExitCode::Win32(exit),
        checkpoint: 0,
        wait_hint: Duration::from_secs(20),
        process_id: None,
    }
}

fn run_service() -> anyhow::Result<()> {
    let handle = service_control_handler::register(NAME, |control| match control {
        ServiceControl::Stop | ServiceControl::Shutdown => {
            crate::os::request_stop();
            ServiceControlHandlerResult::NoError
        }
        ServiceControl::Interrogate => ServiceControlHandlerResult::NoError,
        _ => ServiceControlHandlerResult::NotImplemented,
    })
    .context("registering the service's control handler")?;
    handle.set_service_status(status(ServiceState::Running, 0))?;
    let flags = DAEMON_FLAGS.get().cloned().unwrap_or_default();
    let outcome = daemon_args(&flags).and_then(|args| crate::daemon::run(*args));
    let exit = match &outcome {
        Ok(code) if *code == ExitCode::SUCCESS => 0,
        // ERROR_SERVICE_SPECIFIC_ERROR's generic failure.
        _ => 1,
    };
    handle.set_service_status(status(ServiceState::Stopped, exit))?;
    outcome.map(|_| ())
}
