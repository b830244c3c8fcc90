//! auditd with one rule, execve and execveat, writing its raw log: what a user gets from the
//! Linux audit system for the same execs. The bench runs its own auditd (config and log in the
//! load's workspace) and puts the kernel's audit settings back as they were when it stops.

use std::{
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};

use super::{Context, LoadMarks, StartError, Tool, count_lines, file_len, stop_child, tail};
use crate::bench::measure;

const KEY: &str = "vigil-bench";
const RULE: &[&str] = &[
    "always,exit",
    "-F",
    "arch=b64",
    "-S",
    "execve",
    "-S",
    "execveat",
    "-k",
    KEY,
];

/// `auditctl -s`, as name/value pairs.
pub fn parse_status(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|line| {
            let (name, value) = line.split_once(' ')?;
            Some((name.to_owned(), value.split_whitespace().next()?.to_owned()))
        })
        .collect()
}

fn status() -> anyhow::Result<Vec<(String, String)>> {
    let output = Command::new("auditctl")
        .arg("-s")
        .output()
        .context("running auditctl -s")?;
    if !output.status.success() {
        bail!(
            "auditctl -s failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(parse_status(&String::from_utf8_lossy(&output.stdout)))
}

fn status_value(status: &[(String, String)], name: &str) -> Option<String> {
    status
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.clone())
}

fn auditctl(args: &[&str]) -> anyhow::Result<()> {
    let output = Command::new("auditctl")
        .args(args)
        .output()
        .context("running auditctl")?;
    if !output.status.success() {
        bail!(
            "auditctl {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

/// A SYSCALL record of the rule for `exe`.
pub fn is_exec_of(line: &str, exe: &str) -> bool {
    line.starts_with("type=SYSCALL")
        && line.contains(&format!("exe=\"{exe}\""))
        && line.contains(&format!("key=\"{KEY}\""))
}

pub struct Auditd {
    child: Option<Child>,
    dir: PathBuf,
    probe_exe: String,
    /// The kernel's settings before: `enabled` and `backlog_limit`.
    enabled_before: String,
    backlog_before: String,
    rule_added: bool,
    lost_before: u64,
}

impl Auditd {
    pub fn start(ctx: &Context<'_>) -> Result<Self, StartError> {
        for binary in ["auditd", "auditctl"] {
            if !crate::succeeds(Command::new("sh").args(["-c", &format!("command -v {binary}")])) {
                return Err(StartError::Unavailable(format!(
                    "{binary} is not installed (apt-get install auditd)"
                )));
            }
        }
        let before = status().map_err(|e| StartError::Unavailable(format!("{e:#}")))?;
        if let Some(pid) = status_value(&before, "pid").filter(|p| p != "0") {
            return Err(StartError::Unavailable(format!(
                "an audit daemon already runs (pid {pid}); the bench leaves it alone"
            )));
        }
        let dir = super::fresh_dir(&ctx.workspace.dir.join("audit"))?;
        std::fs::create_dir_all(dir.join("plugins.d")).context("creating auditd's directory")?;
        let config = format!(
            "local_events = yes\nwrite_logs = yes\nlog_file = {log}\nlog_format = RAW\n\
             flush = INCREMENTAL_ASYNC\nfreq = 50\nmax_log_file = 4096\nnum_logs = 2\n\
             max_log_file_action = IGNORE\nspace_left = 75\nspace_left_action = IGNORE\n\
             admin_space_left = 50\nadmin_space_left_action = IGNORE\n\
             disk_full_action = IGNORE\ndisk_error_action = IGNORE\nq_depth = 8000\n\
             overflow_action = IGNORE\nplugin_dir = {plugins}\nend_of_event_timeout = 2\n",
            log = dir.join("audit.log").display(),
            plugins = dir.join("plugins.d").display(),
        );
        let conf = dir.join("auditd.conf");
        std::fs::write(&conf, config).context("writing auditd.conf")?;
        // auditd refuses a config others may write.
        std::fs::set_permissions(&conf, std::os::unix::fs::PermissionsExt::from_mode(0o640))
            .context("auditd.conf's mode")?;
        let stderr = std::fs::File::create(dir.join("stderr")).context("auditd's stderr")?;
        let child = Command::new("auditd")
            .args(["-n", "-s", "nochange", "-c"])
            .arg(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .context("starting auditd")?;
        let mut auditd = Self {
            child: Some(child),
            dir,
            probe_exe: ctx.workspace.ready_exe().to_string_lossy().into_owned(),
            enabled_before: status_value(&before, "enabled").unwrap_or_else(|| "0".into()),
            backlog_before: status_value(&before, "backlog_limit").unwrap_or_else(|| "64".into()),
            rule_added: false,
            lost_before: 0,
        };
        auditd.wait_registered()?;
        auditctl(&["-b", "8192"])?;
        auditctl(&["-e", "1"])?;
        let mut add = vec!["-a"];
        add.extend_from_slice(RULE);
        auditctl(&add)?;
        auditd.rule_added = true;
        auditd.lost_before = status()
            .ok()
            .and_then(|s| status_value(&s, "lost")?.parse().ok())
            .unwrap_or(0);
        Ok(auditd)
    }

    /// Until the kernel knows this auditd as its audit daemon.
    fn wait_registered(&mut self) -> Result<(), StartError> {
        let pid = self.child.as_ref().map_or(0, |c| c.id()).to_string();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                return Err(StartError::Unavailable(format!(
                    "auditd exited with {status}: {}",
                    tail(&self.dir.join("stderr"), 5)
                )));
            }
            if status().is_ok_and(|s| status_value(&s, "pid").as_deref() == Some(pid.as_str())) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(StartError::Unavailable(
            "auditd did not register with the kernel within 20 s".into(),
        ))
    }

    fn log(&self) -> PathBuf {
        self.dir.join("audit.log")
    }

    /// Puts the kernel's audit settings back; the rule first.
    fn restore(&mut self) -> anyhow::Result<()> {
        if self.rule_added {
            let mut delete = vec!["-d"];
            delete.extend_from_slice(RULE);
            auditctl(&delete)?;
            self.rule_added = false;
        }
        auditctl(&["-e", &self.enabled_before.clone()])?;
        auditctl(&["-b", &self.backlog_before.clone()])
    }

    /// Records the kernel dropped (backlog full) since the start.
    pub fn lost(&self) -> u64 {
        status()
            .ok()
            .and_then(|s| status_value(&s, "lost")?.parse::<u64>().ok())
            .map_or(0, |now| now.saturating_sub(self.lost_before))
    }
}

impl Tool for Auditd {
    fn pids(&self) -> Vec<i32> {
        self.child
            .as_ref()
            .map(|c| c.id() as i32)
            .into_iter()
            .collect()
    }

    fn kernel_threads(&self) -> Vec<i32> {
        measure::kernel_threads("kauditd")
    }

    fn saw_probe(&mut self) -> anyhow::Result<bool> {
        let text = std::fs::read_to_string(self.log()).unwrap_or_default();
        Ok(count_lines(&text, |l| is_exec_of(l, &self.probe_exe)) > 0)
    }

    fn progress(&mut self, _marks: &LoadMarks) -> anyhow::Result<u64> {
        Ok(file_len(&self.log()))
    }

    fn finish(&mut self, _marks: &LoadMarks) -> anyhow::Result<super::Finish> {
        let lost = self.lost();
        Ok(super::Finish {
            note: (lost > 0).then(|| format!("the kernel dropped {lost} audit records")),
            ..super::Finish::default()
        })
    }

    fn stop(&mut self) -> anyhow::Result<f64> {
        let restored = self.restore();
        let stopped = match self.child.as_mut() {
            Some(child) => stop_child(child, libc::SIGTERM, Duration::from_secs(20)),
            None => Ok(0.0),
        };
        self.child = None;
        restored?;
        stopped
    }

    fn captured(&mut self, marks: &LoadMarks) -> anyhow::Result<u64> {
        let text = std::fs::read_to_string(self.log())
            .with_context(|| format!("reading {}", self.log().display()))?;
        let exe = marks.exe.to_string_lossy();
        Ok(count_lines(&text, |l| is_exec_of(l, &exe)))
    }
}

impl Drop for Auditd {
    fn drop(&mut self) {
        if let Err(error) = self.restore() {
            eprintln!("bench: putting the audit settings back failed: {error:#}");
        }
        if let Some(child) = self.child.as_mut() {
            let _ = stop_child(child, libc::SIGTERM, Duration::from_secs(20));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auditctl_status_reads_as_pairs() {
        let text = "enabled 0\nfailure 1\npid 0\nrate_limit 0\nbacklog_limit 64\nlost 0\n\
                    loginuid_immutable 0 unlocked\n";
        let status = parse_status(text);
        assert_eq!(
            status_value(&status, "backlog_limit").as_deref(),
            Some("64")
        );
        assert_eq!(
            status_value(&status, "loginuid_immutable").as_deref(),
            Some("0")
        );
        assert_eq!(status_value(&status, "missing"), None);
    }

    #[test]
    fn only_the_rule_s_syscall_records_of_the_executable_count() {
        let syscall = "type=SYSCALL msg=audit(1.5:3): arch=c000003e syscall=59 success=yes \
                       comm=\"load\" exe=\"/tmp/vb-1/load\" key=\"vigil-bench\"";
        assert!(is_exec_of(syscall, "/tmp/vb-1/load"));
        assert!(!is_exec_of(syscall, "/tmp/vb-1/ready"));
        let execve = "type=EXECVE msg=audit(1.5:3): argc=1 a0=\"/tmp/vb-1/load\"";
        assert!(!is_exec_of(execve, "/tmp/vb-1/load"));
    }
}
