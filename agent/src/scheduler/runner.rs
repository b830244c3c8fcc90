//! Running one scheduled query: on its own SQLite connection, from where its previous run
//! stopped reading each event table; its result lines committed in the same write as its new
//! read positions, counter and statistics, so a crash never loses lines nor repeats or skips
//! events.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    sync::Arc,
};

use anyhow::Context as _;
use vigil_events::{
    Counters, EventStore, EventTable,
    store::{NOTHING_READ, ReadFloor, ReadThrough},
};
use vigil_state::{
    Commit,
    logs::LineKind,
    schedule::{self, Cursor, TablesRead},
};
use vigil_tables::{
    AgentInfo, CounterSource, TablesContext,
    evented::{QueryScope, ScopeOutcome},
};

use super::{
    Settings, denylist, interrupted,
    measures::{RunMeasures, Stopwatch, next_stats},
    results::{self, LineContext, ResultRow, diff, rows_of},
    unix_now,
};
use crate::{config::ScheduledQuery, sql};

/// How a run of a scheduled query ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ran {
    Done,
    /// It stopped at the row budget with new events left.
    MoreLeft,
}

/// What a run read and produced, before it is committed.
struct Execution {
    result: sql::ResultSet,
    read: ScopeOutcome,
    measures: RunMeasures,
    decorations: ResultRow,
}

pub(super) struct Runner {
    pub store: Arc<EventStore>,
    pub conn: sql::Connection,
    scope: Arc<QueryScope>,
    pub settings: Settings,
    pub load_decorations: ResultRow,
    pub always_decorators: Vec<String>,
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
    pub fn new(
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
                flags: vigil_tables::FlagSource::live(crate::flags::current),
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
    pub fn restore(&mut self, schedule: &BTreeMap<String, ScheduledQuery>) {
        for name in schedule.keys() {
            if schedule::EPOCH
                .key(name)
                .exists(&self.store)
                .unwrap_or(false)
            {
                self.ran.insert(name.clone());
            }
            let mut with_cursor = HashSet::new();
            for (table, cursor) in self.cursors(name) {
                self.resume_at.insert((name.clone(), table), cursor);
                with_cursor.insert(table);
            }
            // Older versions did not record which tables a run read: every table with a cursor.
            let reads = schedule::READS
                .key(name)
                .get(&self.store)
                .ok()
                .flatten()
                .map_or(with_cursor, |read| read.0);
            self.reads.insert(name.clone(), reads);
        }
        self.update_floor(schedule);
    }

    /// Where `name`'s previous runs stopped reading each event table.
    fn cursors(&self, name: &str) -> HashMap<EventTable, Cursor> {
        EventTable::ALL
            .iter()
            .filter_map(|&table| {
                let cursor = schedule::cursor(name, table)
                    .get(&self.store)
                    .ok()
                    .flatten()?;
                Some((table, cursor))
            })
            .collect()
    }

    /// The query reads no event table (it failed, is denylisted, or is not meant for this host):
    /// it holds nothing back.
    pub fn reads_nothing(&mut self, name: &str) {
        self.ran.insert(name.to_owned());
        self.reads.insert(name.to_owned(), HashSet::new());
    }

    /// Events every scheduled query that reads their table has read may expire; until every
    /// query has run once (which tables it reads is unknown before), none may.
    pub fn update_floor(&self, schedule: &BTreeMap<String, ScheduledQuery>) {
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
    pub fn decorations(&self, queries: &[String]) -> ResultRow {
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
    pub fn discovered(&self, queries: &[String]) -> bool {
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
    pub fn run(&mut self, name: &str, query: &ScheduledQuery, stopping: &dyn Fn() -> bool) {
        while self.run_once(name, query) == Ran::MoreLeft && !stopping() {}
    }

    fn run_once(&mut self, name: &str, query: &ScheduledQuery) -> Ran {
        if denylist::active_until(&self.store, name, unix_now()).is_some() {
            // It reads nothing while denylisted: it must not hold event expiry back.
            self.reads_nothing(name);
            return Ran::Done;
        }
        if !self.record_executing(name) {
            return Ran::Done;
        }
        let Some(execution) = self.execute(name, query) else {
            return Ran::Done;
        };
        let mut commit = Commit::default();
        commit.delete(&schedule::EXECUTING);
        self.add_result_lines(&mut commit, name, query, &execution);
        let mut measures = execution.measures;
        measures.output_size = commit.logged_bytes() as i64;
        self.add_stats(&mut commit, name, query, measures);
        add_read_positions(&mut commit, name, &execution.read);
        self.commit_run(name, commit, execution.read)
    }

    /// Persisted before the query runs: if the watchdog stops the worker during the run, the
    /// next worker knows which query to blame. False when that could not be recorded (the query
    /// does not run then).
    fn record_executing(&self, name: &str) -> bool {
        match schedule::EXECUTING.set(&self.store, &name.to_owned()) {
            Ok(()) => true,
            Err(error) => {
                tracing::error!(query = name, %error, "the running query could not be recorded; not running it");
                false
            }
        }
    }

    /// Runs the query from where its previous runs stopped reading. `None` when it did not
    /// complete (failed, or interrupted): nothing of it is committed.
    fn execute(&mut self, name: &str, query: &ScheduledQuery) -> Option<Execution> {
        let start = self.cursors(name);
        let mut decorations = self.load_decorations.clone();
        decorations.extend(self.decorations(&self.always_decorators));
        let stopwatch = Stopwatch::start();
        self.scope.begin(start);
        let outcome = sql::run(&self.conn, &query.query);
        let read = self.scope.finish();
        let measures = stopwatch.stop();
        let result = match outcome {
            Ok(mut results) if !results.is_empty() => results.swap_remove(0),
            Ok(_) => sql::ResultSet::default(),
            Err(error) => {
                self.failed(name, &error);
                return None;
            }
        };
        Some(Execution {
            result,
            read,
            measures,
            decorations,
        })
    }

    /// A run that did not complete.
    fn failed(&mut self, name: &str, error: &rusqlite::Error) {
        if interrupted(error) && crate::watchdog::worker::blamed() {
            // Stopped by the watchdog: the query stays recorded as running, to be blamed.
            tracing::warn!(
                query = name,
                "scheduled query interrupted: the watchdog is stopping this worker"
            );
            return;
        }
        if interrupted(error) {
            tracing::info!(
                query = name,
                "scheduled query interrupted: the daemon is stopping; it runs again at the next start"
            );
        } else {
            // A query that fails reads nothing either: it must not hold expiry back.
            self.reads_nothing(name);
            tracing::warn!(query = name, error = %sql::message(error), "scheduled query failed");
        }
        if let Err(error) = schedule::EXECUTING.remove(&self.store) {
            tracing::warn!(query = name, %error, "the end of a failed query could not be recorded");
        }
    }

    /// The run's result lines (snapshot, new events, or what changed since the previous run),
    /// the rows the next run compares with, and the query's counter and epoch.
    fn add_result_lines(
        &self,
        commit: &mut Commit,
        name: &str,
        query: &ScheduledQuery,
        execution: &Execution,
    ) {
        let rows = rows_of(&execution.result, self.settings.numerics);
        let epoch = self.settings.epoch;
        let same_epoch = self.stored(&schedule::EPOCH.key(name)).unwrap_or(0) == epoch;
        let mut counter = if same_epoch {
            self.stored(&schedule::COUNTER.key(name)).unwrap_or(0)
        } else {
            0
        };
        let evented = !execution.read.reached.is_empty();
        let unix_time = unix_now();
        let ctx = |counter| LineContext {
            name,
            host_identifier: &self.settings.host_identifier,
            unix_time,
            epoch,
            counter,
            numerics: self.settings.numerics,
            decorations: &execution.decorations,
            decorations_top_level: self.settings.decorations_top_level,
        };
        if query.snapshot && self.settings.snapshot_event_format {
            for line in ctx(counter).snapshot_row_lines(&rows) {
                commit.log(LineKind::Snapshot, line);
            }
        } else if query.snapshot {
            commit.log(LineKind::Snapshot, ctx(counter).snapshot_line(&rows));
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
                let previous = if same_epoch {
                    self.stored(&schedule::RESULTS.key(name))
                        .unwrap_or_default()
                } else {
                    Vec::new()
                };
                let first = previous.is_empty() && counter == 0;
                let mut changes = diff(&previous, &rows);
                if !query.removed {
                    changes.removed.clear();
                }
                commit.put(&schedule::RESULTS.key(name), &rows);
                if first {
                    counter = 0;
                }
                changes
            };
            if !changes.is_empty() || (counter == 0 && !evented) {
                let c = ctx(counter);
                if self.settings.event_format {
                    for line in c.event_lines(&changes) {
                        commit.log(LineKind::Result, line);
                    }
                } else {
                    commit.log(LineKind::Result, c.batch_line(&changes));
                }
                counter += 1;
            }
        }
        commit.put(&schedule::COUNTER.key(name), &counter);
        commit.put(&schedule::EPOCH.key(name), &epoch);
    }

    /// The query's statistics, with this run.
    fn add_stats(
        &self,
        commit: &mut Commit,
        name: &str,
        query: &ScheduledQuery,
        measures: RunMeasures,
    ) {
        let previous = self.stored(&schedule::STATS.key(name));
        commit.put(
            &schedule::STATS.key(name),
            &next_stats(previous, query, measures),
        );
    }

    /// Commits the run; then, and only then, its read positions count.
    fn commit_run(&mut self, name: &str, commit: Commit, read: ScopeOutcome) -> Ran {
        if let Err(error) = commit.apply(&self.store) {
            tracing::error!(query = name, %error, "results could not be stored; the query will run again");
            return Ran::Done;
        }
        self.ran.insert(name.to_owned());
        let tables_read = read.reached.keys().copied().collect();
        for (table, cursor) in read.reached {
            self.resume_at.insert((name.to_owned(), table), cursor);
        }
        self.reads.insert(name.to_owned(), tables_read);
        if read.more { Ran::MoreLeft } else { Ran::Done }
    }

    /// A state value, or `None` when it is missing or cannot be read.
    fn stored<T: vigil_state::StateValue>(&self, key: &vigil_state::Key<T>) -> Option<T> {
        key.get(&self.store).ok().flatten()
    }
}

/// Which event tables the run read, and how far: where the next run resumes.
fn add_read_positions(commit: &mut Commit, name: &str, read: &ScopeOutcome) {
    let tables_read = TablesRead(read.reached.keys().copied().collect());
    commit.put(&schedule::READS.key(name), &tables_read);
    for (table, cursor) in &read.reached {
        commit.put(&schedule::cursor(name, *table), cursor);
    }
}
