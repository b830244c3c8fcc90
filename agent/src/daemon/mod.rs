//! `vigil daemon`: collect events, run the schedule and ship the results until SIGTERM or SIGINT,
//! as a watcher and its worker (or one process with `--disable_watchdog`).

mod bounds;
mod check;
mod heap;
mod host;
mod log_plugins;
mod pipeline_loggers;
mod reload;
mod remote_parts;
mod schedule;
mod work;

use std::process::ExitCode;

use crate::{
    cli::DaemonArgs,
    pidfile::PidFile,
    watchdog::{self, worker::Worker},
};

pub fn run(mut args: DaemonArgs) -> anyhow::Result<ExitCode> {
    for warning in bounds::apply(&mut args) {
        tracing::warn!("{warning}");
    }
    if args.config_check || args.config_dump {
        return check::check_or_dump(&args);
    }
    refuse_where_unsupported()?;
    let worker = Worker::from_env()?;
    #[cfg(target_os = "linux")]
    if worker.is_none() {
        // The worker runs with the same command line, checked by its watcher.
        refuse_unsafe_files(&mut args)?;
    }
    if worker.is_none() {
        // Flags every worker would fail on are refused once, not met with worker restarts.
        pipeline_loggers::refuse_bad_flags(&args)?;
    }
    if worker.is_some() || args.watchdog.disable_watchdog {
        abort_on_panic();
    }
    match worker {
        Some(worker) => {
            worker.bind_to_watcher()?;
            work::run(&args, Some(worker))
        }
        None if args.watchdog.disable_watchdog => {
            // Without a watcher, this process holds the pid file.
            let _pidfile = PidFile::acquire(&args.pidfile)?;
            work::run(&args, None)
        }
        None => watchdog::watch(&args),
    }
}

/// The daemon needs what only its Linux and Windows parts have yet: the watchdog, an instance
/// id, the measures of each query's cost. Elsewhere (macOS) it stops before starting anything
/// (`--config_check` and `--config_dump` work everywhere).
fn refuse_where_unsupported() -> anyhow::Result<()> {
    if cfg!(any(target_os = "linux", windows)) {
        return Ok(());
    }
    anyhow::bail!(
        "`vigil daemon` runs on Linux and Windows only for now: {} has no watchdog, instance id \
         or query measures in vigil yet. `vigil shell` and `vigil query` run here, and \
         `vigil daemon --config_check` checks a config",
        std::env::consts::OS
    )
}

/// Refuses to start on files others could change (see `safe_files`), unless the command line
/// itself says `--allow_unsafe`; a flagfile's is ignored, with a warning.
#[cfg(target_os = "linux")]
fn refuse_unsafe_files(args: &mut DaemonArgs) -> anyhow::Result<()> {
    use crate::safe_files::at_start;
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if args.watchdog.allow_unsafe && !at_start::allowed_on_command_line(&argv) {
        tracing::warn!(
            "--allow_unsafe in a --flagfile is ignored: it is honoured only on the command line"
        );
        args.watchdog.allow_unsafe = false;
    }
    if args.watchdog.allow_unsafe {
        return Ok(());
    }
    let executable = crate::watchdog::real_executable();
    // SAFETY: geteuid has no preconditions.
    let euid = unsafe { libc::geteuid() };
    at_start::check(args, &argv, &executable, euid).map_err(|refusal| anyhow::anyhow!(refusal))
}

/// A panic on any thread ends the process: a worker whose scheduler or writer thread died would
/// otherwise run on without it. The watcher (or the service manager) starts a new one.
fn abort_on_panic() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let thread = std::thread::current();
        tracing::error!(
            thread = thread.name().unwrap_or("unnamed"),
            "panic: {info}; the worker stops (a new one is started)"
        );
        default(info);
        std::process::abort();
    }));
}
