//! Distributed (on-demand) queries: every `--distributed_interval` the daemon asks the server for
//! queries, runs them, keeps each result in the database before anything is sent, and sends
//! them; a result is forgotten only once the server took it, so a crash in between loses nothing.

use std::{
    sync::{Arc, OnceLock},
    time::{Duration, Instant},
};

use anyhow::Context as _;
use rusqlite::InterruptHandle;
use serde_json::{Map, Value, json};
use vigil_events::EventStore;
use vigil_remote_api::distributed::{self, DistributedQuery};
use vigil_state::{
    Commit,
    distributed::{EXECUTING, PENDING},
    logs::{self, Logger, LoggerStats},
};

use super::client::{Remote, RemoteError};
use crate::{
    background::Background,
    session::{Events, Session},
    sql,
};

#[derive(Debug, Clone)]
pub struct DistributedSettings {
    pub read_endpoint: String,
    pub write_endpoint: String,
    pub interval: Duration,
    /// `--query_timeout`, `--query_max_rows`, `--query_max_bytes`.
    pub limits: sql::Limits,
}

pub struct Distributed {
    thread: Background,
    /// Cuts the running query short when the daemon stops.
    interrupt: Arc<OnceLock<InterruptHandle>>,
}

/// One query's outcome, as the write request carries it; and whether it was interrupted.
fn outcome(session: &Session, sql_text: &str) -> (Value, bool) {
    let started = Instant::now();
    let (user_before, system_before) = crate::scheduler::thread_cpu_ms();
    let memory_before = crate::scheduler::resident_bytes();
    let result = sql::run(&session.conn, sql_text);
    let (user_after, system_after) = crate::scheduler::thread_cpu_ms();
    let stats = json!({
        "wall_time_ms": started.elapsed().as_millis() as u64,
        "user_time": user_after - user_before,
        "system_time": system_after - system_before,
        "memory": (crate::scheduler::resident_bytes() - memory_before).max(0),
    });
    match result {
        Ok(results) => {
            let rows: Vec<Value> = results
                .first()
                .map(|r| {
                    crate::scheduler::results::rows_of(r, false)
                        .into_iter()
                        .map(Value::Object)
                        .collect()
                })
                .unwrap_or_default();
            (
                json!({"rows": rows, "status": 0, "message": "", "stats": stats}),
                false,
            )
        }
        Err(error) if crate::scheduler::interrupted(&error) => (
            json!({
                "rows": [],
                "status": 1,
                "message": "interrupted: the daemon stopped while the query ran",
                "stats": stats,
            }),
            true,
        ),
        Err(error) => {
            let code = match &error {
                rusqlite::Error::SqliteFailure(failure, _) => failure.extended_code,
                _ => 1,
            };
            (
                json!({
                    "rows": [],
                    "status": code.max(1),
                    "message": sql::message(&error),
                    "stats": stats,
                }),
                false,
            )
        }
    }
}

/// Whether every discovery query returns rows.
fn discovered(session: &Session, sql_text: &str) -> bool {
    sql::run(&session.conn, sql_text)
        .ok()
        .and_then(|results| results.into_iter().next())
        .is_some_and(|r| !r.rows.is_empty())
}

/// A result the server refused this many times is dropped, with a status line, and counted
/// (`vigil_logger`, `distributed`): a result it cannot take must not be sent for ever.
const MAX_REJECTIONS: u64 = 5;

/// Whether the server answered and refused the request (as opposed to being out of reach).
fn refused(error: &RemoteError) -> bool {
    error.is_refusal()
}

struct Runner {
    remote: Arc<Remote>,
    store: Arc<EventStore>,
    session: Session,
    settings: DistributedSettings,
    stats: LoggerStats,
}

impl Runner {
    fn pending(&self) -> Vec<(String, Value)> {
        PENDING.all(&self.store).unwrap_or_default()
    }

    /// One write request with `results`; forgets them once the server took them.
    fn send(&mut self, results: &[(String, Value)]) -> Result<(), RemoteError> {
        let (mut queries, mut statuses, mut messages, mut stats) =
            (Map::new(), Map::new(), Map::new(), Map::new());
        for (id, outcome) in results {
            queries.insert(id.clone(), outcome["rows"].clone());
            statuses.insert(id.clone(), outcome["status"].clone());
            if outcome["message"].as_str().is_some_and(|m| !m.is_empty()) {
                messages.insert(id.clone(), outcome["message"].clone());
            }
            stats.insert(id.clone(), outcome["stats"].clone());
        }
        let mut body = Map::new();
        body.insert("queries".into(), Value::Object(queries));
        body.insert("statuses".into(), Value::Object(statuses));
        body.insert("messages".into(), Value::Object(messages));
        body.insert("stats".into(), Value::Object(stats));
        if let Err(error) = self.remote.post(&self.settings.write_endpoint, body, false) {
            if !matches!(error, RemoteError::Stopping) {
                self.stats.failed_attempts += 1;
                self.stats.last_error = error.to_string();
            }
            return Err(error);
        }
        let mut sent = Commit::default();
        for (id, _) in results {
            sent.delete(&PENDING.key(id));
        }
        let _ = sent.apply(&self.store);
        self.stats.sent += results.len() as u64;
        self.stats.last_error.clear();
        tracing::info!(queries = results.len(), "distributed query results sent");
        Ok(())
    }

    /// The server refused `id`'s result (alone in its request): counted, and dropped after
    /// `MAX_REJECTIONS`.
    fn rejected(&mut self, id: &str, mut outcome: Value, error: &RemoteError) {
        let key = PENDING.key(id);
        let rejections = outcome["rejections"].as_u64().unwrap_or(0) + 1;
        if rejections >= MAX_REJECTIONS {
            self.stats.dropped_rejected += 1;
            tracing::error!(
                id,
                "distributed query result dropped: the server refused it {rejections} times \
                 (last: {error}); counted in vigil_logger.dropped_rejected"
            );
            let _ = key.remove(&self.store);
            return;
        }
        tracing::warn!(
            id,
            "the server refused this distributed query result (refusal {rejections} of \
             {MAX_REJECTIONS} allowed; it is sent again): {error}"
        );
        outcome["rejections"] = Value::from(rejections);
        let _ = key.set(&self.store, &outcome);
    }

    /// Sends every kept result. When the server refuses a request of several, each is sent alone
    /// so that the one it refuses does not hold the others back.
    fn write_pending(&mut self) -> Result<(), RemoteError> {
        let pending = self.pending();
        if pending.is_empty() {
            return Ok(());
        }
        let error = match self.send(&pending) {
            Ok(()) => return Ok(()),
            Err(error) if refused(&error) => error,
            Err(error) => return Err(error),
        };
        if let [(id, outcome)] = pending.as_slice() {
            self.rejected(id, outcome.clone(), &error);
            return Ok(());
        }
        for (id, outcome) in pending {
            match self.send(std::slice::from_ref(&(id.clone(), outcome.clone()))) {
                Ok(()) => {}
                Err(error) if refused(&error) => self.rejected(&id, outcome, &error),
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }

    fn save_stats(&self) {
        let _ = logs::stats(Logger::Distributed).set(&self.store, &self.stats);
    }

    /// Asks for queries and runs them; returns the seconds the server asked to be quick for.
    fn read_and_run(&self) -> Result<u64, RemoteError> {
        let answer = self
            .remote
            .post(&self.settings.read_endpoint, Map::new(), false)?;
        let read = distributed::read_reply(&answer);
        for warning in &read.warnings {
            tracing::warn!("{warning}");
        }
        for DistributedQuery {
            id,
            sql: sql_text,
            discovery,
        } in &read.queries
        {
            if let Some(check) = discovery
                && !discovered(&self.session, check)
            {
                continue;
            }
            if let Err(error) = EXECUTING.set(&self.store, id) {
                tracing::error!(id, %error, "the running distributed query could not be recorded");
            }
            let (result, interrupted) = outcome(&self.session, sql_text);
            if interrupted && crate::watchdog::worker::blamed() {
                // Stopped by the watchdog: left recorded as running, the next worker reports it
                // with the watchdog's reason.
                return Err(RemoteError::Stopping);
            }
            // Kept before it is sent: a crash from here on loses nothing.
            let mut kept = Commit::default();
            kept.put(&PENDING.key(id), &result);
            kept.delete(&EXECUTING);
            if let Err(error) = kept.apply(&self.store) {
                tracing::error!(id, %error, "a distributed query result could not be kept");
            }
        }
        Ok(read.accelerate)
    }

    /// A distributed query that was running when the previous worker stopped becomes a failed
    /// result (it is not run again: it may be what stopped the worker).
    fn settle_interrupted(&self, previous_end: Option<&str>) {
        let Some(id) = EXECUTING.get(&self.store).ok().flatten() else {
            return;
        };
        let message = match previous_end {
            Some(end) => format!("the query was running when the worker stopped: {end}"),
            None => "the query was running when the daemon stopped".to_owned(),
        };
        tracing::warn!(id, "distributed query reported as failed: {message}");
        let result = json!({"rows": [], "status": 1, "message": message, "stats": {}});
        let mut failed = Commit::default();
        failed.put(&PENDING.key(&id), &result);
        failed.delete(&EXECUTING);
        let _ = failed.apply(&self.store);
    }

    /// Sends what waits, asks for new queries, runs them and sends their results. Results that
    /// could not be sent do not keep new queries from running.
    fn round(&mut self) -> u64 {
        let before = self.stats.clone();
        let report = |error: RemoteError| match error {
            RemoteError::Stopping => {}
            error => tracing::warn!("distributed queries: {error}"),
        };
        if let Err(error) = self.write_pending() {
            report(error);
        }
        let accelerate = match self.read_and_run() {
            Ok(accelerate) => accelerate,
            Err(error) => {
                report(error);
                0
            }
        };
        if let Err(error) = self.write_pending() {
            report(error);
        }
        if self.stats != before {
            self.save_stats();
        }
        accelerate
    }
}

impl Distributed {
    pub fn spawn(
        remote: Arc<Remote>,
        store: Arc<EventStore>,
        counters: vigil_events::Counters,
        settings: DistributedSettings,
        previous_worker_end: Option<String>,
    ) -> anyhow::Result<Self> {
        let interrupt = Arc::new(OnceLock::new());
        let interrupt_handle = interrupt.clone();
        let thread = Background::spawn("vigil-distributed", move |stopping| {
            let limits = settings.limits;
            let session = match Session::open(Events::Shared(store.clone(), counters), limits) {
                Ok(session) => session,
                Err(error) => {
                    tracing::error!("distributed queries cannot run: {error:#}");
                    return;
                }
            };
            let _ = interrupt_handle.set(session.conn.get_interrupt_handle());
            let stats = logs::stats(Logger::Distributed)
                .get(&store)
                .ok()
                .flatten()
                .unwrap_or_default();
            let mut runner = Runner {
                remote,
                store,
                session,
                settings,
                stats,
            };
            runner.settle_interrupted(previous_worker_end.as_deref());
            let mut accelerated_until = Instant::now();
            while !stopping.is_set() {
                let accelerate = runner.round();
                if accelerate > 0 {
                    // At most `distributed::ACCELERATE_MAX`: the sum cannot overflow.
                    accelerated_until = Instant::now() + Duration::from_secs(accelerate);
                }
                // While the server asks for speed, check every few seconds.
                let wait = if Instant::now() < accelerated_until {
                    runner.settings.interval.min(Duration::from_secs(5))
                } else {
                    runner.settings.interval
                };
                let until = Instant::now() + wait.max(Duration::from_secs(1));
                while Instant::now() < until && !stopping.is_set() {
                    std::thread::sleep(Duration::from_millis(100));
                }
            }
        })
        .context("starting distributed queries")?;
        Ok(Self { thread, interrupt })
    }

    /// Interrupts a running query (reported to the server as interrupted), then stops.
    pub fn stop(self) {
        self.thread.stop_interrupting(&self.interrupt);
    }
}
