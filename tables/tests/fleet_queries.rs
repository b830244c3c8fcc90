//! Fleet managers' queries (Fleet's detail queries; Kolide's, Zentral's and osctrl's Linux
//! queries) and osquery's packs' Linux queries (`tests/fixtures/fleet-queries/`), run unchanged
//! against vigil's tables on this host, with osquery's functions, and discovery queries deciding
//! what runs, as a fleet manager does.
//!
//! Every query must run without an error, but for the packs' queries of the tables vigil has no
//! plan for ([`NOT_PLANNED`]; the test fails once one of them exists) and the managers' queries
//! listed with the reason they fail (each manager's `expected_failures`: the test fails when one
//! of them runs, so the lists stay true). Each share that runs is printed (`--nocapture`).

#![cfg(target_os = "linux")]

use std::sync::Arc;

use rusqlite::{Batch, Connection, fallible_iterator::FallibleIterator as _};
use serde_json::Value;
use vigil_events::{Counters, EventStore, EventTable};
use vigil_tables::{AgentInfo, CounterSource, TablesContext};

/// Tables only osquery's packs read that vigil has no plan for: `hardware_events`, udev's
/// device events, would need an event publisher of its own (a `NETLINK_KOBJECT_UEVENT`
/// socket), its stored event type and its subscriber switches, where vigil's event tables come
/// from eBPF and audit only.
const NOT_PLANNED: &[&str] = &["hardware_events"];

/// Rows read from one query at most: enough to run it through, bounded.
const MAX_ROWS: usize = 100_000;

/// What happened to one query.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Ran(usize),
    /// Its discovery query returned no row: a fleet manager does not send it.
    Skipped,
    /// It reads a table vigil has no plan for.
    Waits(String),
    Failed(String),
}

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/../tests/fixtures/fleet-queries/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

struct Host {
    conn: Connection,
    _store: tempfile::TempDir,
}

fn host() -> Host {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(EventStore::open_primary(dir.path()).expect("store"));
    let tables = vigil_tables::all_tables(TablesContext {
        store: Some(store),
        counters: Counters::new(&EventTable::names()),
        counter_source: CounterSource::Live,
        agent: AgentInfo::default(),
        scope: None,
    });
    let conn = Connection::open_in_memory().expect("sqlite");
    vigil_tables::register(&conn, &tables).expect("register");
    Host { conn, _store: dir }
}

/// Runs every statement of `sql` to its end (or [`MAX_ROWS`]), as osquery and vigil's agent
/// run a query's text (Zentral sends several statements as one query); the rows they gave.
fn run(conn: &Connection, sql: &str) -> Result<usize, String> {
    let mut batch = Batch::new(conn, sql);
    let mut count = 0;
    while let Some(mut statement) = batch.next().map_err(|e| e.to_string())? {
        let mut rows = statement.raw_query();
        while count < MAX_ROWS && rows.next().map_err(|e| e.to_string())?.is_some() {
            count += 1;
        }
    }
    Ok(count)
}

/// The table an error says is missing.
fn missing_table(error: &str) -> Option<&str> {
    error
        .split("no such table: ")
        .nth(1)
        .map(|rest| rest.split_whitespace().next().unwrap_or(rest))
}

fn outcome(conn: &Connection, query: &Value, waitable: &[&str]) -> Outcome {
    let text = |key: &str| query[key].as_str().map(str::to_owned);
    if let Some(discovery) = text("discovery") {
        match run(conn, &discovery) {
            Ok(0) => return Outcome::Skipped,
            Ok(_) => {}
            Err(e) => return Outcome::Failed(format!("discovery: {e}")),
        }
    }
    let sql = text("query").unwrap_or_default();
    match run(conn, &sql) {
        Ok(rows) => Outcome::Ran(rows),
        Err(e) => match missing_table(&e) {
            Some(table) if waitable.contains(&table) => Outcome::Waits(table.to_owned()),
            _ => Outcome::Failed(e),
        },
    }
}

/// Each query's name and outcome.
fn outcomes(fixture_name: &str, waitable: &[&str]) -> Vec<(String, Outcome)> {
    let host = host();
    let queries = fixture(fixture_name);
    queries["queries"]
        .as_array()
        .expect("queries")
        .iter()
        .map(|query| {
            let name = match query["pack"].as_str() {
                Some(pack) => format!("{pack}/{}", query["name"].as_str().unwrap_or_default()),
                None => query["name"].as_str().unwrap_or_default().to_owned(),
            };
            (name, outcome(&host.conn, query, waitable))
        })
        .collect()
}

fn report(outcomes: &[(String, Outcome)]) -> String {
    outcomes
        .iter()
        .map(|(name, outcome)| format!("{name}: {outcome:?}"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn fleets_linux_detail_queries_run() {
    let outcomes = outcomes("fleet-detail-queries.json", &[]);
    eprintln!("Fleet's Linux detail queries:\n{}", report(&outcomes));
    let failed: Vec<_> = outcomes
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::Failed(_)))
        .collect();
    assert!(failed.is_empty(), "queries that fail: {failed:#?}");
    // The ones about this host's identity answer with a row.
    for name in [
        "os_version",
        "osquery_info",
        "system_info",
        "uptime",
        "os_unix_like",
    ] {
        let ran = outcomes.iter().find(|(n, _)| n == name).map(|(_, o)| o);
        assert_eq!(ran, Some(&Outcome::Ran(1)), "{name}");
    }
    // Discovery skips what needs a table vigil lacks (kubernetes_info, orbit_info, ...).
    let skipped = outcomes
        .iter()
        .filter(|(_, o)| *o == Outcome::Skipped)
        .count();
    assert!(skipped >= 5, "{}", report(&outcomes));
}

#[test]
fn osquerys_linux_pack_queries_run() {
    let outcomes = outcomes("osquery-packs.json", NOT_PLANNED);
    let total = outcomes.len();
    let ran = outcomes
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::Ran(_) | Outcome::Skipped))
        .count();
    let percent = |n: usize| n as f64 * 100.0 / total as f64;
    eprintln!(
        "osquery's packs, Linux queries: {ran} of {total} run ({:.1} %)\n{}",
        percent(ran),
        report(&outcomes)
    );
    let failed: Vec<_> = outcomes
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::Failed(_)))
        .collect();
    assert!(failed.is_empty(), "queries that fail: {failed:#?}");
    assert!(
        percent(ran) >= 90.0,
        "fewer than 90 % of the packs' Linux queries run: {:.1} %",
        percent(ran)
    );
}

/// Runs a manager's queries: every one runs but those `expected_failures` names (query, why it
/// fails), which must fail; prints the share that runs. Returns how many ran and the total.
fn managers_queries_run(
    manager: &str,
    fixture_name: &str,
    expected_failures: &[(&str, &str)],
) -> (usize, usize) {
    let outcomes = outcomes(fixture_name, &[]);
    let total = outcomes.len();
    let ran = outcomes
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::Ran(_) | Outcome::Skipped))
        .count();
    eprintln!(
        "{manager}'s Linux queries: {ran} of {total} run ({:.1} %)\n{}",
        ran as f64 * 100.0 / total as f64,
        report(&outcomes)
    );
    let mut problems = Vec::new();
    for (name, outcome) in &outcomes {
        let expected = expected_failures.iter().find(|(n, _)| n == name);
        match (outcome, expected) {
            (Outcome::Failed(e), None) => problems.push(format!("{name} fails: {e}")),
            (Outcome::Ran(_) | Outcome::Skipped, Some((_, why))) => problems.push(format!(
                "{name} runs now: take it out of the expected failures (\"{why}\")"
            )),
            _ => {}
        }
    }
    for (name, _) in expected_failures {
        if !outcomes.iter().any(|(n, _)| n == name) {
            problems.push(format!("{name}: no such query in {fixture_name}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    (ran, total)
}

#[test]
fn kolides_linux_queries_run() {
    managers_queries_run("Kolide", "kolide-queries.json", KOLIDE_FAILURES);
}

#[test]
fn zentrals_linux_queries_run() {
    managers_queries_run("Zentral", "zentral-queries.json", ZENTRAL_FAILURES);
}

#[test]
fn osctrls_linux_queries_run() {
    managers_queries_run("osctrl", "osctrl-queries.json", OSCTRL_FAILURES);
}

/// Kolide's queries that do not run on vigil, and why.
const KOLIDE_FAILURES: &[(&str, &str)] = &[];

/// Zentral's queries that do not run on vigil, and why.
const ZENTRAL_FAILURES: &[(&str, &str)] = &[
    (
        "ztl-inv/ec2_instance_metadata",
        "no ec2_instance_metadata table (AWS's instance metadata service over HTTP); Zentral sends \
         it only with its inventory_ec2 option",
    ),
    (
        "ztl-inv/ec2_instance_tags",
        "no ec2_instance_tags table (AWS's API); Zentral sends it only with inventory_ec2",
    ),
];

/// osctrl's queries that do not run on vigil, and why.
const OSCTRL_FAILURES: &[(&str, &str)] = &[
    (
        "samples/kernel_info",
        "reads kernel_info.name, which osquery's kernel_info has not either (it fails on osquery)",
    ),
    (
        "samples/etc_passwd",
        "reads file.sha256, which osquery's file has not either (hash has it; it fails on osquery)",
    ),
];

/// The list stays honest: a table that exists is not unplanned.
#[test]
fn listed_missing_tables_are_missing() {
    let host = host();
    for table in NOT_PLANNED {
        let exists = run(
            &host.conn,
            &format!(
                "SELECT 1 FROM osquery_registry WHERE registry = 'table' AND name = '{table}'"
            ),
        )
        .expect("the registry answers");
        assert_eq!(
            exists, 0,
            "{table} exists now: remove it from NOT_PLANNED in tables/tests/fleet_queries.rs"
        );
    }
}
