//! What one kernel's run found, as the scenario runner reports it (JSON) and the matrix prints it.

use serde::{Deserialize, Serialize};

/// One kernel's run of the scenario.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// `uname -r` of the kernel the scenario ran on.
    pub kernel: String,
    /// Why the scenario did not run to its end (the daemon did not start, a call failed), if it
    /// did not.
    pub error: Option<String>,
    /// From starting the daemon to its "running" status line.
    pub startup_secs: f64,
    pub programs: Vec<Program>,
    pub tables: Vec<TableState>,
    pub checks: Vec<Check>,
    /// Syscalls this kernel does not have: the scenario's calls got `ENOSYS` (a kernel built
    /// without modules has no module syscalls). Their features are missing, not failing.
    #[serde(default)]
    pub absent: Vec<String>,
}

/// One eBPF program, as the daemon's status log describes it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Program {
    pub name: String,
    /// Instructions the verifier processed (`None` where the kernel does not say).
    pub verified_insns: Option<u32>,
    /// `category:tracepoint` of each attachment.
    pub attached: Vec<String>,
    /// Why it is not in use, when it is not.
    pub error: Option<String>,
}

/// One event table's row of `vigil_events`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TableState {
    pub name: String,
    pub available: Option<bool>,
    pub unavailable_reason: String,
}

/// One expected row.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Check {
    pub name: String,
    /// The programs whose work the row shows.
    pub programs: Vec<String>,
    pub passed: bool,
    /// What was expected and what was found, when it did not pass.
    pub detail: String,
}

impl TableState {
    /// The features this kernel lacks for the table: the names before each `: ` in the reason
    /// (`fchmodat2: this kernel has no tracepoint ...; openat2: ...`).
    pub fn missing_features(&self) -> Vec<&str> {
        self.unavailable_reason
            .split("; ")
            .filter(|part| !part.is_empty())
            .map(|part| part.split(':').next().unwrap_or(part).trim())
            .collect()
    }
}

impl Report {
    /// The report of a run that could not get anywhere.
    pub fn failed(kernel: String, error: String) -> Self {
        Self {
            kernel,
            error: Some(error),
            startup_secs: 0.0,
            programs: Vec::new(),
            tables: Vec::new(),
            checks: Vec::new(),
            absent: Vec::new(),
        }
    }

    /// What keeps this run from passing, given the features the kernel is known to lack (a
    /// syscall it does not have, named by the matrix or found [`absent`](Self::absent) by the
    /// scenario): nothing when every check passed, every program in use loaded and attached,
    /// and every table has all its features but those (a table that has none of its features
    /// for that reason alone is unavailable, as it should be).
    pub fn failures(&self, known_missing: &[&str]) -> Vec<String> {
        let known = |feature: &str| {
            known_missing.contains(&feature) || self.absent.iter().any(|a| a == feature)
        };
        let mut failures = Vec::new();
        if let Some(error) = &self.error {
            failures.push(format!("the scenario did not run to its end: {error}"));
        }
        if self.error.is_none() && self.checks.is_empty() {
            failures.push("no check ran".to_owned());
        }
        for check in self.checks.iter().filter(|c| !c.passed) {
            failures.push(format!("{}: {}", check.name, check.detail));
        }
        for program in &self.programs {
            if let Some(error) = &program.error {
                failures.push(format!("{}: {error}", program.name));
            }
        }
        for table in &self.tables {
            let missing = table.missing_features();
            if table.available == Some(false)
                && !missing.is_empty()
                && missing.iter().all(|f| known(f))
            {
                continue;
            }
            if table.available != Some(true) {
                failures.push(format!(
                    "{} unavailable: {}",
                    table.name, table.unavailable_reason
                ));
                continue;
            }
            for feature in missing {
                if !known(feature) {
                    failures.push(format!(
                        "{} lacks {feature}: {}",
                        table.name, table.unavailable_reason
                    ));
                }
            }
        }
        if self.tables.is_empty() && self.error.is_none() {
            failures.push("vigil_events reported no table".to_owned());
        }
        failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(reason: &str) -> Report {
        Report {
            kernel: "6.1.0".into(),
            error: None,
            startup_secs: 1.0,
            programs: vec![],
            tables: vec![TableState {
                name: "bpf_file_events".into(),
                available: Some(true),
                unavailable_reason: reason.into(),
            }],
            checks: vec![Check {
                name: "file create".into(),
                programs: vec![],
                passed: true,
                detail: String::new(),
            }],
            absent: vec![],
        }
    }

    #[test]
    fn a_known_missing_syscall_passes_and_anything_else_missing_fails() {
        let missing = "fchmodat2: this kernel has no tracepoint syscalls:sys_enter_fchmodat2 (a \
                       syscall it does not have, or syscall tracepoints are not built in)";
        assert!(report(missing).failures(&["fchmodat2"]).is_empty());
        assert_eq!(report(missing).failures(&[]).len(), 1);
        let two = format!("{missing}; openat: program vigil_enter_openat not loaded: refused");
        let failures = report(&two).failures(&["fchmodat2"]);
        assert_eq!(failures.len(), 1);
        assert!(failures[0].contains("lacks openat"), "{failures:?}");
        assert!(report("").failures(&[]).is_empty());
    }

    #[test]
    fn a_table_whose_every_syscall_is_absent_is_rightly_unavailable() {
        let reason = "init_module: this kernel has no tracepoint \
                      syscalls:sys_enter_init_module; delete_module: this kernel has no \
                      tracepoint syscalls:sys_enter_delete_module";
        let mut run = report(reason);
        run.tables[0].available = Some(false);
        assert_eq!(run.failures(&[]).len(), 1, "absent from nothing: a failure");
        run.absent = vec!["init_module".into()];
        assert_eq!(
            run.failures(&[]).len(),
            1,
            "one of two absent: still a failure"
        );
        run.absent.push("delete_module".into());
        assert!(run.failures(&[]).is_empty(), "{:?}", run.failures(&[]));
        // Available with a feature the scenario found absent: that feature is no failure.
        run.tables[0].available = Some(true);
        run.tables[0].unavailable_reason = "delete_module: no tracepoint".into();
        assert!(run.failures(&[]).is_empty());
    }
}
