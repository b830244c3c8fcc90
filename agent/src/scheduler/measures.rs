//! What a run of a query cost, and the statistics `vigil_schedule` shows from it.

use vigil_state::schedule::QueryStats;

use crate::config::ScheduledQuery;

pub(crate) use crate::os::{resident_bytes, thread_cpu_ms};

/// One run's measures.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct RunMeasures {
    pub started: i64,
    pub wall_ms: i64,
    pub user_ms: i64,
    pub system_ms: i64,
    pub memory: i64,
    pub output_size: i64,
}

/// Measures a run from its start.
pub(super) struct Stopwatch {
    started: std::time::Instant,
    user_ms: i64,
    system_ms: i64,
    memory: i64,
}

impl Stopwatch {
    pub fn start() -> Self {
        let (user_ms, system_ms) = thread_cpu_ms();
        Self {
            started: std::time::Instant::now(),
            user_ms,
            system_ms,
            memory: resident_bytes(),
        }
    }

    /// What the run cost so far (its output is counted when its lines are made).
    pub fn stop(&self) -> RunMeasures {
        let (user_ms, system_ms) = thread_cpu_ms();
        RunMeasures {
            started: vigil_events::wall_clock::unix_seconds(),
            wall_ms: self.started.elapsed().as_millis() as i64,
            user_ms: user_ms - self.user_ms,
            system_ms: system_ms - self.system_ms,
            memory: (resident_bytes() - self.memory).max(0),
            output_size: 0,
        }
    }
}

/// A query's statistics after `run`: they restart when the query's SQL or interval changed.
pub(super) fn next_stats(
    previous: Option<QueryStats>,
    query: &ScheduledQuery,
    run: RunMeasures,
) -> QueryStats {
    let previous = previous
        .filter(|p| p.query == query.query && p.interval == query.interval)
        .unwrap_or_default();
    let executions = previous.executions + 1;
    let average_memory = (previous.average_memory * (executions - 1) + run.memory) / executions;
    QueryStats {
        query: query.query.clone(),
        interval: query.interval,
        executions,
        last_executed: run.started,
        output_size: previous.output_size + run.output_size,
        wall_time_ms: previous.wall_time_ms + run.wall_ms,
        last_wall_time_ms: run.wall_ms,
        user_time: previous.user_time + run.user_ms,
        last_user_time: run.user_ms,
        system_time: previous.system_time + run.system_ms,
        last_system_time: run.system_ms,
        average_memory,
        last_memory: run.memory,
    }
}
