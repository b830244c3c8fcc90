//! The tools a load runs under, one at a time: none (the workload alone), vigil, and the peers a
//! user would pick instead (auditd with an execve rule, a bpftrace one-liner, bcc's execsnoop).
//! Each starts, proves it captures (an exec of the probe executable shows up in what it
//! reports), counts what it reported of a load, and stops, leaving the host as it was.

pub mod auditd;
pub mod bpftrace;
pub mod execsnoop;
pub mod vigil;

use std::{
    path::{Path, PathBuf},
    process::{Child, Command},
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};

use super::{
    figures::{ProgramCost, VigilCounters},
    load::{LoadKind, Workspace},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ToolKind {
    None,
    Vigil,
    Auditd,
    Bpftrace,
    Execsnoop,
}

impl ToolKind {
    pub fn name(self) -> &'static str {
        match self {
            ToolKind::None => "none",
            ToolKind::Vigil => "vigil",
            ToolKind::Auditd => "auditd",
            ToolKind::Bpftrace => "bpftrace",
            ToolKind::Execsnoop => "execsnoop",
        }
    }

    /// The peers capture execs only: they run under the exec storms.
    pub fn runs_under(self, kind: LoadKind) -> bool {
        match self {
            ToolKind::None | ToolKind::Vigil => true,
            ToolKind::Auditd | ToolKind::Bpftrace | ToolKind::Execsnoop => kind == LoadKind::Exec,
        }
    }

    pub const PEERS: [ToolKind; 3] = [ToolKind::Auditd, ToolKind::Bpftrace, ToolKind::Execsnoop];
}

/// What identifies a load's events in what a tool reports.
#[derive(Debug, Clone)]
pub struct LoadMarks {
    pub kind: LoadKind,
    /// The exec storm's executable.
    pub exe: PathBuf,
    /// The file storm's directory.
    pub files_dir: PathBuf,
    /// The generator's pid (file and TCP storms).
    pub pid: i32,
    /// When the load started, seconds since the epoch (rows before it are not the load's).
    pub since_s: u64,
}

/// Why a tool did not start.
#[derive(Debug)]
pub enum StartError {
    /// It cannot run on this machine (a peer is skipped, saying why).
    Unavailable(String),
    Failed(anyhow::Error),
}

impl From<anyhow::Error> for StartError {
    fn from(error: anyhow::Error) -> Self {
        StartError::Failed(error)
    }
}

/// A running tool.
pub trait Tool {
    /// The roots of its process trees.
    fn pids(&self) -> Vec<i32>;
    /// Kernel threads that work for it (their CPU is the tool's).
    fn kernel_threads(&self) -> Vec<i32> {
        Vec::new()
    }
    /// Processes holding the tool's eBPF programs (their run time in the kernel is what its
    /// hooks cost the workload, measured directly); none for a tool without eBPF.
    fn bpf_holders(&self) -> Vec<i32> {
        Vec::new()
    }
    /// Its processes summed up apart in the report, by role (vigil's watcher and worker).
    fn processes(&self) -> Vec<(&'static str, i32)> {
        Vec::new()
    }
    /// Whether it has reported an exec of the probe executable yet.
    fn saw_probe(&mut self) -> anyhow::Result<bool>;
    /// A number that stops changing once the tool has caught up with a load (events stored,
    /// bytes written).
    fn progress(&mut self, marks: &LoadMarks) -> anyhow::Result<u64>;
    /// Called once the load is over and the tool caught up, before it stops.
    fn finish(&mut self, _marks: &LoadMarks) -> anyhow::Result<Finish> {
        Ok(Finish::default())
    }
    /// Stops it; returns how long the orderly stop took (ms).
    fn stop(&mut self) -> anyhow::Result<f64>;
    /// Events of the load it reported (after it stopped: output flushed).
    fn captured(&mut self, marks: &LoadMarks) -> anyhow::Result<u64>;
    /// vigil's: from its start to the first event it captured (ms).
    fn start_ms(&self) -> Option<f64> {
        None
    }
}

/// What a tool tells once a load is over.
#[derive(Debug, Default)]
pub struct Finish {
    pub counters: Option<VigilCounters>,
    pub programs: Vec<ProgramCost>,
    pub note: Option<String>,
}

pub struct Context<'a> {
    pub vigil: &'a Path,
    pub workspace: &'a Workspace,
}

/// Starts `kind` and returns once it captures (or `None` for the workload alone).
pub fn start(kind: ToolKind, ctx: &Context<'_>) -> Result<Option<Box<dyn Tool>>, StartError> {
    let ticker = Ticker::start(ctx.workspace.ready_exe());
    let mut tool: Box<dyn Tool> = match kind {
        ToolKind::None => return Ok(None),
        ToolKind::Vigil => Box::new(vigil::Vigil::start(ctx)?),
        ToolKind::Auditd => Box::new(auditd::Auditd::start(ctx)?),
        ToolKind::Bpftrace => Box::new(bpftrace::Bpftrace::start(ctx)?),
        ToolKind::Execsnoop => Box::new(execsnoop::Execsnoop::start(ctx)?),
    };
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        match tool.saw_probe() {
            Ok(true) => break,
            Ok(false) => {}
            Err(error) => {
                let _ = tool.stop();
                return Err(StartError::Unavailable(format!("{error:#}")));
            }
        }
        if Instant::now() > deadline {
            let _ = tool.stop();
            return Err(StartError::Failed(anyhow::anyhow!(
                "{} did not report the probe exec within 90 s",
                kind.name()
            )));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(ticker);
    Ok(Some(tool))
}

/// Waits until the tool has caught up with a load: its progress reaches `expected`, or stops
/// changing for `quiet`; gives up after `deadline`.
pub fn wait_caught_up(
    tool: &mut dyn Tool,
    marks: &LoadMarks,
    expected: Option<u64>,
    quiet: Duration,
    deadline: Duration,
) -> anyhow::Result<()> {
    let end = Instant::now() + deadline;
    let mut last = tool.progress(marks)?;
    let mut last_change = Instant::now();
    loop {
        if expected.is_some_and(|e| last >= e) {
            return Ok(());
        }
        if last_change.elapsed() >= quiet {
            return Ok(());
        }
        if Instant::now() > end {
            bail!("the tool did not catch up with the load within {deadline:?}");
        }
        std::thread::sleep(Duration::from_millis(250));
        let now = tool.progress(marks)?;
        if now != last {
            last = now;
            last_change = Instant::now();
        }
    }
}

/// Runs the probe executable every 10 ms until dropped, so a starting tool has execs to report.
pub struct Ticker {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Ticker {
    pub fn start(exe: PathBuf) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            while !flag.load(Ordering::Relaxed) {
                let _ = Command::new(&exe).status();
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        Self {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// SIGTERM (or `signal`) to `child`, then waits; SIGKILL after `grace`. Returns the time the
/// orderly part took (ms).
pub fn stop_child(child: &mut Child, signal: i32, grace: Duration) -> anyhow::Result<f64> {
    if child.try_wait()?.is_some() {
        return Ok(0.0);
    }
    let started = Instant::now();
    // SAFETY: signalling our own child by its pid.
    unsafe { libc::kill(child.id() as libc::pid_t, signal) };
    while started.elapsed() < grace {
        if child.try_wait()?.is_some() {
            return Ok(started.elapsed().as_secs_f64() * 1e3);
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let _ = child.kill();
    let _ = child.wait();
    bail!("it did not stop within {grace:?} of signal {signal} and was killed")
}

/// Lines of `text` that `is_event` accepts.
pub fn count_lines(text: &str, is_event: impl Fn(&str) -> bool) -> u64 {
    text.lines().filter(|l| is_event(l)).count() as u64
}

/// `path` as a new empty directory: what an earlier run left there (a log appended to) goes.
pub fn fresh_dir(path: &Path) -> anyhow::Result<PathBuf> {
    if path.exists() {
        std::fs::remove_dir_all(path).with_context(|| format!("clearing {}", path.display()))?;
    }
    std::fs::create_dir_all(path).with_context(|| format!("creating {}", path.display()))?;
    Ok(path.to_owned())
}

pub fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// The last lines of a file, for an error message.
pub fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fresh_directory_holds_nothing_an_earlier_run_left() {
        let base = std::env::temp_dir().join(format!("vigil-bench-fresh-{}", std::process::id()));
        std::fs::create_dir_all(&base).expect("dir");
        std::fs::write(base.join("audit.log"), "earlier run").expect("file");
        let dir = fresh_dir(&base).expect("fresh");
        assert_eq!(std::fs::read_dir(&dir).expect("list").count(), 0);
        std::fs::remove_dir_all(&base).expect("cleanup");
    }
}
