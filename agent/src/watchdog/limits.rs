//! What the worker may use, from `--watchdog_level` and its overrides, and the verdict on each
//! measurement.

use std::time::Duration;

use crate::cli::WatchdogArgs;

/// How often the watcher measures the worker (osquery's interval).
pub const CHECK_INTERVAL: Duration = Duration::from_secs(3);

/// A worker that ends sooner than this after its start "failed quickly": those count towards
/// the restart limit and wait before the next start.
pub const QUICK_FAILURE: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Resident memory, in bytes.
    pub memory_bytes: u64,
    /// CPU time per wall time, in percent of all CPUs together.
    pub cpu_percent: u64,
    /// How long the CPU limit may be exceeded in a row.
    pub sustained: Duration,
    /// Quick failures in a row before the daemon gives up.
    pub restart_limit: u32,
    /// The fixed part of the wait before restarting a quickly failed worker.
    pub respawn_delay: Duration,
    pub max_delay: Duration,
    /// Grace after a worker starts, before its limits apply.
    pub delay: Duration,
}

const MB: u64 = 1024 * 1024;

impl Limits {
    pub fn from_args(args: &WatchdogArgs) -> Self {
        // osquery's profiles: (memory MB, CPU %, sustained s, restart limit, respawn delay s).
        let (memory, cpu, latency, restarts, respawn) = match args.watchdog_level {
            1 => (100, 5, 6, 4, 5),
            -1 => (10_000, 100, 1000, 1000, 1),
            _ => (200, 10, 12, 4, 5),
        };
        let pick = |flag: u64, level: u64| if flag > 0 { flag } else { level };
        Self {
            memory_bytes: pick(args.watchdog_memory_limit, memory) * MB,
            cpu_percent: pick(args.watchdog_utilization_limit, cpu),
            sustained: Duration::from_secs(pick(args.watchdog_latency_limit, latency)),
            restart_limit: if args.watchdog_restart_limit > 0 {
                args.watchdog_restart_limit
            } else {
                restarts
            },
            respawn_delay: Duration::from_secs(respawn),
            max_delay: Duration::from_secs(args.watchdog_max_delay),
            delay: Duration::from_secs(args.watchdog_delay),
        }
    }
}

/// One measurement of the worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    pub resident_bytes: u64,
    /// User plus system time since the worker started.
    pub cpu: Duration,
}

/// Why a worker must stop.
#[derive(Debug, Clone, PartialEq)]
pub enum Exceeded {
    Memory {
        resident_bytes: u64,
        limit_bytes: u64,
    },
    Cpu {
        percent: f64,
        limit_percent: u64,
        over_for: Duration,
    },
}

impl std::fmt::Display for Exceeded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Memory {
                resident_bytes,
                limit_bytes,
            } => write!(
                f,
                "memory limit exceeded: {} MB resident, limit {} MB (--watchdog_memory_limit), \
                 {} MB over",
                resident_bytes / MB,
                limit_bytes / MB,
                resident_bytes.saturating_sub(*limit_bytes) / MB
            ),
            Self::Cpu {
                percent,
                limit_percent,
                over_for,
            } => write!(
                f,
                "cpu limit exceeded: {percent:.0} % of all CPUs for {} s, limit {limit_percent} % \
                 sustained (--watchdog_utilization_limit, --watchdog_latency_limit)",
                over_for.as_secs()
            ),
        }
    }
}

/// Judges a worker's successive samples against the limits.
pub struct Judge {
    limits: Limits,
    cpus: u64,
    previous: Option<(Sample, Duration)>,
    /// How long the worker has been over the CPU limit without a break.
    over_for: Duration,
}

impl Judge {
    pub fn new(limits: Limits, cpus: u64) -> Self {
        Self {
            limits,
            cpus: cpus.max(1),
            previous: None,
            over_for: Duration::ZERO,
        }
    }

    /// `sample` taken `age` after the worker started; the CPU share is measured between two
    /// samples. Nothing is judged during the grace after start.
    pub fn judge(&mut self, sample: Sample, age: Duration) -> Option<Exceeded> {
        let previous = self.previous.replace((sample, age));
        if age < self.limits.delay {
            return None;
        }
        if sample.resident_bytes > self.limits.memory_bytes {
            return Some(Exceeded::Memory {
                resident_bytes: sample.resident_bytes,
                limit_bytes: self.limits.memory_bytes,
            });
        }
        let (before, then) = previous?;
        let wall = age.checked_sub(then).filter(|w| !w.is_zero())?;
        let used = sample.cpu.saturating_sub(before.cpu);
        let percent = 100.0 * used.as_secs_f64() / (wall.as_secs_f64() * self.cpus as f64);
        if percent > self.limits.cpu_percent as f64 {
            self.over_for += wall;
        } else {
            self.over_for = Duration::ZERO;
        }
        (self.over_for >= self.limits.sustained && !self.over_for.is_zero()).then_some(
            Exceeded::Cpu {
                percent,
                limit_percent: self.limits.cpu_percent,
                over_for: self.over_for,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

    fn args(extra: &[&str]) -> WatchdogArgs {
        let mut argv = vec!["vigil", "daemon"];
        argv.extend_from_slice(extra);
        match crate::cli::Cli::parse_from(argv).command {
            crate::cli::Command::Daemon(d) => d.watchdog,
            _ => unreachable!("daemon"),
        }
    }

    #[test]
    fn levels_and_overrides_follow_osquery() {
        let normal = Limits::from_args(&args(&[]));
        assert_eq!(normal.memory_bytes, 200 * MB);
        assert_eq!((normal.cpu_percent, normal.sustained.as_secs()), (10, 12));
        assert_eq!(normal.delay, Duration::from_secs(60));
        let strict = Limits::from_args(&args(&["--watchdog_level=1"]));
        assert_eq!(strict.memory_bytes, 100 * MB);
        assert_eq!((strict.cpu_percent, strict.sustained.as_secs()), (5, 6));
        let off = Limits::from_args(&args(&["--watchdog_level", "-1"]));
        assert_eq!(off.restart_limit, 1000);
        let custom = Limits::from_args(&args(&[
            "--watchdog_memory_limit=50",
            "--watchdog_utilization_limit=30",
            "--watchdog_latency_limit=9",
            "--watchdog_restart_limit=2",
        ]));
        assert_eq!(custom.memory_bytes, 50 * MB);
        assert_eq!((custom.cpu_percent, custom.sustained.as_secs()), (30, 9));
        assert_eq!(custom.restart_limit, 2);
        assert!(
            crate::cli::Cli::try_parse_from(["vigil", "daemon", "--watchdog_level=2"]).is_err()
        );
    }

    fn sample(mb: u64, cpu_ms: u64) -> Sample {
        Sample {
            resident_bytes: mb * MB,
            cpu: Duration::from_millis(cpu_ms),
        }
    }

    #[test]
    fn memory_over_the_limit_stops_at_once_but_not_during_the_grace() {
        let limits = Limits::from_args(&args(&["--watchdog_delay=5"]));
        let mut judge = Judge::new(limits, 2);
        assert_eq!(judge.judge(sample(500, 0), Duration::from_secs(3)), None);
        let verdict = judge.judge(sample(500, 0), Duration::from_secs(6));
        assert!(
            matches!(verdict, Some(Exceeded::Memory { .. })),
            "{verdict:?}"
        );
        let text = verdict.map(|v| v.to_string()).unwrap_or_default();
        assert!(text.contains("500 MB resident, limit 200 MB"), "{text}");
        assert!(text.contains("300 MB over"), "{text}");
    }

    #[test]
    fn cpu_must_stay_over_the_limit_for_the_latency() {
        // 20 % of 2 CPUs for 6 s: 1.2 s of CPU per 3 s interval is the limit.
        let limits = Limits::from_args(&args(&[
            "--watchdog_delay=0",
            "--watchdog_utilization_limit=20",
            "--watchdog_latency_limit=6",
        ]));
        let mut judge = Judge::new(limits, 2);
        let s = Duration::from_secs;
        assert_eq!(judge.judge(sample(10, 0), s(0)), None);
        assert_eq!(
            judge.judge(sample(10, 3000), s(3)),
            None,
            "one interval over"
        );
        assert_eq!(
            judge.judge(sample(10, 3100), s(6)),
            None,
            "a quiet interval resets"
        );
        assert_eq!(judge.judge(sample(10, 6100), s(9)), None);
        let verdict = judge.judge(sample(10, 9100), s(12));
        match verdict {
            Some(Exceeded::Cpu {
                percent, over_for, ..
            }) => {
                assert!((percent - 50.0).abs() < 0.1, "{percent}");
                assert_eq!(over_for, s(6));
            }
            other => panic!("expected a CPU verdict, got {other:?}"),
        }
    }
}
