//! Figures derived from the measured ones: each run's host cost (against the workload alone on
//! the same load, in the same bench run), and each target of issue 13, met or missed.

use super::{
    figures::{Figures, Run},
    load::{LoadKind, LoadSpec},
};

/// What a tool costs the host under one load.
#[derive(Debug, Clone, PartialEq)]
pub struct HostCost {
    pub tool_cpu_s: f64,
    /// The workload's CPU minus the workload's alone (its kernel hooks' cost, estimated; on a
    /// shared machine the noise of the workload's own CPU can be larger, and it may come out
    /// below zero).
    pub extra_workload_s: f64,
    /// What the tool's kernel hooks cost: its eBPF programs' run time where it has any
    /// (measured), the extra workload CPU otherwise (auditd).
    pub hooks_s: f64,
    pub hooks_measured: bool,
    pub host_cost_s: f64,
    /// Host cost over the run's wall time, as a share of one core.
    pub percent_of_core: f64,
    /// Host cost per operation of the load.
    pub us_per_op: f64,
}

/// The workload's CPU alone on `load`: the mean of its runs without a tool.
pub fn baseline_cpu_s(runs: &[Run], load: &LoadSpec) -> Option<f64> {
    let alone: Vec<f64> = runs
        .iter()
        .filter(|r| r.tool == "none" && r.load == *load)
        .map(|r| r.workload_cpu_s)
        .collect();
    (!alone.is_empty()).then(|| alone.iter().sum::<f64>() / alone.len() as f64)
}

pub fn host_cost(runs: &[Run], run: &Run) -> Option<HostCost> {
    let baseline = baseline_cpu_s(runs, &run.load)?;
    if run.wall_s <= 0.0 || run.ops == 0 {
        return None;
    }
    let extra = run.workload_cpu_s - baseline;
    let hooks = run.programs_s.unwrap_or(extra);
    let host = run.tool_cpu_s + hooks;
    Some(HostCost {
        tool_cpu_s: run.tool_cpu_s,
        extra_workload_s: extra,
        hooks_s: hooks,
        hooks_measured: run.programs_s.is_some(),
        host_cost_s: host,
        percent_of_core: host / run.wall_s * 100.0,
        us_per_op: host / run.ops as f64 * 1e6,
    })
}

pub fn find<'a>(runs: &'a [Run], tool: &str, kind: LoadKind, rate: Option<u32>) -> Option<&'a Run> {
    runs.iter()
        .find(|r| r.tool == tool && r.load.kind == kind && r.load.rate == rate)
}

pub fn median(values: &[f64]) -> Option<f64> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    Some(if sorted.len().is_multiple_of(2) {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    } else {
        sorted[mid]
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Met,
    Missed,
    NotMeasured,
}

impl Verdict {
    pub fn from(met: bool) -> Self {
        if met { Verdict::Met } else { Verdict::Missed }
    }

    pub fn label(self) -> &'static str {
        match self {
            Verdict::Met => "**met**",
            Verdict::Missed => "**missed**",
            Verdict::NotMeasured => "not measured",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Target {
    pub what: &'static str,
    pub figure: String,
    pub verdict: Verdict,
}

fn not_measured(what: &'static str, why: &str) -> Target {
    Target {
        what,
        figure: why.to_owned(),
        verdict: Verdict::NotMeasured,
    }
}

pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn zero_loss(what: &'static str, run: Option<&Run>) -> Target {
    let Some(run) = run else {
        return not_measured(what, "no vigil run on this load");
    };
    let Some(lost) = run.lost() else {
        return not_measured(what, "the run counted nothing");
    };
    let dropped = run.vigil_counters.as_ref().map_or(0, |c| c.dropped());
    Target {
        what,
        figure: format!(
            "{} of {} events lost, {} dropped by vigil's own count; {:.0} {} reached{}",
            thousands(lost),
            thousands(run.expected_events),
            thousands(dropped),
            run.achieved_rate(),
            run.load.kind.unit(),
            run.load
                .rate
                .map(|r| format!(" of {} asked", thousands(u64::from(r))))
                .unwrap_or_default()
        ),
        verdict: Verdict::from(lost == 0 && dropped == 0),
    }
}

/// Every target of the issue, in its order.
pub fn targets(f: &Figures) -> Vec<Target> {
    let runs = &f.runs;
    let mut targets = vec![
        zero_loss(
            "zero lost events at 1,600 exec/s",
            find(runs, "vigil", LoadKind::Exec, Some(1600)),
        ),
        zero_loss(
            "zero lost events at 6,400 exec/s",
            find(runs, "vigil", LoadKind::Exec, Some(6400)),
        ),
        zero_loss(
            "zero lost events at the file storm's maximum (one generating core)",
            find(runs, "vigil", LoadKind::File, None),
        ),
    ];
    let what = "host cost at 1,600 exec/s no higher than bpftrace's";
    let with_cost = |tool| {
        let run = find(runs, tool, LoadKind::Exec, Some(1600))?;
        Some((run, host_cost(runs, run)?))
    };
    targets.push(match (with_cost("vigil"), with_cost("bpftrace")) {
        (Some((vr, v)), Some((br, b))) => Target {
            what,
            figure: format!(
                "vigil {:.1} % of a core ({:.0} µs per exec: {:.0} in its processes, {:.0} in its \
                 programs), bpftrace {:.1} % ({:.0} µs: {:.0} and {:.0}): {}",
                v.percent_of_core,
                v.us_per_op,
                v.tool_cpu_s / vr.ops as f64 * 1e6,
                v.hooks_s / vr.ops as f64 * 1e6,
                b.percent_of_core,
                b.us_per_op,
                b.tool_cpu_s / br.ops as f64 * 1e6,
                b.hooks_s / br.ops as f64 * 1e6,
                if b.host_cost_s > 0.0 {
                    format!("{:.1}× bpftrace's", v.host_cost_s / b.host_cost_s)
                } else {
                    "bpftrace's came out at or below zero (noise)".to_owned()
                }
            ),
            verdict: Verdict::from(v.host_cost_s <= b.host_cost_s),
        },
        _ => not_measured(what, "vigil or bpftrace did not run at 1,600 exec/s"),
    });
    let what = "≥ 250,000 events/s ring buffer → store on one userspace core, zero drops";
    targets.push(match find(runs, "vigil", LoadKind::File, None) {
        Some(run) if run.tool_cpu_s > 0.0 => {
            let stored = run.captured_events.unwrap_or(0);
            let per_core = stored as f64 / run.tool_cpu_s;
            let dropped = run.vigil_counters.as_ref().map_or(0, |c| c.dropped());
            Target {
                what,
                figure: format!(
                    "{} events per second of vigil's CPU ({} events of the file storm stored \
                     with {:.2} s of its CPU, all threads), {} dropped",
                    thousands(per_core as u64),
                    thousands(stored),
                    run.tool_cpu_s,
                    thousands(dropped)
                ),
                verdict: Verdict::from(per_core >= 250_000.0 && dropped == 0),
            }
        }
        _ => not_measured(what, "no vigil run of the file storm at its maximum"),
    });
    let bench_rate = |id: &str| {
        let b = f.store_sql.as_ref()?.bench(id)?;
        Some(b.elements? / (b.mean_ns / 1e9))
    };
    let bench_ms = |id: &str| Some(f.store_sql.as_ref()?.bench(id)?.mean_ns / 1e6);
    let what = "store ingest at least half the raw RocksDB put rate";
    targets.push(
        match (
            bench_rate("store_ingest/store_writer"),
            bench_rate("store_ingest/raw_rocksdb_batches"),
        ) {
            (Some(store), Some(raw)) => Target {
                what,
                figure: format!(
                    "store {} events/s, raw RocksDB batches of the same values {} /s: {:.2}×",
                    thousands(store as u64),
                    thousands(raw as u64),
                    store / raw
                ),
                verdict: Verdict::from(store / raw >= 0.5),
            },
            _ => not_measured(what, "the store bench did not run (`--full`)"),
        },
    );
    let what = "average kernel cost per program run at most 250 ns";
    let measured: Vec<(&str, f64)> = f
        .kernel_cost
        .iter()
        .filter_map(|p| Some((p.program.as_str(), p.mean_ns()?)))
        .collect();
    targets.push(if measured.is_empty() {
        not_measured(what, "no program ran")
    } else {
        let over: Vec<String> = measured
            .iter()
            .filter(|(_, ns)| *ns > 250.0)
            .map(|(p, ns)| format!("`{p}` {ns:.0} ns"))
            .collect();
        let runs: u64 = f.kernel_cost.iter().map(|p| p.run_cnt).sum();
        let time: u64 = f.kernel_cost.iter().map(|p| p.run_time_ns).sum();
        Target {
            what,
            figure: format!(
                "all programs together {:.0} ns per run; {}",
                time as f64 / runs.max(1) as f64,
                if over.is_empty() {
                    "every program at or below 250 ns".to_owned()
                } else {
                    format!("over 250 ns: {}", over.join(", "))
                }
            ),
            verdict: Verdict::from(over.is_empty()),
        }
    });
    let starts: Vec<f64> = runs.iter().filter_map(|r| r.start_ms).collect();
    let stops: Vec<f64> = runs.iter().filter_map(|r| r.stop_ms).collect();
    let what = "start to first event under 0.5 s";
    targets.push(match median(&starts) {
        Some(ms) => Target {
            what,
            figure: format!("median {ms:.0} ms over {} starts", starts.len()),
            verdict: Verdict::from(ms < 500.0),
        },
        None => not_measured(what, "vigil did not start"),
    });
    let what = "orderly stop under 1 s";
    targets.push(match median(&stops) {
        Some(ms) => Target {
            what,
            figure: format!("median {ms:.0} ms over {} stops", stops.len()),
            verdict: Verdict::from(ms < 1000.0),
        },
        None => not_measured(what, "vigil did not stop in order"),
    });
    let what = "1 % time-range query over 1,000,000 events under 20 ms";
    targets.push(match bench_ms("sql_scan/time_range_1pct") {
        Some(ms) => Target {
            what,
            figure: format!("{ms:.1} ms (10,000 rows, every column read)"),
            verdict: Verdict::from(ms < 20.0),
        },
        None => not_measured(what, "the SQL bench did not run (`--full`)"),
    });
    let what = "vtab full scan within 2× of a native SQLite table";
    targets.push(
        match (
            bench_ms("sql_scan/vtab_path_like"),
            bench_ms("sql_scan/native_path_like"),
        ) {
            (Some(vtab), Some(native)) => Target {
                what,
                figure: format!(
                    "`count(*) … WHERE path LIKE`: vtab {vtab:.0} ms, native {native:.0} ms: \
                     {:.1}×",
                    vtab / native
                ),
                verdict: Verdict::from(vtab / native <= 2.0),
            },
            _ => not_measured(what, "the SQL bench did not run (`--full`)"),
        },
    );
    let what = "`vigil query` answers `SELECT 1` on a store of 1,000,000 events under 50 ms";
    targets.push(
        match f.store_sql.as_ref().and_then(|s| median(&s.select_1_ms)) {
            Some(ms) => Target {
                what,
                figure: format!("median {ms:.0} ms"),
                verdict: Verdict::from(ms < 50.0),
            },
            None => not_measured(what, "the SQL bench did not run (`--full`)"),
        },
    );
    let what = "peak RSS at 1,600 exec/s under 50 MB";
    targets.push(match find(runs, "vigil", LoadKind::Exec, Some(1600)) {
        Some(run) => Target {
            what,
            figure: format!(
                "{:.1} MB, watcher and worker together ({}){}",
                run.peak_rss_kb as f64 / 1024.0,
                if run.processes.is_empty() {
                    format!(
                        "the larger alone {:.1} MB",
                        run.largest_peak_rss_kb as f64 / 1024.0
                    )
                } else {
                    run.processes
                        .iter()
                        .map(|p| format!("{} {:.1} MB", p.role, p.peak_rss_kb as f64 / 1024.0))
                        .collect::<Vec<_>>()
                        .join(", ")
                },
                match run
                    .processes
                    .iter()
                    .map(|p| p.rss_at_end.pss_kb)
                    .sum::<u64>()
                {
                    0 => String::new(),
                    pss => format!(
                        "; their PSS at the end, each shared page counted once, {:.1} MB",
                        pss as f64 / 1024.0
                    ),
                }
            ),
            verdict: Verdict::from(run.peak_rss_kb < 50 * 1024),
        },
        None => not_measured(what, "no vigil run at 1,600 exec/s"),
    });
    targets
}

#[cfg(test)]
pub mod tests {
    use super::*;

    pub fn run(tool: &str, load: LoadSpec, workload: f64, tool_cpu: f64) -> Run {
        Run {
            load,
            tool: tool.into(),
            load_avg_1m: 1.0,
            ops: 1000,
            wall_s: 2.0,
            workload_cpu_s: workload,
            tool_cpu_s: tool_cpu,
            programs_s: None,
            peak_rss_kb: 0,
            largest_peak_rss_kb: 0,
            expected_events: 1000,
            captured_events: Some(1000),
            vigil_counters: None,
            start_ms: None,
            stop_ms: None,
            processes: Vec::new(),
            note: None,
        }
    }

    #[test]
    fn host_cost_is_the_tool_plus_what_it_adds_to_the_workload_alone() {
        let load = LoadSpec {
            kind: LoadKind::Exec,
            rate: Some(500),
            count: 1000,
        };
        let runs = vec![
            run("none", load.clone(), 1.0, 0.0),
            run("vigil", load.clone(), 1.3, 0.2),
            run("none", load.clone(), 1.2, 0.0),
        ];
        let cost = host_cost(&runs, &runs[1]).expect("a baseline exists");
        // Baseline 1.1 s: 0.2 s more in the workload, 0.2 s in the tool.
        assert!((cost.extra_workload_s - 0.2).abs() < 1e-9);
        assert!(!cost.hooks_measured);
        assert!((cost.host_cost_s - 0.4).abs() < 1e-9);
        assert!((cost.percent_of_core - 20.0).abs() < 1e-9);
        assert!((cost.us_per_op - 400.0).abs() < 1e-9);
        // An eBPF tool's hooks are its programs' run time, measured, not the estimate.
        let mut ebpf = runs[1].clone();
        ebpf.programs_s = Some(0.05);
        let measured = host_cost(&runs, &ebpf).expect("a baseline exists");
        assert!(measured.hooks_measured);
        assert!((measured.host_cost_s - 0.25).abs() < 1e-9);
        assert!((measured.extra_workload_s - 0.2).abs() < 1e-9);
        let other = LoadSpec { rate: None, ..load };
        assert_eq!(host_cost(&runs, &run("vigil", other, 1.0, 0.1)), None);
    }

    #[test]
    fn a_lost_event_misses_the_zero_loss_target() {
        let load = LoadSpec {
            kind: LoadKind::Exec,
            rate: Some(1600),
            count: 1000,
        };
        let mut lossy = run("vigil", load, 1.0, 0.1);
        lossy.captured_events = Some(999);
        let figures = Figures {
            mode: "test".into(),
            command: String::new(),
            machine: super::super::report::tests::machine(),
            runs: vec![lossy],
            skipped: Vec::new(),
            kernel_cost: Vec::new(),
            store_sql: None,
            profile: None,
            kernel_profile: None,
        };
        let targets = targets(&figures);
        assert_eq!(targets[0].verdict, Verdict::Missed);
        assert!(targets[0].figure.starts_with("1 of 1,000 events lost"));
        assert!(
            targets[0]
                .figure
                .ends_with("500 exec/s reached of 1,600 asked")
        );
        assert_eq!(targets[1].verdict, Verdict::NotMeasured);
    }

    #[test]
    fn numbers_read_with_separators_and_medians_pick_the_middle() {
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(thousands(12), "12");
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
    }
}
