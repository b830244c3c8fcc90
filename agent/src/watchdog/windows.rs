//! The watcher's view of its worker on Windows, as osquery's: the same executable started again,
//! told what to do through a pipe on its standard input (see `orders`; Windows has no SIGTERM or
//! SIGUSR1), measured through its process handle (`GetProcessMemoryInfo`'s working set,
//! `GetProcessTimes`), and ended with `TerminateProcess` when it does not stop in time.

use std::{
    io::Write as _,
    os::windows::{io::AsRawHandle as _, process::ExitStatusExt as _},
    process::{Child, Command, ExitStatus, Stdio},
};

use anyhow::Context as _;
use windows_sys::Win32::System::Console::{
    CTRL_BREAK_EVENT, CTRL_C_EVENT, CTRL_CLOSE_EVENT, CTRL_SHUTDOWN_EVENT, SetConsoleCtrlHandler,
};

use super::{limits::Sample, ntstatus, orders::Order, worker, worker_args};
use crate::cli::DaemonArgs;

/// A console's Ctrl+C, Ctrl+Break, closing and shutdown stop the daemon; a user's logoff does
/// not (a service sees every user's).
// SAFETY: Windows calls it on a thread of its own with a control code and nothing else to trust;
// it only sets the stop request (an atomic).
unsafe extern "system" fn on_console_control(control: u32) -> i32 {
    match control {
        CTRL_C_EVENT | CTRL_BREAK_EVENT | CTRL_CLOSE_EVENT | CTRL_SHUTDOWN_EVENT => {
            crate::os::request_stop();
            1
        }
        _ => 0,
    }
}

/// Turns a console's stop keys into the daemon's stop request (the service manager's Stop comes
/// through the service's control handler).
pub fn install() -> std::io::Result<()> {
    // SAFETY: the handler only stores to an atomic; it stays valid for the process's life.
    if unsafe { SetConsoleCtrlHandler(Some(on_console_control), 1) } == 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// The stop request received (service Stop or a console's Ctrl+C), if any.
pub fn stop_requested() -> Option<&'static str> {
    crate::os::stop_requested().then_some("a stop request")
}

/// Windows has no SIGHUP to pass on.
pub fn take_hangup() -> bool {
    false
}

pub fn hang_up(_child: &mut Child) {}

fn tell(child: &mut Child, order: Order) {
    if let Some(pipe) = child.stdin.as_mut() {
        // A worker that is gone cannot read it; its end is noticed by `try_wait`.
        let _ = writeln!(pipe, "{}", order.line()).and_then(|()| pipe.flush());
    }
}

/// Asks the worker to stop.
pub fn ask_to_stop(child: &mut Child) {
    tell(child, Order::Stop);
}

/// Tells the worker it is being stopped for exceeding a limit.
pub fn blame(child: &mut Child) {
    tell(child, Order::Blame);
}

/// What a worker ended by `TerminateProcess` (std's `kill`) ends with: exit code 1.
pub fn killed_status() -> ExitStatus {
    ExitStatus::from_raw(1)
}

pub fn describe_status(status: ExitStatus) -> String {
    ntstatus::describe_exit(status.code())
}

pub fn sample(child: &Child) -> Option<Sample> {
    let process = child.as_raw_handle();
    Some(Sample {
        resident_bytes: crate::os::resident_bytes_of(process)?,
        cpu: crate::os::cpu_of(process)?,
    })
}

pub fn spawn_worker(_args: &DaemonArgs, previous_end: Option<&str>) -> anyhow::Result<Child> {
    let exe = std::env::current_exe().context("finding vigil's own executable")?;
    let argv = worker_args::for_worker(
        crate::service::daemon_flags(),
        std::env::args_os().skip(1).collect(),
    );
    let mut command = Command::new(&exe);
    command
        .args(argv)
        .env(worker::WORKER_ENV, std::process::id().to_string())
        .env_remove(worker::PREVIOUS_END_ENV)
        .stdin(Stdio::piped());
    if let Some(end) = previous_end {
        command.env(worker::PREVIOUS_END_ENV, end);
    }
    command
        .spawn()
        .with_context(|| format!("starting the worker ({})", exe.display()))
}
