//! What one bench run measured, as written to `$CARGO_TARGET_DIR/bench/figures.json` and read
//! back by the report and the plot. Derived figures (host cost, ratios) are computed from these,
//! never stored.

use serde::{Deserialize, Serialize};

use super::load::{LoadKind, LoadSpec};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Figures {
    /// `full` or `smoke`.
    pub mode: String,
    /// The command that reproduces the run.
    pub command: String,
    pub machine: Machine,
    /// One entry per (load, tool) run, in the order they ran.
    pub runs: Vec<Run>,
    /// Peers that could not run here, and why.
    pub skipped: Vec<Skipped>,
    /// Kernel cost of each vigil program over every vigil run (`kernel.bpf_stats_enabled=1`).
    pub kernel_cost: Vec<ProgramCost>,
    pub store_sql: Option<StoreSql>,
    /// Where the time of the store and SQL benches goes (when they ran).
    pub profile: Option<Profile>,
    /// Where each vigil program's kernel time goes (full runs where `perf` runs).
    #[serde(default)]
    pub kernel_profile: Option<KernelProfile>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Machine {
    pub kernel: String,
    pub cpu_model: String,
    pub cpus: usize,
    pub memory_mib: u64,
    pub os: String,
    /// The vigil binary measured, and how it was built.
    pub vigil_binary: String,
    pub vigil_build: String,
    /// The cargo profile of vigil and the criterion benches (`dev` in runs before it was
    /// recorded).
    #[serde(default = "dev_profile")]
    pub profile: String,
    pub git_commit: String,
    /// Seconds since the epoch when the run started and ended.
    pub started_unix: u64,
    pub ended_unix: u64,
    /// `/proc/loadavg` (1, 5, 15 minutes) at the start and at the end of the run.
    pub load_start: [f64; 3],
    pub load_end: [f64; 3],
    /// Other processes named `vigil` (other users' daemons) seen at the start: their probes see
    /// this run's load too.
    pub other_vigil_processes: usize,
    /// vigil programs already in the kernel at the start (`/proc/kallsyms`), whoever holds them:
    /// sets pinned by daemons killed without an orderly stop run on every hooked syscall and keep
    /// the tracepoints registered, so the figures are not those of a clean machine.
    #[serde(default)]
    pub vigil_programs_before: usize,
}

fn dev_profile() -> String {
    "dev".to_owned()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Skipped {
    pub tool: String,
    pub reason: String,
}

/// One tool under one load.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Run {
    pub load: LoadSpec,
    /// `none` (the workload alone), `vigil`, `auditd`, `bpftrace`, `execsnoop`.
    pub tool: String,
    /// The 1-minute load average when the run started.
    pub load_avg_1m: f64,
    /// Operations the generator made, and how long it took.
    pub ops: u64,
    pub wall_s: f64,
    /// The workload's CPU (user + system), its children included.
    pub workload_cpu_s: f64,
    /// The tool's own CPU over the load and the drain after it, every process of it (and, for
    /// auditd, the kernel's kauditd thread).
    pub tool_cpu_s: f64,
    /// eBPF tools: the run time of their programs in the kernel over the same span (what their
    /// hooks cost, measured with `kernel.bpf_stats_enabled=1`, host-wide).
    #[serde(default)]
    pub programs_s: Option<f64>,
    /// The sum of each tool process's peak resident memory (kB), and the largest one's.
    pub peak_rss_kb: u64,
    pub largest_peak_rss_kb: u64,
    /// Events the load made that the tool should report.
    pub expected_events: u64,
    /// Of those, what the tool reported (stored, for vigil; printed or logged, for the peers).
    pub captured_events: Option<u64>,
    /// vigil only: its own accounting of the run's table.
    pub vigil_counters: Option<VigilCounters>,
    /// vigil only: from `vigil daemon` to the first event captured, and an orderly stop.
    pub start_ms: Option<f64>,
    pub stop_ms: Option<f64>,
    /// vigil only: each of its processes (watcher, worker), its peak memory and the CPU of each
    /// of its threads over the run.
    #[serde(default)]
    pub processes: Vec<ProcessSummary>,
    /// Anything that went wrong in this run (the run's figures are then partial).
    pub note: Option<String>,
}

impl Run {
    pub fn achieved_rate(&self) -> f64 {
        if self.wall_s > 0.0 {
            self.ops as f64 / self.wall_s
        } else {
            0.0
        }
    }

    pub fn lost(&self) -> Option<u64> {
        self.captured_events
            .map(|c| self.expected_events.saturating_sub(c))
    }
}

/// `vigil_events` for the table a load fills, at the end of the run.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct VigilCounters {
    pub table: String,
    pub seen: u64,
    pub stored: u64,
    pub dropped_ring_buffer: u64,
    pub dropped_channel: u64,
    pub dropped_store: u64,
    pub malformed: u64,
    pub lost_in_flight: u64,
}

impl VigilCounters {
    pub fn dropped(&self) -> u64 {
        self.dropped_ring_buffer
            + self.dropped_channel
            + self.dropped_store
            + self.malformed
            + self.lost_in_flight
    }
}

/// One process of a tool: its role, peak resident memory, and where its CPU went over the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessSummary {
    /// `watcher` or `worker`.
    pub role: String,
    pub peak_rss_kb: u64,
    /// User + system CPU of the process over the load and until the tool caught up.
    pub cpu_s: f64,
    /// The same span, per thread name (threads of one name together), busiest first; what
    /// threads that ended meanwhile used is under `(ended threads)`.
    pub threads: Vec<ThreadCpu>,
    /// Where its resident memory was at the end of the run (`/proc/<pid>/smaps`).
    #[serde(default)]
    pub rss_at_end: RssBreakdown,
}

/// Resident memory by kind of mapping (kB).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RssBreakdown {
    /// BPF maps mapped into the process: the ring buffer, whose data pages the kernel maps twice
    /// (for records that wrap around), so each page read counts twice.
    pub bpf_maps_kb: u64,
    /// The executable's own file (code and read-only data paged in).
    pub executable_kb: u64,
    /// Heap and other anonymous memory.
    pub anonymous_kb: u64,
    /// Everything else (shared libraries, other files).
    pub other_kb: u64,
    /// Proportional set size: every mapping's pages, each shared page divided among the
    /// processes that map it (so the executable's pages, resident in both watcher and worker,
    /// count once between them), the ring buffer's data pages as mapped.
    #[serde(default)]
    pub pss_kb: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThreadCpu {
    pub name: String,
    pub cpu_s: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProgramCost {
    pub program: String,
    pub run_cnt: u64,
    pub run_time_ns: u64,
}

impl ProgramCost {
    pub fn mean_ns(&self) -> Option<f64> {
        (self.run_cnt > 0).then(|| self.run_time_ns as f64 / self.run_cnt as f64)
    }
}

/// The criterion benches of the store and the SQL tables, and `vigil query`'s answer time.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct StoreSql {
    /// Mean ns per iteration and elements per iteration of each criterion bench, by
    /// `group/name`.
    pub benches: Vec<BenchResult>,
    /// `vigil query "SELECT 1"` on a store holding `query_store_rows` events, each try (ms).
    pub select_1_ms: Vec<f64>,
    pub query_store_rows: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchResult {
    pub id: String,
    pub mean_ns: f64,
    pub elements: Option<f64>,
}

impl StoreSql {
    pub fn bench(&self, id: &str) -> Option<&BenchResult> {
        self.benches.iter().find(|b| b.id == id)
    }
}

/// Each vigil program's cost and where its time goes, on a load that runs every program
/// thousands of times (`cargo xtask kernel-cost`'s), apart from the storms.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KernelProfile {
    /// The load, in words.
    pub load: String,
    /// `run_time_ns / run_cnt` over the load.
    pub costs: Vec<ProgramCost>,
    /// Samples of `perf record -a -g -e cpu-clock` per program; empty without `perf`.
    pub programs: Vec<ProgramProfile>,
    /// Why `programs` is empty, when it is.
    pub perf_missing: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProgramProfile {
    pub program: String,
    pub samples: u64,
    /// Function the samples were in and its share of the program's samples, hottest first.
    pub hottest: Vec<(String, f64)>,
}

/// The hottest functions of a profiled bench.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Profile {
    /// `perf` or `callgrind`, and why this one.
    pub tool: String,
    pub sections: Vec<ProfileSection>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProfileSection {
    /// What was profiled (a bench and its size).
    pub what: String,
    /// Function and its share of the instructions (inclusive of nothing: self cost), hottest
    /// first.
    pub hottest: Vec<(String, f64)>,
}

/// The runs of one kind of load, grouped by the load they ran.
pub fn loads(runs: &[Run], kind: LoadKind) -> Vec<LoadSpec> {
    let mut loads: Vec<LoadSpec> = Vec::new();
    for run in runs.iter().filter(|r| r.load.kind == kind) {
        if !loads.contains(&run.load) {
            loads.push(run.load.clone());
        }
    }
    loads
}
