//! Blaming the query that was running when a worker was stopped: its name is persisted before it
//! runs; the next worker finds it still there and keeps that query from running for a day
//! (osquery's denylist), unless the query is exempt.

use std::collections::BTreeMap;

use rusqlite::{Batch, Connection, fallible_iterator::FallibleIterator as _};
use vigil_events::{EventStore, EventTable, store::StateBatch};
use vigil_tables::agent::vigil_schedule::{DENYLIST_PREFIX, STATS_PREFIX, denylisted_until};

use crate::config::ScheduledQuery;

/// The state key naming the query that is running now.
pub const EXECUTING_KEY: &[u8] = b"executing_query";

/// How long a blamed query stays denylisted (osquery's day).
pub const DURATION_SECONDS: i64 = 86_400;

pub fn denylist_key(name: &str) -> Vec<u8> {
    format!("{DENYLIST_PREFIX}{name}").into_bytes()
}

/// Until when `name` is denylisted, if it is now.
pub fn active_until(store: &EventStore, name: &str, now: i64) -> Option<i64> {
    let value = store.get_state(&denylist_key(name)).ok().flatten()?;
    denylisted_until(&value).filter(|&until| until > now)
}

/// The tables `sql` reads: those SQLite plans a scan of while preparing it.
pub fn tables_read(conn: &Connection, sql: &str) -> rusqlite::Result<Vec<String>> {
    let (prepared, tables) = vigil_tables::vtab::tables_planned(|| {
        let mut batch = Batch::new(conn, sql);
        while batch.next()?.is_some() {}
        Ok::<_, rusqlite::Error>(())
    });
    prepared?;
    Ok(tables.into_iter().map(str::to_owned).collect())
}

/// Why a query is never denylisted, or `None` when it may be.
pub fn exemption(query: &ScheduledQuery, tables: &[String]) -> Option<&'static str> {
    if !query.denylist {
        return Some("the query has \"denylist\": false");
    }
    let evented = |t: &String| EventTable::ALL.iter().any(|e| e.name() == t.as_str());
    if !tables.is_empty() && tables.iter().all(evented) {
        // osquery's rule: a query over evented tables only reads buffered events, and skipping
        // it would lose them for good.
        return Some("it reads evented tables only");
    }
    None
}

/// What the next worker does with the query found running when the previous one stopped.
pub struct Blame<'a> {
    pub store: &'a EventStore,
    pub schedule: &'a BTreeMap<String, ScheduledQuery>,
    /// Whether a watcher supervises this worker (without one there is no denylisting, only a
    /// warning, as in osquery).
    pub watchdog: bool,
    /// Why the previous worker ended, as the watcher said.
    pub previous_end: Option<&'a str>,
    pub now: i64,
}

impl Blame<'_> {
    /// Looks for a query left running; denylists it unless exempt. Returns its name when it was
    /// denylisted.
    pub fn settle(&self, conn: &Connection) -> Option<String> {
        let name = self.store.get_state(EXECUTING_KEY).ok().flatten()?;
        let name = String::from_utf8_lossy(&name).into_owned();
        let mut batch = StateBatch {
            deletes: vec![EXECUTING_KEY.to_vec()],
            ..StateBatch::default()
        };
        let cause = match self.previous_end {
            Some(end) => format!(" ({end})"),
            None => String::new(),
        };
        let denylisted = match self.schedule.get(&name) {
            None => {
                tracing::warn!(
                    "scheduled query {name} was running when the worker stopped{cause}; it is no \
                     longer scheduled"
                );
                false
            }
            Some(_) if !self.watchdog => {
                tracing::warn!(
                    "scheduled query {name} may have failed: it was running when the daemon \
                     stopped{cause}"
                );
                false
            }
            Some(query) => {
                let tables = tables_read(conn, &query.query).unwrap_or_default();
                match exemption(query, &tables) {
                    Some(why) => {
                        tracing::warn!(
                            "scheduled query {name} was running when the worker was \
                             stopped{cause}; it is not denylisted: {why}"
                        );
                        false
                    }
                    None => {
                        let until = self.now + DURATION_SECONDS;
                        batch
                            .puts
                            .push((denylist_key(&name), until.to_be_bytes().to_vec()));
                        let stats_key = format!("{STATS_PREFIX}{name}").into_bytes();
                        if self.store.get_state(&stats_key).ok().flatten().is_none() {
                            // vigil_schedule lists queries by their statistics: a query that
                            // never finished a run has none yet.
                            let stats = serde_json::json!({
                                "query": query.query,
                                "interval": query.interval,
                            });
                            batch.puts.push((stats_key, stats.to_string().into_bytes()));
                        }
                        tracing::warn!(
                            "scheduled query {name} is denylisted for {} h, until {}: it was \
                             running when the worker was stopped{cause}",
                            DURATION_SECONDS / 3600,
                            super::results::calendar_time(until)
                        );
                        true
                    }
                }
            }
        };
        if let Err(error) = self.store.commit_state(batch) {
            tracing::error!(%error, "the denylist could not be stored");
            return None;
        }
        denylisted.then_some(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_tables::{AgentInfo, CounterSource, TablesContext};

    fn query(sql: &str, denylist: bool) -> ScheduledQuery {
        ScheduledQuery {
            denylist,
            ..ScheduledQuery::with_sql(sql)
        }
    }

    fn connection() -> crate::sql::Connection {
        let tables = vigil_tables::all_tables(TablesContext {
            store: None,
            counters: vigil_events::Counters::new(&EventTable::names()),
            counter_source: CounterSource::Live,
            agent: AgentInfo::default(),
            scope: None,
        });
        crate::sql::Connection::open(&tables, crate::sql::Limits::NONE).expect("sqlite")
    }

    #[test]
    fn planning_names_every_table_a_query_reads() {
        let conn = connection();
        let tables = tables_read(
            &conn,
            "SELECT count(*) FROM bpf_process_events p JOIN processes USING (pid)",
        )
        .expect("prepares");
        assert_eq!(tables, ["bpf_process_events", "processes"]);
        let cte = "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c) SELECT i FROM c";
        assert!(tables_read(&conn, cte).expect("prepares").is_empty());
        assert!(tables_read(&conn, "SELECT * FROM nope").is_err());
        let (_, outside) = vigil_tables::vtab::tables_planned(|| ());
        assert!(outside.is_empty(), "nothing is noted when nobody prepares");
    }

    #[test]
    fn evented_only_queries_and_denylist_false_are_exempt() {
        let events = [
            "bpf_process_events".to_owned(),
            "bpf_file_events".to_owned(),
        ];
        assert!(exemption(&query("", true), &events).is_some());
        let mixed = ["bpf_process_events".to_owned(), "processes".to_owned()];
        assert_eq!(exemption(&query("", true), &mixed), None);
        assert_eq!(
            exemption(&query("", true), &[]),
            None,
            "a bare CTE reads no table"
        );
        assert!(exemption(&query("", false), &mixed).is_some());
    }

    #[test]
    fn the_query_left_running_is_denylisted_once_and_only_with_a_watchdog() {
        let dir = tempfile::tempdir().expect("dir");
        let store = EventStore::open_primary(&dir.path().join("db")).expect("store");
        let conn = connection();
        let schedule: BTreeMap<String, ScheduledQuery> = [
            ("hog".to_owned(), query("SELECT 1 FROM processes", true)),
            (
                "evs".to_owned(),
                query("SELECT 1 FROM bpf_process_events", true),
            ),
        ]
        .into();
        let mark_running = |name: &str| {
            store
                .commit_state(StateBatch {
                    puts: vec![(EXECUTING_KEY.to_vec(), name.as_bytes().to_vec())],
                    ..StateBatch::default()
                })
                .expect("commit");
        };
        let blame = |watchdog: bool| Blame {
            store: &store,
            schedule: &schedule,
            watchdog,
            previous_end: Some("memory limit exceeded"),
            now: 1000,
        };
        mark_running("hog");
        assert_eq!(blame(false).settle(&conn), None, "no watchdog, no denylist");
        assert_eq!(active_until(&store, "hog", 1000), None);
        assert_eq!(store.get_state(EXECUTING_KEY).expect("read"), None);

        mark_running("hog");
        assert_eq!(blame(true).settle(&conn).as_deref(), Some("hog"));
        assert_eq!(
            active_until(&store, "hog", 1000),
            Some(1000 + DURATION_SECONDS)
        );
        assert_eq!(
            active_until(&store, "hog", 1000 + DURATION_SECONDS),
            None,
            "expires"
        );
        let stats = store
            .get_state(format!("{STATS_PREFIX}hog").as_bytes())
            .expect("read")
            .expect("a vigil_schedule row for the query");
        assert!(String::from_utf8_lossy(&stats).contains("processes"));
        assert_eq!(blame(true).settle(&conn), None, "settled once");

        mark_running("evs");
        assert_eq!(
            blame(true).settle(&conn),
            None,
            "evented-only queries are exempt"
        );
        assert_eq!(active_until(&store, "evs", 1000), None);
    }
}
