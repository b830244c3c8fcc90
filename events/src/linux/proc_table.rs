//! The process table that enriches events: what each live process runs, where, and with which
//! arguments. Seeded once from `/proc`, then kept current by the events themselves (fork copies
//! the parent's entry, exec replaces it, exit removes it), so enrichment costs no syscall per
//! event and still works for processes that are gone by the time their event is read.

use std::{collections::HashMap, path::Path};

use crate::{
    event_table::process::{ProcessAction, ProcessEvent},
    model::Actor,
};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcessInfo {
    pub path: String,
    pub cwd: String,
    pub argv: Vec<String>,
    /// When this entry was last set from an event (0: read from /proc).
    pub updated_ns: u64,
}

/// Above this many entries the table is rebuilt from `/proc`: exits were lost (dropped events),
/// and entries of dead processes would otherwise pile up.
const REBUILD_ABOVE: usize = 1 << 20;

#[derive(Debug, Default)]
pub struct ProcessTable {
    entries: HashMap<u32, ProcessInfo>,
}

fn read_process(dir: &Path) -> ProcessInfo {
    let link = |name: &str| {
        std::fs::read_link(dir.join(name))
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let argv = std::fs::read(dir.join("cmdline"))
        .map(|bytes| {
            let trimmed = bytes.strip_suffix(&[0]).unwrap_or(&bytes);
            if trimmed.is_empty() {
                Vec::new()
            } else {
                trimmed
                    .split(|&b| b == 0)
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect()
            }
        })
        .unwrap_or_default();
    ProcessInfo {
        path: link("exe"),
        cwd: link("cwd"),
        argv,
        updated_ns: 0,
    }
}

impl ProcessTable {
    /// Reads every process in `/proc`. Processes that vanish or deny access while being read are
    /// kept with what could be read.
    pub fn from_proc() -> Self {
        let mut table = Self::default();
        table.reseed();
        table
    }

    fn reseed(&mut self) {
        self.entries.clear();
        let Ok(dir) = std::fs::read_dir("/proc") else {
            return;
        };
        for entry in dir.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<u32>().ok())
            else {
                continue;
            };
            self.entries.insert(pid, read_process(&entry.path()));
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn get(&self, pid: u32) -> Option<&ProcessInfo> {
        self.entries.get(&pid)
    }

    pub fn insert(&mut self, pid: u32, info: ProcessInfo) {
        self.entries.insert(pid, info);
    }

    /// Fills in the caller's executable and command line for a non-process event.
    pub fn enrich_actor(&self, actor: &mut Actor) {
        if let Some(info) = self.entries.get(&actor.task.pid) {
            actor.path.clone_from(&info.path);
            actor.cmdline = info.argv.join(" ");
        }
    }

    /// Fills in what the kernel record does not carry, and updates the table with what the event
    /// says happened.
    pub fn enrich(&mut self, event: &mut ProcessEvent) {
        if let Some(parent) = self.entries.get(&event.task.parent) {
            event.parent_path.clone_from(&parent.path);
        }
        match event.action {
            ProcessAction::Exec => {
                self.entries.insert(
                    event.task.pid,
                    ProcessInfo {
                        path: event.path.clone(),
                        cwd: event.cwd.clone(),
                        argv: event.argv.clone(),
                        updated_ns: event.time_ns,
                    },
                );
            }
            ProcessAction::ExecFailed => {
                // The caller keeps running its old image in its old directory.
                if let Some(caller) = self.entries.get(&event.task.pid) {
                    event.cwd.clone_from(&caller.cwd);
                }
            }
            ProcessAction::Fork => {
                if let Some(caller) = self.entries.get(&event.task.pid).cloned() {
                    event.path.clone_from(&caller.path);
                    event.cwd.clone_from(&caller.cwd);
                    event.argv.clone_from(&caller.argv);
                    // A fork is reported when the call returns in the parent: after a vfork, the
                    // child has usually exec'd already, and its own newer entry must stay.
                    let started = event.time_ns.saturating_sub(event.duration_ns);
                    let child_is_newer = self
                        .entries
                        .get(&event.child_pid)
                        .is_some_and(|child| child.updated_ns >= started);
                    if !child_is_newer {
                        self.entries.insert(
                            event.child_pid,
                            ProcessInfo {
                                updated_ns: started,
                                ..caller
                            },
                        );
                    }
                }
            }
            ProcessAction::Exit => {
                if let Some(gone) = self.entries.remove(&event.task.pid) {
                    event.path = gone.path;
                    event.cwd = gone.cwd;
                    event.argv = gone.argv;
                }
            }
        }
        if self.entries.len() > REBUILD_ABOVE {
            self.reseed();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Syscall, Task};

    fn event(action: ProcessAction, pid: u32, parent: u32) -> ProcessEvent {
        ProcessEvent {
            action,
            syscall: Syscall::Unknown,
            time_ns: 0,
            task: Task {
                pid,
                tid: pid,
                parent,
                uid: 0,
                gid: 0,
                euid: 0,
                egid: 0,
                cgroup_id: 0,
                comm: String::new(),
            },
            path: String::new(),
            filename: String::new(),
            cwd: String::new(),
            argv: Vec::new(),
            argv_truncated: false,
            exit_code: 0,
            exit_signal: 0,
            child_pid: 0,
            duration_ns: 0,
            probe_error: 0,
            parent_path: String::new(),
        }
    }

    #[test]
    fn seeds_from_proc_including_this_process() {
        let table = ProcessTable::from_proc();
        let me = table
            .get(std::process::id())
            .expect("this process is in /proc");
        let exe = std::env::current_exe().expect("current exe");
        assert_eq!(me.path, exe.to_string_lossy());
        assert_eq!(
            me.cwd,
            std::env::current_dir().expect("cwd").to_string_lossy()
        );
        assert!(!me.argv.is_empty());
    }

    #[test]
    fn follows_fork_exec_and_exit() {
        let mut table = ProcessTable::default();
        table.insert(
            1,
            ProcessInfo {
                path: "/sbin/init".into(),
                cwd: "/".into(),
                argv: vec!["init".into()],
                updated_ns: 0,
            },
        );
        table.insert(
            100,
            ProcessInfo {
                path: "/usr/bin/bash".into(),
                cwd: "/home".into(),
                argv: vec!["bash".into()],
                updated_ns: 0,
            },
        );

        let mut fork = event(ProcessAction::Fork, 100, 1);
        fork.child_pid = 200;
        table.enrich(&mut fork);
        assert_eq!(fork.path, "/usr/bin/bash");
        assert_eq!(fork.parent_path, "/sbin/init");
        assert_eq!(table.get(200).map(|i| i.cwd.as_str()), Some("/home"));

        let mut exec = event(ProcessAction::Exec, 200, 100);
        exec.path = "/usr/bin/true".into();
        exec.cwd = "/home".into();
        table.enrich(&mut exec);
        assert_eq!(exec.parent_path, "/usr/bin/bash");
        assert_eq!(
            table.get(200).map(|i| i.path.as_str()),
            Some("/usr/bin/true")
        );

        let mut exit = event(ProcessAction::Exit, 200, 100);
        table.enrich(&mut exit);
        assert_eq!(exit.path, "/usr/bin/true");
        assert!(table.get(200).is_none());
    }

    #[test]
    fn a_vfork_reported_after_the_childs_exec_keeps_the_exec() {
        let mut table = ProcessTable::default();
        table.insert(
            100,
            ProcessInfo {
                path: "/usr/bin/dash".into(),
                ..ProcessInfo::default()
            },
        );
        let mut exec = event(ProcessAction::Exec, 200, 100);
        exec.path = "/usr/bin/cat".into();
        exec.time_ns = 1_000;
        table.enrich(&mut exec);
        // The parent's vfork returns after the child exec'd: entered at 900, reported at 1100.
        let mut fork = event(ProcessAction::Fork, 100, 1);
        fork.child_pid = 200;
        fork.time_ns = 1_100;
        fork.duration_ns = 200;
        table.enrich(&mut fork);
        assert_eq!(
            table.get(200).map(|i| i.path.as_str()),
            Some("/usr/bin/cat")
        );
    }
}
