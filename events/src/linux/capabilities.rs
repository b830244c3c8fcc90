//! The Linux capabilities event collection needs, and which of them this process lacks: vigil
//! runs as root, or as its own user with exactly these (see SECURITY.md, "Least privilege").

/// One capability: its number (`linux/capability.h`) and name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capability {
    pub bit: u32,
    pub name: &'static str,
}

/// Loading and attaching tracing programs, and their maps (5.8 and later).
pub const CAP_BPF: Capability = Capability {
    bit: 39,
    name: "CAP_BPF",
};
/// Tracepoint programs attach through perf events.
pub const CAP_PERFMON: Capability = Capability {
    bit: 38,
    name: "CAP_PERFMON",
};
/// tracefs (`/sys/kernel/tracing`, root's, mode 0700) gives each tracepoint's id and layout.
pub const CAP_DAC_READ_SEARCH: Capability = Capability {
    bit: 2,
    name: "CAP_DAC_READ_SEARCH",
};
/// Other users' `/proc/<pid>/exe` and `cwd`, read for the processes that ran before vigil.
pub const CAP_SYS_PTRACE: Capability = Capability {
    bit: 19,
    name: "CAP_SYS_PTRACE",
};
/// The audit publisher (`--disable_audit=false`): the audit pid, status and rules.
pub const CAP_AUDIT_CONTROL: Capability = Capability {
    bit: 30,
    name: "CAP_AUDIT_CONTROL",
};
/// The audit publisher beside another owner of audit (auditd): the kernel's read-only copy of
/// every record (the multicast group).
pub const CAP_AUDIT_READ: Capability = Capability {
    bit: 37,
    name: "CAP_AUDIT_READ",
};
/// What the audit publisher needs, on top of `NEEDED` (off by default, so not in the unit's set).
pub const NEEDED_FOR_AUDIT: [Capability; 2] = [CAP_AUDIT_CONTROL, CAP_AUDIT_READ];
/// What older kernels asked instead of CAP_BPF and CAP_PERFMON.
const CAP_SYS_ADMIN: Capability = Capability {
    bit: 21,
    name: "CAP_SYS_ADMIN",
};

/// Everything event collection needs, in the order an operator grants them.
pub const NEEDED: [Capability; 4] = [CAP_BPF, CAP_PERFMON, CAP_DAC_READ_SEARCH, CAP_SYS_PTRACE];

/// The effective capability set of this process (`CapEff` in `/proc/self/status`); empty when
/// it cannot be read.
pub fn effective() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| effective_in(&status))
        .unwrap_or(0)
}

fn effective_in(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
}

/// Which of `wanted` the set `effective` lacks.
pub fn missing(effective: u64, wanted: &[Capability]) -> Vec<Capability> {
    wanted
        .iter()
        .copied()
        .filter(|cap| effective & (1u64 << cap.bit) == 0)
        .collect()
}

/// Which capabilities loading programs takes that `effective` lacks: none with CAP_SYS_ADMIN
/// (what kernels before 5.8 ask), else those of CAP_BPF and CAP_PERFMON it does not have.
pub fn missing_to_load(effective: u64) -> Vec<Capability> {
    if missing(effective, &[CAP_SYS_ADMIN]).is_empty() {
        return Vec::new();
    }
    missing(effective, &[CAP_BPF, CAP_PERFMON])
}

/// `CAP_BPF, CAP_PERFMON`.
pub fn names(caps: &[Capability]) -> String {
    caps.iter().map(|c| c.name).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_missing_capabilities_are_named() {
        let status = "Name:\tvigil\nCapEff:\t000000c000000000\n";
        let effective = effective_in(status).expect("CapEff");
        assert_eq!(missing_to_load(effective), Vec::new());
        assert_eq!(
            names(&missing(effective, &NEEDED)),
            "CAP_DAC_READ_SEARCH, CAP_SYS_PTRACE"
        );
        assert_eq!(names(&missing_to_load(1 << 39)), "CAP_PERFMON");
        assert_eq!(missing_to_load(1 << 21), Vec::new(), "CAP_SYS_ADMIN");
        assert_eq!(missing(u64::MAX >> 23, &NEEDED), Vec::new(), "root's set");
        assert_eq!(effective_in("Name:\tx\n"), None);
    }
}
