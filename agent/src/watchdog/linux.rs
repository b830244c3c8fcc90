//! The watcher's view of its worker on Linux: started through `/proc/self/exe` after the file
//! checks, told by signals (SIGUSR1 blames it, SIGTERM stops it, SIGHUP is passed on), and
//! measured in `/proc`.

use std::{
    os::unix::process::{CommandExt as _, ExitStatusExt as _},
    process::{Child, Command, ExitStatus},
};

use anyhow::{Context as _, bail};

use super::{exe, limits::Sample, worker};
use crate::{cli::DaemonArgs, safe_files};

pub use super::signals::{install, stop_requested, take_hangup};

pub fn describe_status(status: ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exited with status {code}"),
        (None, Some(signal)) => format!("was killed by signal {signal} ({})", signal_name(signal)),
        _ => format!("ended ({status})"),
    }
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGKILL => "SIGKILL",
        libc::SIGTERM => "SIGTERM",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGINT => "SIGINT",
        _ => "signal",
    }
}

fn send(child: &Child, signal: libc::c_int) {
    // SAFETY: kill with a pid this process started and has not reaped yet.
    unsafe { libc::kill(child.id() as libc::pid_t, signal) };
}

/// Asks the worker to stop (SIGTERM).
pub fn ask_to_stop(child: &mut Child) {
    send(child, libc::SIGTERM);
}

/// Tells the worker it is being stopped for exceeding a limit (SIGUSR1).
pub fn blame(child: &mut Child) {
    send(child, libc::SIGUSR1);
}

/// Passes the daemon's SIGHUP on to the worker.
pub fn hang_up(child: &mut Child) {
    send(child, libc::SIGHUP);
}

/// What a worker killed by the watcher ended with, when waiting for it failed.
pub fn killed_status() -> ExitStatus {
    ExitStatus::from_raw(libc::SIGKILL)
}

pub fn sample(child: &Child) -> Option<Sample> {
    let stat = procfs::process::Process::new(child.id() as i32)
        .ok()?
        .stat()
        .ok()?;
    let ticks = procfs::ticks_per_second().max(1);
    Some(Sample {
        resident_bytes: stat.rss * procfs::page_size(),
        cpu: std::time::Duration::from_millis((stat.utime + stat.stime) * 1000 / ticks),
    })
}

pub fn spawn_worker(args: &DaemonArgs, previous_end: Option<&str>) -> anyhow::Result<Child> {
    let real = exe::real_path();
    if !args.watchdog.allow_unsafe {
        // SAFETY: geteuid has no preconditions.
        let euid = unsafe { libc::geteuid() };
        let exe = std::path::Path::new(exe::SELF_EXE);
        if let Some(problem) = safe_files::problem(exe, &real, safe_files::Kind::Executable, euid) {
            bail!(
                "{}",
                safe_files::at_start::refusal("the vigil executable", &real, &problem)
            );
        }
    }
    // `ps` and `pgrep` show the worker as `vigil`, not as `exe` (the name it is run by).
    let argv = std::env::args_os().skip(1);
    let mut command = Command::new(exe::SELF_EXE);
    command
        .arg0(worker::PROCESS_NAME)
        .args(argv)
        .env(worker::WORKER_ENV, std::process::id().to_string())
        .env_remove(worker::PREVIOUS_END_ENV);
    if let Some(end) = previous_end {
        command.env(worker::PREVIOUS_END_ENV, end);
    }
    command
        .spawn()
        .with_context(|| format!("starting the worker ({})", real.display()))
}
