//! The scheduler: runs each scheduled query at its interval on its own SQLite connection, turns
//! the result into osquery's result lines (differential, snapshot, or new events), and commits
//! the lines to the store's log buffer in the same write as the query's state, so a crash never
//! loses lines nor repeats or skips events.

pub mod denylist;
mod measures;
pub mod results;
mod runner;

use std::{
    collections::{BTreeMap, HashMap},
    sync::{Arc, OnceLock},
    time::Duration,
};

use anyhow::Context as _;
use rusqlite::InterruptHandle;
use vigil_events::{Counters, EventStore, store::ReadFloor};

pub(crate) use self::measures::{resident_bytes, thread_cpu_ms};
use self::runner::Runner;
use crate::{
    background::{Background, StopFlag},
    config::{Config, Decorators, ScheduledQuery},
};

/// How long a pack's discovery result is trusted (osquery's `--pack_refresh_interval`).
const PACK_REFRESH_SECONDS: u64 = 3600;

/// Scheduler settings from the daemon's flags.
#[derive(Debug, Clone)]
pub struct Settings {
    pub host_identifier: String,
    /// The host name (for `shard`).
    pub hostname: String,
    pub numerics: bool,
    /// `--logger_event_type`: one line per row (true) or one batch line per run.
    pub event_format: bool,
    /// `--logger_snapshot_event_type`: snapshots as one line per row.
    pub snapshot_event_format: bool,
    pub epoch: u64,
    pub splay_percent: u64,
    pub decorations_top_level: bool,
    /// The watcher's pid when one supervises this worker: a query found running at start is
    /// then denylisted.
    pub watcher: Option<u32>,
    /// Why the previous worker ended, as the watcher said (for the denylist's status line).
    pub previous_worker_end: Option<String>,
    /// New events one run of a query reads per table at most (`--schedule_max_event_rows`): a
    /// larger backlog is read by runs in a row, each committed with its lines, so memory stays
    /// bounded whatever the backlog.
    pub max_event_rows: usize,
}

pub struct Scheduler {
    thread: Background,
    /// Cuts the running query short when the scheduler stops.
    interrupt: Arc<OnceLock<InterruptHandle>>,
}

/// Whether a query's error is SQLite's "interrupted" (the scheduler is stopping).
pub(crate) fn interrupted(error: &rusqlite::Error) -> bool {
    error.sqlite_error_code() == Some(rusqlite::ErrorCode::OperationInterrupted)
}

use vigil_events::wall_clock::unix_seconds as unix_now;

/// This host's shard (0-100), as osquery computes it: the first byte of SHA-1(hostname), scaled.
pub fn host_shard(hostname: &str) -> u64 {
    use sha1::Digest as _;
    let digest = sha1::Sha1::digest(hostname.as_bytes());
    u64::from(digest[0]) * 100 / 255
}

/// A stable number from a name: spreads queries' splay without a random source.
fn name_hash(name: &str) -> u64 {
    vigil_events::fnv::fnv1a(&[name.as_bytes()])
}

/// The interval with the query's splay applied (±`percent`), at least one second.
fn splayed(name: &str, interval: u64, percent: u64) -> u64 {
    let spread = interval * percent.min(100) / 100;
    if spread == 0 {
        return interval.max(1);
    }
    let offset = name_hash(name) % (2 * spread + 1);
    (interval + offset).saturating_sub(spread).max(1)
}

/// The queries of `config` that run on this host: meant for Linux, and in its shard.
fn schedule_for_host(config: &Config, hostname: &str) -> BTreeMap<String, ScheduledQuery> {
    let shard = host_shard(hostname);
    config
        .schedule
        .iter()
        .filter(|(_, q)| q.runs_on_linux())
        .filter(|(_, q)| q.shard.is_none_or(|limit| shard <= limit))
        .map(|(n, q)| (n.clone(), q.clone()))
        .collect()
}

/// A runner ready for the first second: the query a stopped worker left running is blamed,
/// earlier runs' state restored, the load decorators run. `None` when it could not start.
fn prepare(
    runner: anyhow::Result<Runner>,
    read_floor: &ReadFloor,
    schedule: &BTreeMap<String, ScheduledQuery>,
    decorators: &Decorators,
    interrupt: &OnceLock<InterruptHandle>,
) -> Option<Runner> {
    let mut runner = match runner {
        Ok(runner) => runner,
        Err(error) => {
            // No query will read: holding events back would only fill the disk.
            read_floor.release_all();
            tracing::error!(%error, "the scheduler could not start");
            return None;
        }
    };
    let _ = interrupt.set(runner.conn.get_interrupt_handle());
    denylist::Blame {
        store: &runner.store,
        schedule,
        watchdog: runner.settings.watcher.is_some(),
        previous_end: runner.settings.previous_worker_end.as_deref(),
        now: unix_now(),
    }
    .settle(&runner.conn);
    runner.restore(schedule);
    runner.load_decorations = runner.decorations(&decorators.load);
    runner.always_decorators = decorators.always.clone();
    Some(runner)
}

/// What runs when: each query at its splayed interval, decorators at theirs.
struct Clock<'a> {
    runner: Runner,
    schedule: &'a BTreeMap<String, ScheduledQuery>,
    decorators: &'a Decorators,
    intervals: BTreeMap<String, u64>,
    /// Discovery results, per set of discovery queries, refreshed every hour (osquery's
    /// --pack_refresh_interval).
    discovered: HashMap<Vec<String>, bool>,
}

impl Clock<'_> {
    /// Runs what is due until `stopping`.
    fn run(mut self, stopping: &StopFlag) {
        let mut last_second = unix_now();
        while !stopping.is_set() {
            let now = unix_now();
            // Every second that passed, in order: a slow query delays others, it does not make
            // them skip a run.
            for second in (last_second + 1)..=now {
                if !self.second(second as u64, stopping) {
                    return;
                }
            }
            last_second = now;
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Runs what is due at `second`; false when the scheduler stopped meanwhile.
    fn second(&mut self, second: u64, stopping: &StopFlag) -> bool {
        for (name, query) in self.schedule {
            if stopping.is_set() {
                return false;
            }
            let interval = self.intervals.get(name).copied().unwrap_or(query.interval);
            if second.is_multiple_of(interval) {
                self.run_query(name, query, stopping);
            }
        }
        if second.is_multiple_of(PACK_REFRESH_SECONDS) {
            self.discovered.clear();
        }
        for (every, queries) in &self.decorators.interval {
            if second.is_multiple_of(*every) {
                let extra = self.runner.decorations(queries);
                self.runner.load_decorations.extend(extra);
            }
        }
        true
    }

    fn run_query(&mut self, name: &str, query: &ScheduledQuery, stopping: &StopFlag) {
        let runner = &mut self.runner;
        let allowed = *self
            .discovered
            .entry(query.discovery.clone())
            .or_insert_with(|| runner.discovered(&query.discovery));
        if allowed {
            runner.run(name, query, &|| stopping.is_set());
        } else {
            // A pack not meant for this host reads nothing: it must not hold event expiry back.
            runner.reads_nothing(name);
        }
        runner.update_floor(self.schedule);
    }
}

impl Scheduler {
    /// Starts running `config`'s schedule.
    pub fn spawn(
        store: Arc<EventStore>,
        counters: Counters,
        read_floor: Arc<ReadFloor>,
        config: &Config,
        settings: Settings,
    ) -> anyhow::Result<Self> {
        let schedule = schedule_for_host(config, &settings.hostname);
        let decorators = config.decorators.clone();
        let interrupt = Arc::new(OnceLock::new());
        let interrupt_handle = interrupt.clone();
        let thread = Background::spawn("vigil-scheduler", move |stopping| {
            let runner = Runner::new(store, counters, settings, read_floor.clone());
            let Some(runner) = prepare(
                runner,
                &read_floor,
                &schedule,
                &decorators,
                &interrupt_handle,
            ) else {
                return;
            };
            let intervals = schedule
                .iter()
                .map(|(n, q)| {
                    let interval = splayed(n, q.interval, runner.settings.splay_percent);
                    (n.clone(), interval)
                })
                .collect();
            Clock {
                runner,
                schedule: &schedule,
                decorators: &decorators,
                intervals,
                discovered: HashMap::new(),
            }
            .run(&stopping);
        })
        .context("starting the scheduler thread")?;
        Ok(Self { thread, interrupt })
    }

    /// Interrupts the running query (it runs again at the next start: its cursor and results
    /// were not committed), then stops.
    pub fn stop(self) {
        self.thread.stop_interrupting(&self.interrupt);
    }
}

#[cfg(test)]
mod exactly_once_tests;

#[cfg(test)]
mod tests {
    use vigil_events::{EventTable, store::NOTHING_READ};

    use super::*;

    #[test]
    fn denylisted_and_failing_queries_do_not_hold_event_expiry_back() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Arc::new(EventStore::open_primary(&dir.path().join("db")).expect("store"));
        let read_floor = Arc::new(ReadFloor::default());
        let settings = Settings {
            host_identifier: "h".into(),
            hostname: "h".into(),
            numerics: false,
            event_format: true,
            snapshot_event_format: false,
            epoch: 0,
            splay_percent: 0,
            decorations_top_level: false,
            watcher: None,
            previous_worker_end: None,
            max_event_rows: 10_000,
        };
        let mut runner = Runner::new(
            store.clone(),
            Counters::new(&EventTable::names()),
            settings,
            read_floor.clone(),
        )
        .expect("runner");
        let schedule: BTreeMap<String, ScheduledQuery> = [
            (
                "banned".to_owned(),
                ScheduledQuery::with_sql("SELECT 1 FROM processes"),
            ),
            (
                "broken".to_owned(),
                ScheduledQuery::with_sql("SELECT * FROM no_such_table"),
            ),
        ]
        .into();
        vigil_state::schedule::DENYLIST
            .key("banned")
            .set(&store, &(unix_now() + 3600))
            .expect("denylist");
        runner.update_floor(&schedule);
        assert_eq!(
            read_floor.get(EventTable::BpfProcessEvents),
            Some(NOTHING_READ)
        );
        for (name, q) in &schedule {
            runner.run(name, q, &|| false);
        }
        runner.update_floor(&schedule);
        assert_ne!(
            read_floor.get(EventTable::BpfProcessEvents),
            Some(NOTHING_READ),
            "nothing read by these queries holds events"
        );
    }

    #[test]
    fn shards_and_splay_are_stable_and_bounded() {
        let shard = host_shard("web-01");
        assert!(shard <= 100);
        assert_eq!(shard, host_shard("web-01"));
        for name in ["a", "b", "pack_x_y"] {
            let s = splayed(name, 100, 10);
            assert!((90..=110).contains(&s), "{name}: {s}");
            assert_eq!(s, splayed(name, 100, 10));
        }
        assert_eq!(splayed("a", 5, 0), 5);
        assert_eq!(splayed("a", 1, 50), 1, "never below a second");
    }
}
