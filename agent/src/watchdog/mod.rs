//! The watchdog: `vigil daemon` runs as a watcher that starts this same executable again as the
//! worker (publishers, store, scheduler, loggers), measures it, and restarts it when it exceeds
//! its limits or dies. The watcher opens no database and does nothing heavy, so a runaway query
//! or crafted data on the host takes down a worker, not the agent.

// How the watcher starts, tells, measures and stops its worker: the one part that differs per
// platform (signals and /proc on Linux; a pipe, process handles and TerminateProcess on Windows).
#[cfg(target_os = "linux")]
mod exe;
mod limits;
mod ntstatus;
mod orders;
#[cfg_attr(target_os = "linux", path = "linux.rs")]
#[cfg_attr(windows, path = "windows.rs")]
mod process;
mod restart;
#[cfg(target_os = "linux")]
mod signals;
pub mod worker;
mod worker_args;

#[cfg(target_os = "linux")]
pub use exe::real_path as real_executable;

use std::{
    process::{Child, ExitCode},
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};

use self::{
    limits::{CHECK_INTERVAL, Exceeded, Judge, Limits, QUICK_FAILURE},
    process::describe_status,
    restart::{Next, RestartPolicy},
};
use crate::{cli::DaemonArgs, pidfile::PidFile};

/// How often the watcher looks at its worker and its signals.
const TICK: Duration = Duration::from_millis(100);
/// Between telling a worker it is blamed and asking it to stop.
const BLAME_NOTICE: Duration = Duration::from_millis(200);
/// What a worker has to stop when the daemon stops: it saves what is queued, then the kernel
/// takes seconds to detach its probes (one RCU grace period per tracepoint).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// How a worker's run ended.
enum End {
    /// The daemon was asked to stop (the signal's name); the worker was stopped with it.
    Shutdown(&'static str),
    /// The worker exited or was killed by someone else.
    Died(std::process::ExitStatus),
    /// The watcher stopped it for exceeding a limit.
    Exceeded(Exceeded, std::process::ExitStatus),
}

/// Waits up to `grace` for the worker to exit after asking it to stop, then kills it.
fn stop(child: &mut Child, grace: Duration, grace_flag: &str) -> std::process::ExitStatus {
    process::ask_to_stop(child);
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return status;
        }
        std::thread::sleep(TICK / 2);
    }
    tracing::warn!(
        pid = child.id(),
        "the worker did not stop within {} s ({grace_flag}); killing it",
        grace.as_secs()
    );
    let _ = child.kill();
    child.wait().unwrap_or_else(|_| process::killed_status())
}

struct Watcher<'a> {
    args: &'a DaemonArgs,
    limits: Limits,
    cpus: u64,
    grace: Duration,
}

impl Watcher<'_> {
    fn spawn_worker(&self, previous_end: Option<&str>) -> anyhow::Result<Child> {
        process::spawn_worker(self.args, previous_end)
    }

    /// Watches one worker until it ends or must be stopped.
    fn supervise(&self, child: &mut Child, started: Instant) -> End {
        let mut judge = Judge::new(self.limits.clone(), self.cpus);
        let mut next_check = Instant::now() + CHECK_INTERVAL;
        loop {
            if let Some(signal) = process::stop_requested() {
                tracing::info!(signal, pid = child.id(), "stopping the worker");
                stop(
                    child,
                    SHUTDOWN_GRACE.max(self.grace),
                    "the daemon's shutdown grace",
                );
                return End::Shutdown(signal);
            }
            if process::take_hangup() {
                process::hang_up(child);
            }
            if let Ok(Some(status)) = child.try_wait() {
                return End::Died(status);
            }
            if Instant::now() >= next_check {
                next_check += CHECK_INTERVAL;
                if let Some(sample) = process::sample(child) {
                    if self.args.watchdog.enable_watchdog_debug {
                        tracing::info!(
                            pid = child.id(),
                            resident_mb = sample.resident_bytes / (1024 * 1024),
                            cpu_ms = sample.cpu.as_millis() as u64,
                            "watchdog check"
                        );
                    }
                    if let Some(exceeded) = judge.judge(sample, started.elapsed()) {
                        tracing::warn!(pid = child.id(), "worker {exceeded}; stopping it");
                        process::blame(child);
                        std::thread::sleep(BLAME_NOTICE);
                        let status = stop(child, self.grace, "--watchdog_forced_shutdown_delay");
                        return End::Exceeded(exceeded, status);
                    }
                }
            }
            std::thread::sleep(TICK);
        }
    }

    fn run(&self) -> anyhow::Result<ExitCode> {
        let mut policy = RestartPolicy::new(self.limits.clone());
        let mut previous_end: Option<String> = None;
        loop {
            let mut child = self.spawn_worker(previous_end.as_deref())?;
            let started = Instant::now();
            tracing::info!(pid = child.id(), "worker started");
            let end = match self.supervise(&mut child, started) {
                End::Shutdown(signal) => {
                    tracing::info!(signal, "vigil daemon stopped");
                    return Ok(ExitCode::SUCCESS);
                }
                End::Died(status) => format!(
                    "the worker (pid {}) {}",
                    child.id(),
                    describe_status(status)
                ),
                End::Exceeded(exceeded, status) => format!(
                    "the watchdog stopped the worker (pid {}): {exceeded}; it {}",
                    child.id(),
                    describe_status(status)
                ),
            };
            let lived = started.elapsed();
            match policy.after(lived) {
                Next::GiveUp { failures } => bail!(
                    "{end}. That is {failures} workers in a row that failed within {} s of \
                     starting (--watchdog_restart_limit); giving up. The worker's messages \
                     above say why it failed",
                    QUICK_FAILURE.as_secs()
                ),
                Next::RestartAfter(wait) => {
                    tracing::warn!("{end}; starting a new worker in {} s", wait.as_secs());
                    let until = Instant::now() + wait;
                    while Instant::now() < until {
                        if let Some(signal) = process::stop_requested() {
                            tracing::info!(signal, "vigil daemon stopped");
                            return Ok(ExitCode::SUCCESS);
                        }
                        std::thread::sleep(TICK);
                    }
                }
            }
            previous_end = Some(end);
        }
    }
}

/// Runs the watcher until the daemon is stopped, or its workers keep failing.
pub fn watch(args: &DaemonArgs) -> anyhow::Result<ExitCode> {
    let _pidfile = PidFile::acquire(&args.pidfile)?;
    process::install().context("handling signals")?;
    let limits = Limits::from_args(&args.watchdog);
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get() as u64);
    tracing::info!(
        pid = std::process::id(),
        memory_mb = limits.memory_bytes / (1024 * 1024),
        cpu_percent = limits.cpu_percent,
        sustained_s = limits.sustained.as_secs(),
        "watchdog running"
    );
    Watcher {
        args,
        limits,
        cpus,
        grace: Duration::from_secs(args.watchdog.watchdog_forced_shutdown_delay),
    }
    .run()
}
