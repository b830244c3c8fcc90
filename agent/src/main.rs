//! `vigil`: SQL over kernel event history.

mod background;
// Used by the syslog and Kafka loggers, both Unix-only.
#[cfg(unix)]
mod buffer_limit;
mod cli;
mod collector;
mod config;
mod daemon;
mod default_paths;
mod flags;
mod forwarding;
// Kafka through the system's librdkafka, in builds with the `kafka` feature.
#[cfg(all(unix, feature = "kafka"))]
mod kafka_logger;
mod logger;
mod logger_args;
mod os;
mod output;
// A pid file locked with flock(2) on Unix, with LockFileEx on Windows.
#[cfg_attr(windows, path = "pidfile_windows.rs")]
mod pidfile;
mod probes;
mod remote;
// Who can change the files a root daemon trusts: POSIX modes, owners and Linux's ACLs.
#[cfg(target_os = "linux")]
mod safe_files;
mod scheduler;
// The Windows service (install, uninstall, run under the service manager); elsewhere the command
// says where the platform's service definition is.
#[cfg_attr(not(windows), path = "service_unsupported.rs")]
mod service;
mod session;
mod shell;
mod sql;
mod status_log;
// A datagram to the local syslog socket, as syslog(3) sends it.
#[cfg(unix)]
mod syslog_logger;
// A watcher measuring and restarting its worker on Linux and Windows; on macOS `vigil daemon`
// says it is not there yet.
#[cfg_attr(
    not(any(target_os = "linux", windows)),
    path = "watchdog_unsupported.rs"
)]
mod watchdog;

use std::process::ExitCode;

use clap::Parser as _;
use cli::{Cli, Command};
use session::{Events, Session};
use shell::Shell;

fn init_logging(verbose: bool) {
    let default = if verbose { "debug" } else { "info" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("VIGIL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    use tracing_subscriber::{layer::SubscriberExt as _, util::SubscriberInitExt as _};
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false);
    tracing_subscriber::registry()
        .with(filter)
        .with(stderr)
        .with(status_log::StatusLayer)
        .init();
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Shell(args) => {
            let events = match (args.disable_events, args.database_path) {
                (false, path) => Events::Collect(path, args.events),
                (true, Some(path)) => Events::Follow(path),
                (true, None) => Events::None,
            };
            let session = Session::open(events, sql::Limits::from_flags(&args.limits))?;
            let shell = Shell::new(session, args.output.mode(), args.output.logger_numerics);
            shell.run(args.history_file)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Query(args) => {
            let events = match args.database_path {
                Some(path) => Events::Follow(path),
                None => Events::None,
            };
            let session = Session::open(events, sql::Limits::from_flags(&args.limits))?;
            let shell = Shell::new(session, args.output.mode(), args.output.logger_numerics);
            Ok(if shell.execute(&args.sql) {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Daemon(args) => daemon::run(*args),
        Command::Service(action) => service::run(action),
    }
}

/// The command line with flagfiles expanded and, for the daemon, the config's `options` applied
/// where the command line is silent.
fn parse_cli() -> anyhow::Result<(Cli, Vec<String>)> {
    let args = flags::expand_flagfiles(std::env::args_os().collect())?;
    let cli = Cli::try_parse_from(&args).unwrap_or_else(|e| e.exit());
    let Command::Daemon(daemon) = &cli.command else {
        flags::remember(&args);
        return Ok((cli, Vec::new()));
    };
    flags::remember(&args);
    let Some(path) = daemon.events.config_path.as_deref() else {
        return Ok((cli, Vec::new()));
    };
    // A config that does not load is reported by the daemon itself (or --config_check).
    let Ok(config) = config::load(path, &daemon.events.pack_delimiter) else {
        return Ok((cli, Vec::new()));
    };
    let (with_options, warnings) = flags::with_options(&args, &config.options)
        .map_err(|e| anyhow::anyhow!("--config_path {}: options: {e:#}", path.display()))?;
    Ok((with_options.unwrap_or(cli), warnings))
}

fn main() -> ExitCode {
    os::tune_malloc();
    // A worker makes its eBPF loader first, while it is small (see `probes::prepare`).
    if std::env::var_os(watchdog::worker::WORKER_ENV).is_some() {
        os::tune_malloc_for_start();
        probes::prepare();
    }
    let (cli, warnings) = match parse_cli() {
        Ok(parsed) => parsed,
        Err(error) => {
            eprintln!("vigil: {error:#}");
            return ExitCode::FAILURE;
        }
    };
    init_logging(cli.verbose);
    for warning in warnings.into_iter().chain(cli.flags_without_effect_here()) {
        tracing::warn!("{warning}");
    }
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("vigil: {error:#}");
            ExitCode::FAILURE
        }
    }
}
