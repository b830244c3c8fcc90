//! Blaming the query that was running when a worker was stopped: its name is persisted before it
//! runs; the next worker finds it still there and keeps that query from running for a day
//! (osquery's denylist), unless the query is exempt.

use std::collections::BTreeMap;

use rusqlite::{Batch, Connection, fallible_iterator::FallibleIterator as _};
use vigil_events::{EventStore, EventTable};
use vigil_state::{
    Commit,
    schedule::{self, QueryStats},
};

use crate::config::ScheduledQuery;

/// How long a blamed query stays denylisted (osquery's day).
pub const DURATION_SECONDS: i64 = 86_400;

/// Until when `name` is denylisted, if it is now.
pub fn active_until(store: &EventStore, name: &str, now: i64) -> Option<i64> {
    let until = schedule::DENYLIST.key(name).get(store).ok().flatten()?;
    (until > now).then_some(until)
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
        let name = schedule::EXECUTING.get(self.store).ok().flatten()?;
        let mut commit = Commit::default();
        commit.delete(&schedule::EXECUTING);
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
                        commit.put(&schedule::DENYLIST.key(&name), &until);
                        let stats = schedule::STATS.key(&name);
                        if !stats.exists(self.store).unwrap_or(false) {
                            // vigil_schedule lists queries by their statistics: a query that
                            // never finished a run has none yet.
                            let first = QueryStats {
                                query: query.query.clone(),
                                interval: query.interval,
                                ..QueryStats::default()
                            };
                            commit.put(&stats, &first);
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
        if let Err(error) = commit.apply(self.store) {
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
            schedule::EXECUTING
                .set(&store, &name.to_owned())
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
        assert_eq!(schedule::EXECUTING.get(&store).expect("read"), None);

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
        let stats = schedule::STATS
            .key("hog")
            .get(&store)
            .expect("read")
            .expect("a vigil_schedule row for the query");
        assert!(stats.query.contains("processes"));
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
