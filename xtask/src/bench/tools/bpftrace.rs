//! A bpftrace one-liner with vigil's exec capture: every execve and execveat, with the pid, the
//! uid, the file name and the arguments, printed to a file.

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};

use anyhow::Context as _;

use super::{Context, LoadMarks, StartError, Tool, count_lines, file_len, stop_child, tail};

pub const PROGRAM: &str = "tracepoint:syscalls:sys_enter_execve,\
tracepoint:syscalls:sys_enter_execveat \
{ printf(\"E %d %d %s\\n\", pid, uid, str(args->filename)); join(args->argv); }";

/// An exec line of the one-liner's output for `exe` (the arguments follow on a line of their
/// own, which does not start with `E `).
pub fn is_exec_of(line: &str, exe: &str) -> bool {
    line.starts_with("E ") && line.ends_with(&format!(" {exe}"))
}

/// What bpftrace says it lost (`Lost N events`: its buffer to userspace was full).
pub fn lost_events(output: &str) -> u64 {
    output
        .lines()
        .filter_map(|l| {
            l.trim()
                .strip_prefix("Lost ")?
                .strip_suffix(" events")?
                .parse::<u64>()
                .ok()
        })
        .sum()
}

pub struct Bpftrace {
    child: Child,
    dir: PathBuf,
    probe_exe: String,
    stopped: bool,
}

impl Bpftrace {
    pub fn start(ctx: &Context<'_>) -> Result<Self, StartError> {
        if !crate::succeeds(Command::new("bpftrace").arg("--version")) {
            return Err(StartError::Unavailable(
                "bpftrace is not installed (apt-get install bpftrace)".into(),
            ));
        }
        let dir = super::fresh_dir(&ctx.workspace.dir.join("bpftrace"))?;
        let stderr = std::fs::File::create(dir.join("stderr")).context("bpftrace's stderr")?;
        let child = Command::new("bpftrace")
            .arg("-o")
            .arg(dir.join("out"))
            .arg("-e")
            .arg(PROGRAM)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .context("starting bpftrace")?;
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

impl Tool for Bpftrace {
    fn pids(&self) -> Vec<i32> {
        vec![self.child.id() as i32]
    }

    fn bpf_holders(&self) -> Vec<i32> {
        vec![self.child.id() as i32]
    }

    fn saw_probe(&mut self) -> anyhow::Result<bool> {
        if let Some(status) = self.child.try_wait()? {
            anyhow::bail!(
                "bpftrace exited with {status}: {}",
                tail(&self.dir.join("stderr"), 5)
            );
        }
        let text = std::fs::read_to_string(self.out()).unwrap_or_default();
        Ok(count_lines(&text, |l| is_exec_of(l, &self.probe_exe)) > 0)
    }

    fn progress(&mut self, _marks: &LoadMarks) -> anyhow::Result<u64> {
        Ok(file_len(&self.out()))
    }

    fn finish(&mut self, _marks: &LoadMarks) -> anyhow::Result<super::Finish> {
        let text = std::fs::read_to_string(self.out()).unwrap_or_default();
        let lost = lost_events(&text);
        Ok(super::Finish {
            note: (lost > 0).then(|| format!("bpftrace reported {lost} lost events")),
            ..super::Finish::default()
        })
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

impl Drop for Bpftrace {
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
    fn exec_lines_count_and_argument_lines_do_not() {
        assert!(is_exec_of("E 4242 0 /tmp/vb-1/load", "/tmp/vb-1/load"));
        assert!(!is_exec_of("/tmp/vb-1/load", "/tmp/vb-1/load"));
        assert!(!is_exec_of("E 4242 0 /tmp/vb-1/ready", "/tmp/vb-1/load"));
        assert!(PROGRAM.contains("sys_enter_execveat"));
        assert_eq!(
            lost_events("E 1 0 /x\nLost 12 events\n/x\nLost 3 events\n"),
            15
        );
    }
}
