//! The loop every logger that ships buffered lines off the host runs (TLS, syslog, Kafka): each
//! round sends what waits; a failed round is counted in the logger's `vigil_logger` row, the
//! buffer is held within `--buffered_log_max`, and the next round waits longer; once asked to
//! stop, it runs one last round. A logger says only what differs: how a round sends, how long it
//! waits, how its buffer is limited.

use std::time::{Duration, Instant};

use vigil_events::EventStore;
use vigil_state::logs::{self, Logger, LoggerStats};

use crate::background::StopFlag;

/// How a round ended, when it did not fail.
pub enum Round {
    /// Everything waiting went: wait a period.
    Drained,
    /// A full batch went and more waits: go again at once.
    MoreWaiting,
}

/// Why a round did not deliver.
pub enum RoundError {
    /// The logger was asked to stop mid-round: no last round.
    Stopping,
    /// The destination refused or was away: retried later, the lines stay buffered.
    Failed(String),
}

pub trait Forwarding {
    /// How reports name the logger (`TLS logger`).
    const NAME: &'static str;
    /// What a report says when delivery works again (`the server takes logs again`).
    const RESUMED: &'static str;
    /// Its `vigil_logger` row.
    const LOGGER: Logger;
    /// Whether a failure is reported as an error (a warning otherwise): the syslog logger's is,
    /// as nothing else of the host's logging then carries vigil's lines.
    const FAILURE_IS_ERROR: bool = false;

    fn store(&self) -> &EventStore;
    fn stats(&mut self) -> &mut LoggerStats;
    /// Sends what waits.
    fn round(&mut self) -> Result<Round, RoundError>;
    /// The wait after a round that drained everything.
    fn period(&self) -> Duration;
    /// The wait after `failures` failed rounds in a row (at least 1).
    fn retry_wait(&self, failures: u32) -> Duration;
    /// Drops what is beyond `--buffered_log_max` (counted in the stats); the lines left, when
    /// they could be counted.
    fn enforce_buffer_limit(&mut self) -> Option<u64>;
    /// Called after a round that left more waiting (a backlog draining), for a logger that limits
    /// its buffer then too.
    fn backlog(&mut self) {}
}

/// How often a wait checks whether the logger is asked to stop.
const STOP_POLL: Duration = Duration::from_millis(50);

/// Whether the `failures`-th failure in a row is reported: the first, one unlike the failure
/// before it (a new problem), and then at doubling counts. A report is a status line, buffered
/// like the others: one per retry of the same problem would grow the very buffer that cannot
/// drain.
fn reported(failures: u32, error: &str, previous: &str) -> bool {
    failures.is_power_of_two() || error != previous
}

/// Runs `forwarder` until `stopping` is set, then once more.
pub fn run<F: Forwarding>(mut forwarder: F, stopping: StopFlag) {
    let mut failures: u32 = 0;
    loop {
        let last_round = stopping.is_set();
        let before = forwarder.stats().clone();
        let wait = match forwarder.round() {
            Ok(round) => {
                if failures > 0 {
                    tracing::info!(failures, "{}: {}", F::NAME, F::RESUMED);
                }
                failures = 0;
                forwarder.stats().last_error.clear();
                match round {
                    Round::Drained => forwarder.period(),
                    Round::MoreWaiting => {
                        forwarder.backlog();
                        Duration::ZERO
                    }
                }
            }
            Err(RoundError::Stopping) => break,
            Err(RoundError::Failed(error)) => {
                failures = failures.saturating_add(1);
                let stats = forwarder.stats();
                stats.failed_attempts += 1;
                let new_problem = reported(failures, &error, &stats.last_error);
                stats.last_error.clone_from(&error);
                let buffered = forwarder.enforce_buffer_limit().unwrap_or(0);
                let wait = forwarder.retry_wait(failures);
                if new_problem {
                    let next_ms = wait.as_millis();
                    if F::FAILURE_IS_ERROR {
                        tracing::error!(
                            failures,
                            buffered,
                            "{}: {error}; the lines stay buffered, next attempt in {next_ms} ms",
                            F::NAME
                        );
                    } else {
                        tracing::warn!(
                            failures,
                            buffered,
                            "{}: {error}; the lines stay buffered, next attempt in {next_ms} ms",
                            F::NAME
                        );
                    }
                }
                wait
            }
        };
        if *forwarder.stats() != before {
            let stats = forwarder.stats().clone();
            let _ = logs::stats(F::LOGGER).set(forwarder.store(), &stats);
        }
        if last_round {
            break;
        }
        let until = Instant::now() + wait;
        while Instant::now() < until && !stopping.is_set() {
            std::thread::sleep(STOP_POLL);
        }
    }
}

/// The wait after `failures` failed rounds: `period` more for each, up to `max`.
// The syslog and Kafka loggers that use it are Unix-only.
#[cfg_attr(not(unix), allow(dead_code))]
pub fn linear_backoff(period: Duration, failures: u32, max: Duration) -> Duration {
    (period * failures.max(1)).min(max)
}

#[cfg(test)]
mod tests {
    use std::{collections::VecDeque, sync::Arc};

    use super::*;
    use crate::background::Background;

    /// A forwarder whose rounds go as scripted, then drain.
    struct Scripted {
        store: Arc<EventStore>,
        stats: LoggerStats,
        rounds: VecDeque<Result<Round, RoundError>>,
        limited: u32,
        backlogs: u32,
        done: std::sync::mpsc::Sender<(LoggerStats, u32, u32)>,
    }

    impl Forwarding for Scripted {
        const NAME: &'static str = "test logger";
        const RESUMED: &'static str = "it works again";
        const LOGGER: Logger = Logger::Syslog;

        fn store(&self) -> &EventStore {
            &self.store
        }

        fn stats(&mut self) -> &mut LoggerStats {
            &mut self.stats
        }

        fn round(&mut self) -> Result<Round, RoundError> {
            let round = self.rounds.pop_front().unwrap_or(Ok(Round::Drained));
            if self.rounds.is_empty() {
                let _ = self
                    .done
                    .send((self.stats.clone(), self.limited, self.backlogs));
            }
            round
        }

        fn period(&self) -> Duration {
            Duration::from_millis(1)
        }

        fn retry_wait(&self, failures: u32) -> Duration {
            linear_backoff(Duration::from_millis(1), failures, Duration::from_millis(3))
        }

        fn enforce_buffer_limit(&mut self) -> Option<u64> {
            self.limited += 1;
            Some(0)
        }

        fn backlog(&mut self) {
            self.backlogs += 1;
        }
    }

    #[test]
    fn failures_are_counted_and_limited_and_a_success_clears_the_error() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Arc::new(EventStore::open_primary(&dir.path().join("db")).expect("store"));
        let (done, finished) = std::sync::mpsc::channel();
        let failed = |text: &str| Err(RoundError::Failed(text.to_owned()));
        let scripted = Scripted {
            store: store.clone(),
            stats: LoggerStats::default(),
            rounds: VecDeque::from([
                failed("refused"),
                failed("refused again"),
                Ok(Round::MoreWaiting),
                failed("away"),
                Ok(Round::Drained),
            ]),
            limited: 0,
            backlogs: 0,
            done,
        };
        let thread = Background::spawn("test-forwarder", move |stopping| run(scripted, stopping))
            .expect("thread");
        let (stats, limited, backlogs) = finished
            .recv_timeout(Duration::from_secs(10))
            .expect("the script ran");
        thread.stop();
        assert_eq!(stats.failed_attempts, 3);
        assert_eq!(limited, 3, "the buffer limit is held after each failure");
        assert_eq!(backlogs, 1);
        assert_eq!(
            stats.last_error, "away",
            "the last error until a round succeeds"
        );
        let saved = logs::stats(Logger::Syslog)
            .get(&store)
            .expect("read")
            .expect("saved");
        assert_eq!(saved.failed_attempts, 3);
        assert_eq!(saved.last_error, "", "cleared by the round that succeeded");
    }

    #[test]
    fn a_stop_mid_round_ends_without_a_last_round() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Arc::new(EventStore::open_primary(&dir.path().join("db")).expect("store"));
        let (done, finished) = std::sync::mpsc::channel();
        let scripted = Scripted {
            store,
            stats: LoggerStats::default(),
            rounds: VecDeque::from([Err(RoundError::Stopping)]),
            limited: 0,
            backlogs: 0,
            done,
        };
        let thread = Background::spawn("test-forwarder", move |stopping| run(scripted, stopping))
            .expect("thread");
        finished
            .recv_timeout(Duration::from_secs(10))
            .expect("one round ran");
        // The loop ended by itself: stopping joins at once.
        thread.stop();
    }

    #[test]
    fn reports_of_one_problem_thin_out_and_waits_grow_to_their_cap() {
        let same: Vec<u32> = (1..=20)
            .filter(|&n| reported(n, "refused", "refused"))
            .collect();
        assert_eq!(same, [1, 2, 4, 8, 16]);
        assert!(
            reported(3, "timed out", "refused"),
            "a new problem is reported"
        );
        let ms = |n| linear_backoff(Duration::from_millis(250), n, Duration::from_secs(1));
        assert_eq!(ms(1), Duration::from_millis(250));
        assert_eq!(ms(3), Duration::from_millis(750));
        assert_eq!(ms(9), Duration::from_secs(1));
    }
}
