//! The TLS logger: sends the result and status lines buffered for it to `--logger_tls_endpoint`
//! in batches, and forgets a batch only once the server took it (2xx). While the server is away
//! it backs off and keeps buffering, up to `--buffered_log_max` lines; what it has to drop is
//! counted (`vigil_logger`) and reported.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context as _;
use serde_json::{Map, Value, json};
use vigil_events::EventStore;
use vigil_state::logs::{self, Line, LineKey, LineKind, Logger, LoggerStats, Sink};

use super::client::{Remote, RemoteError};
use crate::{
    background::Background,
    forwarding::{self, Forwarding, Round, RoundError},
};

#[derive(Debug, Clone)]
pub struct TlsLoggerSettings {
    pub endpoint: String,
    pub period: Duration,
    pub max_lines: usize,
    pub max_linesize: usize,
    pub compress: bool,
    pub backoff_max: Duration,
    pub buffered_max: u64,
    pub send_status: bool,
}

pub struct TlsLogger(Background);

struct Forwarder {
    remote: Arc<Remote>,
    store: Arc<EventStore>,
    settings: TlsLoggerSettings,
    stats: LoggerStats,
    /// When the buffer was last counted.
    last_count: Instant,
}

/// While a backlog drains in full batches, how often the buffer limit is checked.
const BACKLOG_COUNT_EVERY: Duration = Duration::from_secs(60);

/// One batch, split as it travels: results (snapshots too) and statuses, each in its order.
#[derive(Default)]
struct Batch {
    results: Vec<(LineKey, Value)>,
    statuses: Vec<(LineKey, Value)>,
    /// Lines that cannot be sent (too long, not JSON, or status lines that are not wanted).
    unsendable: Vec<LineKey>,
}

impl Forwarder {
    fn sort(&mut self, lines: Vec<Line>) -> Batch {
        let mut batch = Batch::default();
        for line in lines {
            if line.kind == LineKind::Status && !self.settings.send_status {
                batch.unsendable.push(line.key);
                continue;
            }
            if line.line.len() > self.settings.max_linesize {
                self.stats.dropped_oversize += 1;
                batch.unsendable.push(line.key);
                continue;
            }
            let Ok(value @ Value::Object(_)) = serde_json::from_str::<Value>(&line.line) else {
                self.stats.dropped_invalid += 1;
                batch.unsendable.push(line.key);
                continue;
            };
            if line.kind == LineKind::Status {
                batch.statuses.push((line.key, value));
            } else {
                batch.results.push((line.key, value));
            }
        }
        batch
    }

    fn send(&mut self, log_type: &str, lines: Vec<(LineKey, Value)>) -> Result<(), RemoteError> {
        if lines.is_empty() {
            return Ok(());
        }
        let (keys, data): (Vec<LineKey>, Vec<Value>) = lines.into_iter().unzip();
        let mut body = Map::new();
        body.insert("log_type".into(), json!(log_type));
        body.insert("data".into(), Value::Array(data));
        self.remote
            .post(&self.settings.endpoint, body, self.settings.compress)?;
        if let Err(error) = logs::forget(&self.store, &keys) {
            // Sent but not forgotten: they go again (at least once, never lost).
            tracing::error!(%error, "sent log lines could not be removed from the buffer");
        }
        self.stats.sent += keys.len() as u64;
        Ok(())
    }

    /// Sends one batch; returns how many lines it took from the buffer.
    fn forward_once(&mut self) -> Result<usize, RemoteError> {
        let lines =
            logs::waiting(&self.store, Sink::Tls, self.settings.max_lines.max(1)).map_err(|e| {
                RemoteError::Transport {
                    url: self.settings.endpoint.clone(),
                    detail: format!("reading the log buffer: {e}"),
                }
            })?;
        let taken = lines.len();
        let batch = self.sort(lines);
        if !batch.unsendable.is_empty() {
            let _ = logs::forget(&self.store, &batch.unsendable);
        }
        self.send("result", batch.results)?;
        self.send("status", batch.statuses)?;
        Ok(taken)
    }

    /// Keeps the buffer within `--buffered_log_max`, dropping (and counting) the oldest lines.
    /// Counting walks the whole buffer, so it is done after a failed attempt (the buffer grew)
    /// and, while a backlog drains, at most once a minute. Returns the lines left, when counted.
    fn enforce_buffer_limit(&mut self) -> Option<u64> {
        self.last_count = Instant::now();
        let count = logs::waiting_count(&self.store, Sink::Tls).ok()?;
        if self.settings.buffered_max == 0 || count <= self.settings.buffered_max {
            return Some(count);
        }
        let over = count - self.settings.buffered_max;
        let dropped = logs::drop_oldest(&self.store, Sink::Tls, over).ok()?;
        self.stats.dropped_buffer_max += dropped;
        tracing::warn!(
            dropped,
            "TLS logger: more than --buffered_log_max={} lines wait for the server; the \
             {dropped} oldest were dropped",
            self.settings.buffered_max
        );
        Some(count - dropped)
    }
}

impl Forwarding for Forwarder {
    const NAME: &'static str = "TLS logger";
    const RESUMED: &'static str = "the server takes logs again";
    const LOGGER: Logger = Logger::Tls;

    fn store(&self) -> &EventStore {
        &self.store
    }

    fn stats(&mut self) -> &mut LoggerStats {
        &mut self.stats
    }

    fn round(&mut self) -> Result<Round, RoundError> {
        match self.forward_once() {
            Ok(taken) if taken >= self.settings.max_lines.max(1) => Ok(Round::MoreWaiting),
            Ok(_) => Ok(Round::Drained),
            Err(RemoteError::Stopping) => Err(RoundError::Stopping),
            Err(error) => Err(RoundError::Failed(error.to_string())),
        }
    }

    fn period(&self) -> Duration {
        self.settings.period
    }

    /// osquery's backoff: period × failures², capped (0 turns the backoff off).
    fn retry_wait(&self, failures: u32) -> Duration {
        let grown = self.settings.period * failures.saturating_mul(failures).max(1);
        if self.settings.backoff_max.is_zero() {
            self.settings.period
        } else {
            grown.min(self.settings.backoff_max)
        }
    }

    fn enforce_buffer_limit(&mut self) -> Option<u64> {
        Forwarder::enforce_buffer_limit(self)
    }

    fn backlog(&mut self) {
        if self.last_count.elapsed() >= BACKLOG_COUNT_EVERY {
            Forwarder::enforce_buffer_limit(self);
        }
    }
}

impl TlsLogger {
    pub fn spawn(
        remote: Arc<Remote>,
        store: Arc<EventStore>,
        settings: TlsLoggerSettings,
    ) -> anyhow::Result<Self> {
        let stats = logs::stats(Logger::Tls)
            .get(&store)
            .ok()
            .flatten()
            .unwrap_or_default();
        let forwarder = Forwarder {
            remote,
            store,
            settings,
            stats,
            last_count: Instant::now(),
        };
        let thread = Background::spawn("vigil-tls-logger", move |stopping| {
            forwarding::run(forwarder, stopping)
        })
        .context("starting the TLS logger")?;
        Ok(Self(thread))
    }

    /// Tries once more to send what is buffered, then stops (what is left stays buffered).
    pub fn stop(self) {
        self.0.stop();
    }
}
