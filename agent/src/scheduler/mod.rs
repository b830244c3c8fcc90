//! The scheduler: runs each scheduled query at its interval on its own SQLite connection, turns
//! the result into osquery's result lines (differential, snapshot, or new events), and commits
//! the lines to the store's log buffer in the same write as the query's state, so a crash never
//! loses lines nor repeats or skips events.

pub mod denylist;
pub mod results;

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    sync::{Arc, OnceLock},
    time::Duration,
};

use anyhow::Context as _;
use rusqlite::InterruptHandle;
use vigil_events::{
    Counters, EventStore, EventTable,
    store::{NOTHING_READ, ReadFloor, ReadThrough, StateBatch},
};
use vigil_tables::{
    AgentInfo, CounterSource, TablesContext,
    evented::{Cursor, QueryScope},
};

use self::results::{LineContext, ResultRow, diff, rows_of};
use crate::{
    background::Background,
    config::{Config, ScheduledQuery},
    sql,
};

/// Kinds of buffered log lines (the logger picks a file by kind).
pub mod line_kind {
    pub const RESULT: u8 = 1;
    pub const SNAPSHOT: u8 = 2;
    pub const STATUS: u8 = 3;
}

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

fn key(kind: &str, name: &str) -> Vec<u8> {
    format!("{kind}/{name}").into_bytes()
}

fn cursor_key(name: &str, table: EventTable) -> Vec<u8> {
    key("cursor", &format!("{name}/{}", table.name()))
}

/// Which event tables a query's latest run read, as one bit per table (in `EventTable::ALL`
/// order).
fn encode_reads(tables: &HashSet<EventTable>) -> Vec<u8> {
    let bits = EventTable::ALL
        .iter()
        .enumerate()
        .filter(|(_, t)| tables.contains(t))
        .fold(0u64, |bits, (i, _)| bits | (1 << i));
    bits.to_be_bytes().to_vec()
}

fn decode_reads(bytes: &[u8]) -> Option<HashSet<EventTable>> {
    let bits = u64::from_be_bytes(bytes.try_into().ok()?);
    Some(
        EventTable::ALL
            .iter()
            .enumerate()
            .filter(|(i, _)| bits & (1 << i) != 0)
            .map(|(_, t)| *t)
            .collect(),
    )
}

fn read_u64(store: &EventStore, key: &[u8]) -> u64 {
    store
        .get_state(key)
        .ok()
        .flatten()
        .and_then(|v| <[u8; 8]>::try_from(v.as_slice()).ok())
        .map_or(0, u64::from_be_bytes)
}

/// CPU time of the calling thread, in milliseconds: (user, system).
pub(crate) fn thread_cpu_ms() -> (i64, i64) {
    // SAFETY: `usage` is plain data; getrusage only writes into it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: a valid out-pointer for the duration of the call.
    if unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut usage) } != 0 {
        return (0, 0);
    }
    let ms = |t: libc::timeval| t.tv_sec * 1000 + t.tv_usec / 1000;
    (ms(usage.ru_utime), ms(usage.ru_stime))
}

/// This process's resident memory in bytes.
pub(crate) fn resident_bytes() -> i64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<i64>().ok())
        })
        .map_or(0, |pages| pages * 4096)
}

/// A query's statistics, as `vigil_schedule` shows them.
fn next_stats(
    previous: Option<serde_json::Value>,
    query: &ScheduledQuery,
    run: RunMeasures,
) -> serde_json::Value {
    let previous = previous.filter(|p| {
        // Statistics restart when the query's SQL or interval changes.
        p["query"] == query.query.as_str() && p["interval"] == query.interval
    });
    let get = |field: &str| {
        previous
            .as_ref()
            .and_then(|p| p[field].as_i64())
            .unwrap_or(0)
    };
    let executions = get("executions") + 1;
    let average_memory = (get("average_memory") * (executions - 1) + run.memory) / executions;
    serde_json::json!({
        "query": query.query,
        "interval": query.interval,
        "executions": executions,
        "last_executed": run.started,
        "output_size": get("output_size") + run.output_size,
        "wall_time_ms": get("wall_time_ms") + run.wall_ms,
        "last_wall_time_ms": run.wall_ms,
        "user_time": get("user_time") + run.user_ms,
        "last_user_time": run.user_ms,
        "system_time": get("system_time") + run.system_ms,
        "last_system_time": run.system_ms,
        "average_memory": average_memory,
        "last_memory": run.memory,
    })
}

#[derive(Debug, Clone, Copy, Default)]
struct RunMeasures {
    started: i64,
    wall_ms: i64,
    user_ms: i64,
    system_ms: i64,
    memory: i64,
    output_size: i64,
}

struct Runner {
    store: Arc<EventStore>,
    conn: sql::Connection,
    scope: Arc<QueryScope>,
    settings: Settings,
    load_decorations: ResultRow,
    always_decorators: Vec<String>,
    read_floor: Arc<ReadFloor>,
    /// How far each query has read each event table.
    resume_at: HashMap<(String, EventTable), Cursor>,
    /// The event tables each query's latest run read: only those hold expiry back (a query
    /// whose SQL changed, that failed, or that is denylisted holds nothing it does not read).
    reads: HashMap<String, HashSet<EventTable>>,
    /// Queries that have run at least once (in this or an earlier daemon).
    ran: HashSet<String>,
}

impl Runner {
    fn new(
        store: Arc<EventStore>,
        counters: Counters,
        settings: Settings,
        read_floor: Arc<ReadFloor>,
    ) -> anyhow::Result<Self> {
        let scope = Arc::new(QueryScope::with_row_budget(settings.max_event_rows));
        let tables = vigil_tables::all_tables(TablesContext {
            store: Some(store.clone()),
            counters,
            counter_source: CounterSource::Live,
            agent: AgentInfo {
                flags: crate::flags::current(),
                watcher: settings.watcher.map_or(-1, i64::from),
                ..AgentInfo::default()
            },
            scope: Some(scope.clone()),
        });
        // Unbounded: the watchdog bounds scheduled queries (and denylists what it stops).
        let conn = sql::Connection::open(&tables, sql::Limits::NONE)
            .context("opening the scheduler's SQLite")?;
        Ok(Self {
            store,
            conn,
            scope,
            settings,
            load_decorations: ResultRow::new(),
            always_decorators: Vec::new(),
            read_floor,
            resume_at: HashMap::new(),
            reads: HashMap::new(),
            ran: HashSet::new(),
        })
    }

    /// Picks up what an earlier daemon's runs left: which queries ran, where they stopped, which
    /// tables they read. Cursors of queries no longer scheduled stay (a query put back resumes
    /// where it stopped, instead of reading all history again) but hold nothing back.
    fn restore(&mut self, schedule: &BTreeMap<String, ScheduledQuery>) {
        for name in schedule.keys() {
            if self
                .store
                .get_state(&key("epoch", name))
                .ok()
                .flatten()
                .is_some()
            {
                self.ran.insert(name.clone());
            }
            let mut with_cursor = HashSet::new();
            for &table in EventTable::ALL {
                if let Some(cursor) = self
                    .store
                    .get_state(&cursor_key(name, table))
                    .ok()
                    .flatten()
                    .and_then(|b| Cursor::decode(&b))
                {
                    self.resume_at.insert((name.clone(), table), cursor);
                    with_cursor.insert(table);
                }
            }
            // Older versions did not record which tables a run read: every table with a cursor.
            let reads = self
                .store
                .get_state(&key("reads", name))
                .ok()
                .flatten()
                .and_then(|b| decode_reads(&b))
                .unwrap_or(with_cursor);
            self.reads.insert(name.clone(), reads);
        }
        self.update_floor(schedule);
    }

    /// The query reads no event table (it failed, is denylisted, or is not meant for this host):
    /// it holds nothing back.
    fn reads_nothing(&mut self, name: &str) {
        self.ran.insert(name.to_owned());
        self.reads.insert(name.to_owned(), HashSet::new());
    }

    /// Events every scheduled query that reads their table has read may expire; until every
    /// query has run once (which tables it reads is unknown before), none may.
    fn update_floor(&self, schedule: &BTreeMap<String, ScheduledQuery>) {
        let mut floors: HashMap<EventTable, ReadThrough> = HashMap::new();
        if schedule.keys().any(|name| !self.ran.contains(name)) {
            for &table in EventTable::ALL {
                floors.insert(table, NOTHING_READ);
            }
        } else {
            for name in schedule.keys() {
                for &table in self.reads.get(name).into_iter().flatten() {
                    let at = self
                        .resume_at
                        .get(&(name.clone(), table))
                        .map_or(NOTHING_READ, |c| (c.time_ns, c.seq));
                    let floor = floors.entry(table).or_insert(at);
                    *floor = (*floor).min(at);
                }
            }
        }
        self.read_floor.set_all(floors);
    }

    /// The first row of each decorator query, merged (values as text, as osquery does).
    fn decorations(&self, queries: &[String]) -> ResultRow {
        let mut out = ResultRow::new();
        for query in queries {
            match sql::run(&self.conn, query) {
                Ok(results) => {
                    if let Some(row) = results
                        .first()
                        .and_then(|r| rows_of(r, false).into_iter().next())
                    {
                        out.extend(row);
                    }
                }
                Err(error) => {
                    tracing::warn!(query, error = %sql::message(&error), "decorator failed")
                }
            }
        }
        out
    }

    /// Whether every discovery query returns rows (a pack runs only on hosts it was meant for).
    fn discovered(&self, queries: &[String]) -> bool {
        queries.iter().all(|sql| match sql::run(&self.conn, sql) {
            Ok(results) => results.first().is_some_and(|r| !r.rows.is_empty()),
            Err(error) => {
                tracing::warn!(query = sql, error = %sql::message(&error), "discovery query failed");
                false
            }
        })
    }

    /// Runs the query; over event tables, again and again while a run stopped at the row
    /// budget with new events left (each run commits its lines and read position), unless the
    /// scheduler is stopping.
    fn run(&mut self, name: &str, query: &ScheduledQuery, stopping: &dyn Fn() -> bool) {
        while self.run_once(name, query) == Ran::MoreLeft && !stopping() {}
    }

    fn run_once(&mut self, name: &str, query: &ScheduledQuery) -> Ran {
        if denylist::active_until(&self.store, name, unix_now()).is_some() {
            // It reads nothing while denylisted: it must not hold event expiry back.
            self.reads_nothing(name);
            return Ran::Done;
        }
        // Persisted before the query runs: if the watchdog stops the worker during the run,
        // the next worker knows which query to blame.
        let executing = StateBatch {
            puts: vec![(denylist::EXECUTING_KEY.to_vec(), name.as_bytes().to_vec())],
            ..StateBatch::default()
        };
        if let Err(error) = self.store.commit_state(executing) {
            tracing::error!(query = name, %error, "the running query could not be recorded; not running it");
            return Ran::Done;
        }
        let start: HashMap<EventTable, Cursor> = EventTable::ALL
            .iter()
            .filter_map(|&t| {
                let bytes = self.store.get_state(&cursor_key(name, t)).ok().flatten()?;
                Some((t, Cursor::decode(&bytes)?))
            })
            .collect();
        let mut decorations = self.load_decorations.clone();
        decorations.extend(self.decorations(&self.always_decorators));
        let started = std::time::Instant::now();
        let (user_before, system_before) = thread_cpu_ms();
        let memory_before = resident_bytes();
        self.scope.begin(start);
        let outcome = sql::run(&self.conn, &query.query);
        let read = self.scope.finish();
        let (user_after, system_after) = thread_cpu_ms();
        let mut measures = RunMeasures {
            started: unix_now(),
            wall_ms: started.elapsed().as_millis() as i64,
            user_ms: user_after - user_before,
            system_ms: system_after - system_before,
            memory: (resident_bytes() - memory_before).max(0),
            output_size: 0,
        };
        let result = match outcome {
            Ok(mut results) if !results.is_empty() => results.swap_remove(0),
            Ok(_) => sql::ResultSet::default(),
            Err(error) if interrupted(&error) && crate::watchdog::worker::blamed() => {
                // Stopped by the watchdog: the query stays recorded as running, to be blamed.
                tracing::warn!(
                    query = name,
                    "scheduled query interrupted: the watchdog is stopping this worker"
                );
                return Ran::Done;
            }
            Err(error) => {
                if interrupted(&error) {
                    tracing::info!(
                        query = name,
                        "scheduled query interrupted: the daemon is stopping; it runs again at the next start"
                    );
                } else {
                    // A query that fails reads nothing either: it must not hold expiry back.
                    self.reads_nothing(name);
                    tracing::warn!(query = name, error = %sql::message(&error), "scheduled query failed");
                }
                if let Err(error) = self.store.commit_state(StateBatch {
                    deletes: vec![denylist::EXECUTING_KEY.to_vec()],
                    ..StateBatch::default()
                }) {
                    tracing::warn!(query = name, %error, "the end of a failed query could not be recorded");
                }
                return Ran::Done;
            }
        };
        let rows = rows_of(&result, self.settings.numerics);
        let unix_time = unix_now();
        let mut batch = StateBatch {
            deletes: vec![denylist::EXECUTING_KEY.to_vec()],
            ..StateBatch::default()
        };
        let epoch = self.settings.epoch;
        let stored_epoch = read_u64(&self.store, &key("epoch", name));
        let mut counter = if stored_epoch == epoch {
            read_u64(&self.store, &key("counter", name))
        } else {
            0
        };
        let evented = !read.reached.is_empty();
        let ctx = |counter| LineContext {
            name,
            host_identifier: &self.settings.host_identifier,
            unix_time,
            epoch,
            counter,
            numerics: self.settings.numerics,
            decorations: &decorations,
            decorations_top_level: self.settings.decorations_top_level,
        };
        if query.snapshot && self.settings.snapshot_event_format {
            for line in ctx(counter).snapshot_row_lines(&rows) {
                batch.logs.push((line_kind::SNAPSHOT, line));
            }
        } else if query.snapshot {
            batch
                .logs
                .push((line_kind::SNAPSHOT, ctx(counter).snapshot_line(&rows)));
        } else {
            // Evented queries report what is new, never a difference; others, what changed since
            // the previous run (everything, the first time).
            let changes = if evented {
                counter = counter.max(1);
                results::Diff {
                    added: rows,
                    removed: Vec::new(),
                }
            } else {
                let previous: Vec<ResultRow> = if stored_epoch == epoch {
                    self.store
                        .get_state(&key("results", name))
                        .ok()
                        .flatten()
                        .and_then(|b| serde_json::from_slice(&b).ok())
                        .unwrap_or_default()
                } else {
                    Vec::new()
                };
                let first = previous.is_empty() && counter == 0;
                let mut changes = diff(&previous, &rows);
                if !query.removed {
                    changes.removed.clear();
                }
                if let Ok(bytes) = serde_json::to_vec(&rows) {
                    batch.puts.push((key("results", name), bytes));
                }
                if first {
                    counter = 0;
                }
                changes
            };
            let log = !changes.is_empty() || (counter == 0 && !evented);
            if log {
                let c = ctx(counter);
                if self.settings.event_format {
                    for line in c.event_lines(&changes) {
                        batch.logs.push((line_kind::RESULT, line));
                    }
                } else {
                    batch.logs.push((line_kind::RESULT, c.batch_line(&changes)));
                }
                counter += 1;
            }
        }
        batch
            .puts
            .push((key("counter", name), counter.to_be_bytes().to_vec()));
        batch
            .puts
            .push((key("epoch", name), epoch.to_be_bytes().to_vec()));
        measures.output_size = batch.logs.iter().map(|(_, l)| l.len() as i64).sum();
        let previous_stats = self
            .store
            .get_state(&key("stats", name))
            .ok()
            .flatten()
            .and_then(|b| serde_json::from_slice(&b).ok());
        if let Ok(stats) = serde_json::to_vec(&next_stats(previous_stats, query, measures)) {
            batch.puts.push((key("stats", name), stats));
        }
        let tables_read: HashSet<EventTable> = read.reached.keys().copied().collect();
        batch
            .puts
            .push((key("reads", name), encode_reads(&tables_read)));
        for (table, cursor) in &read.reached {
            batch.puts.push((cursor_key(name, *table), cursor.encode()));
        }
        if let Err(error) = self.store.commit_state(batch) {
            tracing::error!(query = name, %error, "results could not be stored; the query will run again");
            return Ran::Done;
        }
        self.ran.insert(name.to_owned());
        for (table, cursor) in read.reached {
            self.resume_at.insert((name.to_owned(), table), cursor);
        }
        self.reads.insert(name.to_owned(), tables_read);
        if read.more { Ran::MoreLeft } else { Ran::Done }
    }
}

/// How a run of a scheduled query ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ran {
    Done,
    /// It stopped at the row budget with new events left.
    MoreLeft,
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
        let shard = host_shard(&settings.hostname);
        let schedule: BTreeMap<String, ScheduledQuery> = config
            .schedule
            .iter()
            .filter(|(_, q)| q.runs_on_linux())
            .filter(|(_, q)| q.shard.is_none_or(|limit| shard <= limit))
            .map(|(n, q)| (n.clone(), q.clone()))
            .collect();
        let decorators = config.decorators.clone();
        let interrupt = Arc::new(OnceLock::new());
        let interrupt_handle = interrupt.clone();
        let thread = Background::spawn("vigil-scheduler", move |stopping| {
            let mut runner = match Runner::new(store, counters, settings, read_floor.clone()) {
                Ok(runner) => runner,
                Err(error) => {
                    // No query will read: holding events back would only fill the disk.
                    read_floor.release_all();
                    tracing::error!(%error, "the scheduler could not start");
                    return;
                }
            };
            let _ = interrupt_handle.set(runner.conn.get_interrupt_handle());
            denylist::Blame {
                store: &runner.store,
                schedule: &schedule,
                watchdog: runner.settings.watcher.is_some(),
                previous_end: runner.settings.previous_worker_end.as_deref(),
                now: unix_now(),
            }
            .settle(&runner.conn);
            runner.restore(&schedule);
            runner.load_decorations = runner.decorations(&decorators.load);
            runner.always_decorators = decorators.always.clone();
            let intervals: BTreeMap<&String, u64> = schedule
                .iter()
                .map(|(n, q)| (n, splayed(n, q.interval, runner.settings.splay_percent)))
                .collect();
            let mut last_second = unix_now();
            // Discovery results, per set of discovery queries, refreshed every hour
            // (osquery's --pack_refresh_interval).
            let mut discovered: HashMap<Vec<String>, bool> = HashMap::new();
            while !stopping.is_set() {
                let now = unix_now();
                if now != last_second {
                    // Every second that passed, in order: a slow query delays others, it does
                    // not make them skip a run.
                    for second in (last_second + 1)..=now {
                        for (name, query) in &schedule {
                            if stopping.is_set() {
                                return;
                            }
                            let interval = intervals.get(name).copied().unwrap_or(query.interval);
                            if (second as u64).is_multiple_of(interval) {
                                let allowed = *discovered
                                    .entry(query.discovery.clone())
                                    .or_insert_with(|| runner.discovered(&query.discovery));
                                if allowed {
                                    runner.run(name, query, &|| stopping.is_set());
                                } else {
                                    // A pack not meant for this host reads nothing: it must not
                                    // hold event expiry back.
                                    runner.reads_nothing(name);
                                }
                                runner.update_floor(&schedule);
                            }
                        }
                        if (second as u64).is_multiple_of(PACK_REFRESH_SECONDS) {
                            discovered.clear();
                        }
                        for (every, queries) in &decorators.interval {
                            if (second as u64).is_multiple_of(*every) {
                                let extra = runner.decorations(queries);
                                runner.load_decorations.extend(extra);
                            }
                        }
                    }
                    last_second = now;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
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
        store
            .commit_state(StateBatch {
                puts: vec![(
                    denylist::denylist_key("banned"),
                    (unix_now() + 3600).to_be_bytes().to_vec(),
                )],
                ..StateBatch::default()
            })
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
