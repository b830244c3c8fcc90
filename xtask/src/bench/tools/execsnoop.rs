//! bcc's execsnoop (Debian's bpfcc-tools names it `execsnoop-bpfcc`): execs with their
//! arguments, printed to a file. It compiles its C program at start with the running kernel's
//! headers; where there are none it cannot run, and the bench says so.

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

use anyhow::Context as _;

use super::{Context, LoadMarks, StartError, Tool, count_lines, file_len, stop_child, tail};

const BINARIES: [&str; 2] = ["execsnoop-bpfcc", "execsnoop"];

/// A line of execsnoop's output (`PCOMM PID PPID RET ARGS`) for an exec of `exe`.
pub fn is_exec_of(line: &str, exe: &str) -> bool {
    line.split_whitespace().nth(4) == Some(exe)
}

/// What bcc said of why it cannot run, without Python's traceback: its own lines (not indented,
/// not the traceback's header).
pub fn reason(stderr: &str) -> String {
    let said: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.starts_with(' ') && !l.starts_with("Traceback") && !l.trim().is_empty())
        .collect();
    said.join(" ")
}

pub struct Execsnoop {
    child: Child,
    dir: PathBuf,
    probe_exe: String,
    stopped: bool,
}

impl Execsnoop {
    pub fn start(ctx: &Context<'_>) -> Result<Self, StartError> {
        let Some(binary) = BINARIES
            .into_iter()
            .find(|b| crate::succeeds(Command::new("sh").args(["-c", &format!("command -v {b}")])))
        else {
            return Err(StartError::Unavailable(
                "execsnoop is not installed (apt-get install bpfcc-tools)".into(),
            ));
        };
        let dir = super::fresh_dir(&ctx.workspace.dir.join("execsnoop"))?;
        let out = std::fs::File::create(dir.join("out")).context("execsnoop's output")?;
        let stderr = std::fs::File::create(dir.join("stderr")).context("execsnoop's stderr")?;
        let child = Command::new(binary)
            // Python buffers a file's output: unbuffered, what it printed is in the file.
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("starting {binary}"))?;
        Ok(Self {
            child,
            dir,
            probe_exe: ctx.workspace.ready_exe().to_string_lossy().into_owned(),
            stopped: false,
        })
    }

    fn out(&self) -> PathBuf {
        self.dir.join("out")
    }
}

impl Tool for Execsnoop {
    fn pids(&self) -> Vec<i32> {
        vec![self.child.id() as i32]
    }

    fn bpf_holders(&self) -> Vec<i32> {
        vec![self.child.id() as i32]
    }

    fn saw_probe(&mut self) -> anyhow::Result<bool> {
        if let Some(status) = self.child.try_wait()? {
            anyhow::bail!(
                "execsnoop exited with {status}: {}",
                reason(&tail(&self.dir.join("stderr"), 30))
            );
        }
        let text = std::fs::read_to_string(self.out()).unwrap_or_default();
        Ok(count_lines(&text, |l| is_exec_of(l, &self.probe_exe)) > 0)
    }

    fn progress(&mut self, _marks: &LoadMarks) -> anyhow::Result<u64> {
        Ok(file_len(&self.out()))
    }

    fn stop(&mut self) -> anyhow::Result<f64> {
        self.stopped = true;
        stop_child(&mut self.child, libc::SIGINT, Duration::from_secs(20))
    }

    fn captured(&mut self, marks: &LoadMarks) -> anyhow::Result<u64> {
        let text = std::fs::read_to_string(self.out())
            .with_context(|| format!("reading {}", self.out().display()))?;
        let exe = marks.exe.to_string_lossy();
        Ok(count_lines(&text, |l| is_exec_of(l, &exe)))
    }
}

impl Drop for Execsnoop {
    fn drop(&mut self) {
        if !self.stopped {
            let _ = stop_child(&mut self.child, libc::SIGINT, Duration::from_secs(20));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reason_it_cannot_run_leaves_the_traceback_out() {
        let stderr = "Unable to find kernel headers. Try rebuilding kernel with \
                      CONFIG_IKHEADERS=m (module)\n\
                      chdir(/lib/modules/6.18/build): No such file or directory\n\
                      Traceback (most recent call last):\n  File \"/usr/sbin/execsnoop\", \
                      line 243, in <module>\n    b = BPF(text=bpf_text)\n\
                      Exception: Failed to compile BPF module <text>\n";
        assert_eq!(
            reason(stderr),
            "Unable to find kernel headers. Try rebuilding kernel with CONFIG_IKHEADERS=m \
             (module) chdir(/lib/modules/6.18/build): No such file or directory Exception: \
             Failed to compile BPF module <text>"
        );
    }

    #[test]
    fn an_exec_line_is_known_by_its_first_argument() {
        assert!(is_exec_of(
            "load    4242   4200     0 /tmp/vb-1/load",
            "/tmp/vb-1/load"
        ));
        assert!(!is_exec_of(
            "PCOMM   PID    PPID   RET ARGS",
            "/tmp/vb-1/load"
        ));
        assert!(!is_exec_of(
            "ready   4242   4200     0 /tmp/vb-1/ready",
            "/tmp/vb-1/load"
        ));
    }
}
