//! The watchdog: `vigil daemon` runs as a watcher that starts this same executable again as the
//! worker (publishers, store, scheduler, loggers), measures it, and restarts it when it exceeds
//! its limits or dies. The watcher opens no database and does nothing heavy, so a runaway query
//! or crafted data on the host takes down a worker, not the agent.

mod exe;
mod limits;
mod restart;
mod signals;
pub mod worker;

pub use exe::real_path as real_executable;

use std::{
    os::unix::process::{CommandExt as _, ExitStatusExt as _},
    process::{Child, Command, ExitCode, ExitStatus},
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};

use self::{
    limits::{CHECK_INTERVAL, Exceeded, Judge, Limits, QUICK_FAILURE, Sample},
    restart::{Next, RestartPolicy},
};
use crate::{cli::DaemonArgs, pidfile::PidFile, safe_files};

/// How often the watcher looks at its worker and its signals.
const TICK: Duration = Duration::from_millis(100);
/// Between telling a worker it is blamed (SIGUSR1) and asking it to stop (SIGTERM).
const BLAME_NOTICE: Duration = Duration::from_millis(200);
/// What a worker has to stop when the daemon stops: it saves what is queued, then the kernel
/// takes seconds to detach its probes (one RCU grace period per tracepoint).
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);

/// How a worker's run ended.
enum End {
    /// The daemon was asked to stop (the signal's name); the worker was stopped with it.
    Shutdown(&'static str),
    /// The worker exited or was killed by someone else.
    Died(ExitStatus),
    /// The watcher stopped it for exceeding a limit.
    Exceeded(Exceeded, ExitStatus),
}

fn describe_status(status: ExitStatus) -> String {
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

/// Waits up to `grace` for the worker to exit after SIGTERM, then kills it.
fn stop(child: &mut Child, grace: Duration, grace_flag: &str) -> ExitStatus {
    send(child, libc::SIGTERM);
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
    child
        .wait()
        .unwrap_or_else(|_| ExitStatus::from_raw(libc::SIGKILL))
}

fn sample(pid: u32) -> Option<Sample> {
    let stat = procfs::process::Process::new(pid as i32)
        .ok()?
        .stat()
        .ok()?;
    let ticks = procfs::ticks_per_second().max(1);
    Some(Sample {
        resident_bytes: stat.rss * procfs::page_size(),
        cpu: Duration::from_millis((stat.utime + stat.stime) * 1000 / ticks),
    })
}

struct Watcher<'a> {
    args: &'a DaemonArgs,
    limits: Limits,
    cpus: u64,
    grace: Duration,
}

impl Watcher<'_> {
    fn spawn_worker(&self, previous_end: Option<&str>) -> anyhow::Result<Child> {
        let real = exe::real_path();
        if !self.args.watchdog.allow_unsafe {
            // SAFETY: geteuid has no preconditions.
            let euid = unsafe { libc::geteuid() };
            let exe = std::path::Path::new(exe::SELF_EXE);
            if let Some(problem) =
                safe_files::problem(exe, &real, safe_files::Kind::Executable, euid)
            {
                bail!(
                    "{}",
                    safe_files::at_start::refusal("the vigil executable", &real, &problem)
                );
            }
        }
        // `ps` and `pgrep` show the worker as `vigil`, not as `exe` (the name it is run by).
        let args = std::env::args_os().skip(1);
        let mut command = Command::new(exe::SELF_EXE);
        command
            .arg0(worker::PROCESS_NAME)
            .args(args)
            .env(worker::WORKER_ENV, std::process::id().to_string())
            .env_remove(worker::PREVIOUS_END_ENV);
        if let Some(end) = previous_end {
            command.env(worker::PREVIOUS_END_ENV, end);
        }
        command
            .spawn()
            .with_context(|| format!("starting the worker ({})", real.display()))
    }

    /// Watches one worker until it ends or must be stopped.
    fn supervise(&self, child: &mut Child, started: Instant) -> End {
        let mut judge = Judge::new(self.limits.clone(), self.cpus);
        let mut next_check = Instant::now() + CHECK_INTERVAL;
        loop {
            if let Some(signal) = signals::stop_requested() {
                tracing::info!(signal, pid = child.id(), "stopping the worker");
                stop(
                    child,
                    SHUTDOWN_GRACE.max(self.grace),
                    "the daemon's shutdown grace",
                );
                return End::Shutdown(signal);
            }
            if signals::take_hangup() {
                send(child, libc::SIGHUP);
            }
            if let Ok(Some(status)) = child.try_wait() {
                return End::Died(status);
            }
            if Instant::now() >= next_check {
                next_check += CHECK_INTERVAL;
                if let Some(sample) = sample(child.id()) {
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
                        send(child, libc::SIGUSR1);
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
                        if let Some(signal) = signals::stop_requested() {
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
    signals::install().context("handling signals")?;
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
