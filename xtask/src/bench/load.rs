//! The load generators: an exec storm, a file storm and a TCP connect storm, each at a fixed
//! rate or as fast as it can, for a fixed number of operations (so every tool gets the identical
//! load). Each runs in a process of its own (`xtask bench-load`), so that its CPU, children
//! included, is measured apart from everything else.

use std::{
    io::Write as _,
    net::{TcpListener, TcpStream},
    os::fd::AsRawFd as _,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LoadKind {
    /// fork + exec of a copy of `true`, waited for.
    Exec,
    /// create + write + rename + unlink of a file in a directory of its own.
    File,
    /// TCP connect to a listener of the same process, which accepts; both ends closed.
    Tcp,
}

impl LoadKind {
    pub fn name(self) -> &'static str {
        match self {
            LoadKind::Exec => "exec",
            LoadKind::File => "file",
            LoadKind::Tcp => "tcp",
        }
    }

    /// The vigil table this load fills.
    pub fn table(self) -> &'static str {
        match self {
            LoadKind::Exec => "bpf_process_events",
            LoadKind::File => "bpf_file_events",
            LoadKind::Tcp => "bpf_socket_events",
        }
    }

    /// Events vigil reports for one operation: one exec; a create, a rename and an unlink; a
    /// connect and an accept.
    pub fn events_per_op(self) -> u64 {
        match self {
            LoadKind::Exec => 1,
            LoadKind::File => 3,
            LoadKind::Tcp => 2,
        }
    }

    pub fn unit(self) -> &'static str {
        match self {
            LoadKind::Exec => "exec/s",
            LoadKind::File => "files/s",
            LoadKind::Tcp => "connections/s",
        }
    }
}

/// One load: what, how fast (`None`: as fast as it can), how many operations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadSpec {
    pub kind: LoadKind,
    pub rate: Option<u32>,
    pub count: u64,
}

impl LoadSpec {
    pub fn label(&self) -> String {
        match self.rate {
            Some(rate) => format!("{} storm, {rate} {}", self.kind.name(), self.kind.unit()),
            None => format!("{} storm, maximum", self.kind.name()),
        }
    }
}

/// What the generator reports on its stdout when it is done.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Outcome {
    pub ops: u64,
    pub wall_s: f64,
}

/// The files a load needs: the executable the exec storm runs (and the one tools are probed
/// with), and the file storm's directory.
pub struct Workspace {
    pub dir: PathBuf,
}

impl Workspace {
    /// A short path: bpftrace keeps 64 bytes of a string.
    pub fn create() -> anyhow::Result<Self> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let dir = PathBuf::from(format!(
            "/tmp/vb-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        if dir.exists() {
            std::fs::remove_dir_all(&dir).with_context(|| format!("clearing {}", dir.display()))?;
        }
        std::fs::create_dir_all(dir.join("files"))
            .with_context(|| format!("creating {}", dir.display()))?;
        let truth = ["/usr/bin/true", "/bin/true"]
            .into_iter()
            .map(Path::new)
            .find(|p| p.exists())
            .context("no `true` executable in /usr/bin or /bin to run in the exec storm")?;
        for name in ["load", "ready"] {
            std::fs::copy(truth, dir.join(name))
                .with_context(|| format!("copying {} into {}", truth.display(), dir.display()))?;
        }
        Ok(Self { dir })
    }

    /// What the exec storm runs: the only events of this executable are the load's.
    pub fn load_exe(&self) -> PathBuf {
        self.dir.join("load")
    }

    /// What tools are probed with before a load, to know they capture.
    pub fn ready_exe(&self) -> PathBuf {
        self.dir.join("ready")
    }

    pub fn files_dir(&self) -> PathBuf {
        self.dir.join("files")
    }
}

impl Drop for Workspace {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A finished load, seen from outside: what it reported and the CPU it used.
#[derive(Debug, Clone)]
pub struct Finished {
    pub pid: i32,
    pub outcome: Outcome,
    /// User + system CPU of the generator and every child it waited for.
    pub cpu_s: f64,
}

/// Runs `spec` in a process of its own and waits for it.
pub fn run(spec: &LoadSpec, workspace: &Workspace) -> anyhow::Result<Finished> {
    let exe = std::env::current_exe().context("finding xtask's own executable")?;
    let mut cmd = Command::new(exe);
    cmd.arg("bench-load")
        .arg("--kind")
        .arg(spec.kind.name())
        .arg("--count")
        .arg(spec.count.to_string())
        .arg("--dir")
        .arg(&workspace.dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if let Some(rate) = spec.rate {
        cmd.arg("--rate").arg(rate.to_string());
    }
    let mut child = cmd.spawn().context("starting the load generator")?;
    let pid = child.id() as i32;
    let mut stdout = child.stdout.take().context("the generator's stdout")?;
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut text).map(|_| text)
    });
    let (status, usage) = wait4(pid)?;
    let text = reader
        .join()
        .map_err(|_| anyhow::anyhow!("the thread reading the generator's output panicked"))?
        .context("reading the generator's output")?;
    if !status.success() {
        bail!("the load generator for {} failed: {status}", spec.label());
    }
    let outcome: Outcome = serde_json::from_str(text.trim())
        .with_context(|| format!("the load generator's report {text:?}"))?;
    Ok(Finished {
        pid,
        outcome,
        cpu_s: usage,
    })
}

/// Waits for `pid` and returns its exit status and its CPU, children included (`wait4`'s
/// rusage: what it and the children it waited for used).
fn wait4(pid: i32) -> anyhow::Result<(std::process::ExitStatus, f64)> {
    use std::os::unix::process::ExitStatusExt as _;
    let mut status = 0;
    // SAFETY: rusage is plain data the kernel fills.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: waiting for our own child, with valid pointers.
        let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        if r == pid {
            break;
        }
        let error = std::io::Error::last_os_error();
        if error.kind() != std::io::ErrorKind::Interrupted {
            return Err(error).context("waiting for the load generator");
        }
    }
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Ok((
        std::process::ExitStatus::from_raw(status),
        seconds(usage.ru_utime) + seconds(usage.ru_stime),
    ))
}

/// The generator itself (`xtask bench-load`): makes the load and prints its [`Outcome`].
pub fn generate(kind: LoadKind, rate: Option<u32>, count: u64, dir: &Path) -> anyhow::Result<()> {
    let pace = Pace::new(rate);
    let outcome = match kind {
        LoadKind::Exec => exec_storm(&pace, count, &dir.join("load"))?,
        LoadKind::File => file_storm(&pace, count, &dir.join("files"))?,
        LoadKind::Tcp => tcp_storm(&pace, count)?,
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", serde_json::to_string(&outcome)?)?;
    Ok(())
}

/// When operation `i` is due: `i / rate` seconds after the start, or at once without a rate.
/// A generator that falls behind catches up without sleeping.
struct Pace {
    start: Instant,
    interval: Option<Duration>,
}

impl Pace {
    fn new(rate: Option<u32>) -> Self {
        Self {
            start: Instant::now(),
            interval: rate
                .filter(|&r| r > 0)
                .map(|r| Duration::from_secs_f64(1.0 / f64::from(r))),
        }
    }

    /// How long after the start operation `i` is due (`None`: at once).
    fn offset(&self, i: u64) -> Option<Duration> {
        self.interval.map(|interval| interval.mul_f64(i as f64))
    }

    fn wait_for(&self, i: u64) {
        if let Some(offset) = self.offset(i) {
            let due = self.start + offset;
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
        }
    }

    fn outcome(&self, ops: u64) -> Outcome {
        Outcome {
            ops,
            wall_s: self.start.elapsed().as_secs_f64(),
        }
    }
}

/// One thread per CPU, each running every n-th exec and waiting for it: one thread alone could
/// not reach the higher rates (an exec and its wait take longer than 1/6,400 s).
fn exec_storm(pace: &Pace, count: u64, exe: &Path) -> anyhow::Result<Outcome> {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()) as u64;
    let failures = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    let mut failures = Vec::new();
                    for i in (t..count).step_by(threads as usize) {
                        pace.wait_for(i);
                        match Command::new(exe).status() {
                            Ok(status) if status.success() => {}
                            Ok(status) => {
                                failures.push(format!("{} exited {status}", exe.display()))
                            }
                            Err(error) => failures.push(format!("{}: {error}", exe.display())),
                        }
                    }
                    failures
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| {
                w.join()
                    .unwrap_or_else(|_| vec!["a thread panicked".into()])
            })
            .collect::<Vec<_>>()
    });
    if let Some(first) = failures.first() {
        bail!(
            "{} of {count} execs failed, the first: {first}",
            failures.len()
        );
    }
    Ok(pace.outcome(count))
}

/// One thread: the target is the file storm's maximum on one core.
fn file_storm(pace: &Pace, count: u64, dir: &Path) -> anyhow::Result<Outcome> {
    let payload = [0x5au8; 64];
    for i in 0..count {
        pace.wait_for(i);
        let created = dir.join(format!("f{i}"));
        let renamed = dir.join(format!("g{i}"));
        let mut file = std::fs::File::create(&created)
            .with_context(|| format!("creating {}", created.display()))?;
        file.write_all(&payload)
            .with_context(|| format!("writing {}", created.display()))?;
        drop(file);
        std::fs::rename(&created, &renamed)
            .with_context(|| format!("renaming {}", created.display()))?;
        std::fs::remove_file(&renamed)
            .with_context(|| format!("removing {}", renamed.display()))?;
    }
    Ok(pace.outcome(count))
}

/// Connections to a listener of this process on 127.0.0.1, accepted by a thread; closed with a
/// reset (linger 0) so that no TIME_WAIT piles up and ports do not run out.
fn tcp_storm(pace: &Pace, count: u64) -> anyhow::Result<Outcome> {
    let listener = TcpListener::bind("127.0.0.1:0").context("binding a local listener")?;
    let address = listener.local_addr()?;
    let accepted = Arc::new(AtomicU64::new(0));
    let counted = accepted.clone();
    let acceptor = std::thread::spawn(move || -> std::io::Result<()> {
        for _ in 0..count {
            let (stream, _) = listener.accept()?;
            drop(stream);
            counted.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    });
    for i in 0..count {
        pace.wait_for(i);
        // At most this many connections wait to be accepted: past the listen backlog the
        // kernel drops SYNs, and the connect waits a second to send it again.
        while i.saturating_sub(accepted.load(Ordering::Relaxed)) >= MAX_UNACCEPTED {
            if acceptor.is_finished() {
                break;
            }
            std::thread::sleep(Duration::from_micros(50));
        }
        let stream =
            TcpStream::connect(address).with_context(|| format!("connecting to {address}"))?;
        reset_on_close(&stream);
        drop(stream);
    }
    acceptor
        .join()
        .map_err(|_| anyhow::anyhow!("the accepting thread panicked"))?
        .context("accepting")?;
    Ok(pace.outcome(count))
}

const MAX_UNACCEPTED: u64 = 64;

fn reset_on_close(stream: &TcpStream) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: setsockopt on a socket we own, with a pointer to a value of the size given.
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_generator_makes_exactly_its_operations() {
        let workspace = Workspace::create().expect("workspace");
        for kind in [LoadKind::Exec, LoadKind::File, LoadKind::Tcp] {
            let pace = Pace::new(None);
            let outcome = match kind {
                LoadKind::Exec => exec_storm(&pace, 5, &workspace.load_exe()),
                LoadKind::File => file_storm(&pace, 5, &workspace.files_dir()),
                LoadKind::Tcp => tcp_storm(&pace, 5),
            }
            .expect("the generator runs");
            assert_eq!(outcome.ops, 5, "{kind:?}");
        }
        let left: Vec<_> = std::fs::read_dir(workspace.files_dir())
            .expect("files dir")
            .collect();
        assert!(left.is_empty(), "the file storm leaves no file behind");
    }

    #[test]
    fn a_paced_load_spreads_its_operations_over_the_rate() {
        let pace = Pace::new(Some(100));
        assert_eq!(pace.offset(0), Some(Duration::ZERO));
        assert_eq!(pace.offset(5), Some(Duration::from_millis(50)));
        assert_eq!(Pace::new(None).offset(1_000_000), None);
        assert_eq!(Pace::new(Some(0)).offset(7), None);
    }
}
