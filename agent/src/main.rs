//! `vigil`: SQL over kernel event history.

mod cli;
mod collector;
mod config;
mod daemon;
mod output;
mod pidfile;
mod probes;
mod session;
mod shell;
mod sql;

use std::process::ExitCode;

use clap::Parser as _;
use cli::{Cli, Command};
use session::{Events, Session};
use shell::Shell;

fn init_logging(verbose: bool) {
    let default = if verbose { "debug" } else { "info" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("VIGIL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
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
            let session = Session::open(events)?;
            let shell = Shell::new(session, args.output.mode(), args.output.logger_numerics);
            shell.run(args.history_file)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Query(args) => {
            let events = match args.database_path {
                Some(path) => Events::Follow(path),
                None => Events::None,
            };
            let session = Session::open(events)?;
            let shell = Shell::new(session, args.output.mode(), args.output.logger_numerics);
            Ok(if shell.execute(&args.sql) {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Daemon(args) => daemon::run(args),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.verbose);
    match run(cli) {
        Ok(code) => code,
        Err(error) => {
            eprintln!("vigil: {error:#}");
            ExitCode::FAILURE
        }
    }
}
