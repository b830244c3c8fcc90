//! The scheduler's promise, tried against random histories: each event stored in a table reaches
//! each scheduled query that reads the table exactly once, or is counted in
//! `vigil_events.expired_unread`. Histories interleave batches with out-of-order timestamps, wall
//! clock steps both ways, runs that stop at the row budget, store reopens (restarts), retention
//! passes, schedule changes and failing runs. A failing case prints its seed and its steps;
//! `PROPTEST_RNG_SEED=<n>` replays a run, `PROPTEST_CASES=<n>` runs more.

use std::{
    collections::{BTreeMap, BTreeSet, HashMap, HashSet},
    path::{Path, PathBuf},
    sync::Arc,
    time::Duration,
};

use proptest::prelude::*;
use vigil_events::{
    Counters, Event, EventStore, EventTable, ProcessAction, ProcessEvent, Syscall, Task,
    store::{ReadFloor, RetentionPolicy, retention_pass},
};
use vigil_state::logs::{self, Sink};

use super::{Settings, runner::Runner};
use crate::config::ScheduledQuery;

const SEC: u64 = 1_000_000_000;
const TABLE: EventTable = EventTable::BpfProcessEvents;
const FLAKY: &str = "flaky";

#[derive(Debug, Clone)]
enum Step {
    /// A batch of events at the clock plus these offsets (seconds): out of order, some late.
    Append(Vec<i16>),
    /// A scheduled query runs (index into the queries): until it has read everything new, or,
    /// when the scheduler is asked to stop, for one run only (a backlog is left).
    Run(usize, bool),
    /// A retention pass: expiry by age, and maybe `--events_max`.
    Retain { expiry_s: u16, max_rows: Option<u8> },
    /// The wall clock moves: forward a little, or a step either way.
    Clock(i32),
    /// The worker restarts: the store is closed and opened again.
    Reopen,
    /// A reload with these queries (bit mask over the queries).
    Reschedule(u8),
    /// The flaky query fails on every row from now on, or stops failing.
    Fail(bool),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => prop::collection::vec(-90i16..90, 1..12).prop_map(Step::Append),
        4 => (0usize..3, any::<bool>()).prop_map(|(query, stop)| Step::Run(query, stop)),
        2 => (0u16..400, prop::option::of(0u8..30))
            .prop_map(|(expiry_s, max_rows)| Step::Retain { expiry_s, max_rows }),
        2 => prop_oneof![1i32..30, -3600i32..3600].prop_map(Step::Clock),
        1 => Just(Step::Reopen),
        1 => (1u8..8).prop_map(Step::Reschedule),
        1 => any::<bool>().prop_map(Step::Fail),
    ]
}

fn queries(fail_switch: &Path) -> Vec<(String, ScheduledQuery)> {
    vec![
        (
            "all".into(),
            ScheduledQuery::with_sql("SELECT eid FROM bpf_process_events"),
        ),
        (
            "pids".into(),
            ScheduledQuery::with_sql("SELECT eid, pid FROM bpf_process_events WHERE pid >= 0"),
        ),
        (
            FLAKY.into(),
            // Fails (integer overflow) on its first row while the switch file exists.
            ScheduledQuery::with_sql(&format!(
                "SELECT eid, CASE WHEN (SELECT count(*) FROM file WHERE path = '{}') > 0 \
                 THEN abs(-9223372036854775807 - 1) ELSE 0 END AS boom FROM bpf_process_events",
                fail_switch.display()
            )),
        ),
    ]
}

fn event(time_ns: u64, pid: u32) -> Event {
    Event::Process(ProcessEvent {
        action: ProcessAction::Exec,
        syscall: Syscall::Execve,
        time_ns,
        task: Task {
            pid,
            tid: pid,
            parent: 1,
            uid: 0,
            gid: 0,
            euid: 0,
            egid: 0,
            cgroup_id: 1,
            comm: "t".into(),
        },
        path: "/bin/true".into(),
        filename: "/bin/true".into(),
        cwd: "/".into(),
        argv: vec!["true".into()],
        argv_truncated: false,
        exit_code: 0,
        exit_signal: 0,
        child_pid: 0,
        duration_ns: 0,
        probe_error: 0,
        parent_path: String::new(),
    })
}

fn settings(max_event_rows: usize) -> Settings {
    Settings {
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
        max_event_rows,
    }
}

/// The history so far, and what the promise says about it.
struct World {
    _dir: tempfile::TempDir,
    db: PathBuf,
    fail_switch: PathBuf,
    queries: Vec<(String, ScheduledQuery)>,
    schedule: BTreeMap<String, ScheduledQuery>,
    runner: Option<Runner>,
    counters: Counters,
    read_floor: Arc<ReadFloor>,
    max_event_rows: usize,
    clock_ns: u64,
    next_pid: u32,
    /// Queries whose latest run failed: they hold nothing back until they run again or restart.
    failed_last: HashSet<String>,
    /// Rows removed while a query that holds the table had not read them: each must be counted.
    must_be_counted: u64,
}

impl World {
    fn new(max_event_rows: usize) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("db");
        let fail_switch = dir.path().join("fail");
        let queries = queries(&fail_switch);
        let schedule = queries.iter().cloned().collect();
        let mut world = Self {
            _dir: dir,
            db,
            fail_switch,
            queries,
            schedule,
            runner: None,
            counters: Counters::new(&EventTable::names()),
            read_floor: Arc::new(ReadFloor::default()),
            max_event_rows,
            clock_ns: 1_700_000_000 * SEC,
            next_pid: 1,
            failed_last: HashSet::new(),
            must_be_counted: 0,
        };
        world.start(None);
        world
    }

    /// A new scheduler (a restart or a reload): it restores what earlier runs left.
    fn start(&mut self, store: Option<Arc<EventStore>>) {
        let store = store
            .unwrap_or_else(|| Arc::new(EventStore::open_primary(&self.db).expect("open store")));
        let mut runner = Runner::new(
            store,
            self.counters.clone(),
            settings(self.max_event_rows),
            self.read_floor.clone(),
        )
        .expect("runner");
        runner.restore(&self.schedule);
        self.runner = Some(runner);
        self.failed_last.clear();
    }

    fn runner(&mut self) -> &mut Runner {
        self.runner.as_mut().expect("a runner")
    }

    fn store(&self) -> Arc<EventStore> {
        self.runner.as_ref().expect("a runner").store.clone()
    }

    fn present(&self) -> BTreeSet<u64> {
        self.store()
            .scan(TABLE, vigil_events::TimeRange::ALL)
            .expect("scan")
            .map(|row| row.expect("row").seq)
            .collect()
    }

    /// Every (query, eid) delivered so far, with how often.
    fn deliveries(&self) -> HashMap<(String, u64), usize> {
        let mut out = HashMap::new();
        let lines = logs::waiting(&self.store(), Sink::Filesystem, usize::MAX).expect("lines");
        for line in lines {
            let value: serde_json::Value = serde_json::from_str(&line.line).expect("json line");
            let Some(eid) = value["columns"]["eid"].as_str() else {
                continue;
            };
            let name = value["name"].as_str().expect("name").to_owned();
            *out.entry((name, eid.parse().expect("eid"))).or_default() += 1;
        }
        out
    }

    fn delivered_to(&self, name: &str) -> BTreeSet<u64> {
        self.deliveries()
            .into_keys()
            .filter(|(n, _)| n == name)
            .map(|(_, eid)| eid)
            .collect()
    }

    /// Queries that hold the table back: scheduled, and whose latest run did not fail.
    fn holders(&self) -> Vec<String> {
        self.schedule
            .keys()
            .filter(|name| !self.failed_last.contains(*name))
            .cloned()
            .collect()
    }

    fn apply(&mut self, step: &Step) {
        match step {
            Step::Append(offsets) => {
                let rows: Vec<(u64, Vec<u8>)> = offsets
                    .iter()
                    .map(|offset| {
                        let time = self
                            .clock_ns
                            .saturating_add_signed(i64::from(*offset) * SEC as i64)
                            .max(1);
                        self.next_pid += 1;
                        (time, event(time, self.next_pid).encode())
                    })
                    .collect();
                self.store().append(TABLE, &rows).expect("append");
            }
            Step::Run(index, stop) => {
                let (name, query) = self.queries[*index % self.queries.len()].clone();
                if !self.schedule.contains_key(&name) {
                    return;
                }
                let unread = self
                    .present()
                    .difference(&self.delivered_to(&name))
                    .next()
                    .is_some();
                let fails = name == FLAKY && self.fail_switch.exists() && unread;
                let stop = *stop;
                self.runner().run(&name, &query, &|| stop);
                if fails {
                    self.failed_last.insert(name);
                } else {
                    self.failed_last.remove(&name);
                }
                let floor = self.schedule.clone();
                self.runner().update_floor(&floor);
            }
            Step::Retain { expiry_s, max_rows } => {
                let before = self.present();
                let readers: Vec<BTreeSet<u64>> = self
                    .holders()
                    .iter()
                    .map(|q| self.delivered_to(q))
                    .collect();
                let policy = RetentionPolicy {
                    expiry: Some(Duration::from_secs(u64::from(*expiry_s))),
                    max_rows: max_rows.map(u64::from),
                    read_floor: Some(self.read_floor.clone()),
                };
                retention_pass(&self.store(), &self.counters, &policy, self.clock_ns);
                let after = self.present();
                for removed in before.difference(&after) {
                    if readers.iter().any(|read| !read.contains(removed)) {
                        assert!(
                            max_rows.is_some(),
                            "expiry by age removed eid {removed}, which a scheduled query had \
                             not read"
                        );
                        self.must_be_counted += 1;
                    }
                }
            }
            Step::Clock(seconds) => {
                self.clock_ns = self
                    .clock_ns
                    .saturating_add_signed(i64::from(*seconds) * SEC as i64);
            }
            Step::Reopen => {
                self.runner = None;
                self.start(None);
            }
            Step::Reschedule(mask) => {
                self.schedule = self
                    .queries
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| mask & (1 << i) != 0)
                    .map(|(_, q)| q.clone())
                    .collect();
                let store = self.store();
                self.runner = None;
                self.start(Some(store));
            }
            Step::Fail(on) => {
                if *on {
                    std::fs::write(&self.fail_switch, b"").expect("switch on");
                } else if self.fail_switch.exists() {
                    std::fs::remove_file(&self.fail_switch).expect("switch off");
                }
            }
        }
    }

    /// No query ever saw an event twice.
    fn check_no_duplicates(&self) {
        for ((name, eid), times) in self.deliveries() {
            assert_eq!(times, 1, "query {name} got eid {eid} {times} times");
        }
    }

    /// Every scheduled query, run until it has nothing new, has seen every event still stored;
    /// what was removed before some query read it is counted.
    fn check_complete(&mut self) {
        self.apply(&Step::Fail(false));
        let schedule = self.schedule.clone();
        for (name, query) in &schedule {
            self.runner().run(name, query, &|| false);
        }
        self.check_no_duplicates();
        let present = self.present();
        for name in schedule.keys() {
            let delivered = self.delivered_to(name);
            let missed: Vec<_> = present.difference(&delivered).collect();
            assert!(missed.is_empty(), "query {name} never got eids {missed:?}");
        }
        let counted = self
            .counters
            .table(TABLE.name())
            .expect("table counters")
            .values()
            .expired_unread;
        assert_eq!(
            counted, self.must_be_counted,
            "events removed before every scheduled query read them"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn each_event_reaches_each_scheduled_query_once_or_is_counted(
        max_event_rows in 1usize..8,
        steps in prop::collection::vec(step(), 1..60),
    ) {
        let mut world = World::new(max_event_rows);
        for step in &steps {
            world.apply(step);
            world.check_no_duplicates();
        }
        world.check_complete();
    }
}

#[test]
fn rows_written_while_a_query_pages_through_are_read_exactly_once() {
    // A writer appends late and out-of-order events while a query with a tiny row budget reads
    // page by page: no event may fall between two pages or two runs.
    let mut world = World::new(3);
    world.schedule = world.queries[..1].iter().cloned().collect();
    world.start(Some(world.store()));
    let store = world.store();
    let writer = std::thread::spawn(move || {
        let base = 1_700_000_000 * SEC;
        for batch in 0..200u64 {
            let rows: Vec<(u64, Vec<u8>)> = (0..7u64)
                .map(|i| {
                    // Every other batch is a minute late.
                    let time = base + batch * SEC - (batch % 2) * 60 * SEC + i;
                    (time, event(time, (batch * 7 + i) as u32).encode())
                })
                .collect();
            store.append(TABLE, &rows).expect("append");
        }
    });
    let (name, query) = world.queries[0].clone();
    while !writer.is_finished() {
        world.runner().run(&name, &query, &|| false);
    }
    writer.join().expect("writer");
    world.check_complete();
    assert_eq!(world.delivered_to(&name).len(), 1400);
}
