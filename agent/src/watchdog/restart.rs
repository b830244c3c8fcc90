//! When to start the next worker: at once after a worker that ran for a while, with an
//! exponential backoff after one that failed quickly, and never again after too many of those
//! in a row.

use std::time::Duration;

use super::limits::{Limits, QUICK_FAILURE};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    RestartAfter(Duration),
    GiveUp { failures: u32 },
}

pub struct RestartPolicy {
    limits: Limits,
    quick_failures: u32,
}

impl RestartPolicy {
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            quick_failures: 0,
        }
    }

    /// A worker ended after running for `lived`.
    pub fn after(&mut self, lived: Duration) -> Next {
        if lived >= QUICK_FAILURE {
            self.quick_failures = 0;
            return Next::RestartAfter(Duration::ZERO);
        }
        self.quick_failures += 1;
        if self.quick_failures >= self.limits.restart_limit {
            return Next::GiveUp {
                failures: self.quick_failures,
            };
        }
        // osquery's backoff: the level's respawn delay plus 2^failures seconds, capped.
        let exponential = Duration::from_secs(1u64 << self.quick_failures.min(20));
        Next::RestartAfter((self.limits.respawn_delay + exponential).min(self.limits.max_delay))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(restart_limit: u32, max_delay: u64) -> Limits {
        Limits {
            memory_bytes: 0,
            cpu_percent: 0,
            sustained: Duration::ZERO,
            restart_limit,
            respawn_delay: Duration::from_secs(5),
            max_delay: Duration::from_secs(max_delay),
            delay: Duration::ZERO,
        }
    }

    #[test]
    fn quick_failures_back_off_then_give_up() {
        let mut policy = RestartPolicy::new(limits(4, 600));
        let quick = Duration::from_secs(1);
        let s = Duration::from_secs;
        assert_eq!(policy.after(quick), Next::RestartAfter(s(7)));
        assert_eq!(policy.after(quick), Next::RestartAfter(s(9)));
        assert_eq!(policy.after(quick), Next::RestartAfter(s(13)));
        assert_eq!(policy.after(quick), Next::GiveUp { failures: 4 });
    }

    #[test]
    fn a_worker_that_ran_a_while_restarts_at_once_and_resets_the_count() {
        let mut policy = RestartPolicy::new(limits(2, 6));
        let s = Duration::from_secs;
        assert_eq!(
            policy.after(s(1)),
            Next::RestartAfter(s(6)),
            "capped by max delay"
        );
        assert_eq!(policy.after(s(3600)), Next::RestartAfter(Duration::ZERO));
        assert_eq!(policy.after(s(1)), Next::RestartAfter(s(6)));
        assert_eq!(policy.after(s(1)), Next::GiveUp { failures: 2 });
    }
}
