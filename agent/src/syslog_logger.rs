//! The syslog logger (`--logger_plugin=syslog`): sends the result and status lines buffered for
//! it to the local syslog socket as glibc's `syslog(3)` does (`<PRI>TIMESTAMP TAG[PID]: MSG`, one
//! datagram per line), so journald, rsyslog or any shipper the host runs carries them. A line is
//! forgotten only once the socket took it; while there is no socket, lines wait and it is retried.

use std::{io, os::unix::net::UnixDatagram, path::PathBuf, sync::Arc, time::Duration};

use anyhow::Context as _;
use serde_json::Value;
use vigil_events::EventStore;
use vigil_state::logs::{self, Line, LineKind, Logger, LoggerStats, Sink};

use crate::{
    background::Background,
    forwarding::{self, Forwarding, Round, RoundError},
};

/// syslog(3)'s severities.
const LOG_CRIT: u8 = 2;
const LOG_ERR: u8 = 3;
const LOG_WARNING: u8 = 4;
const LOG_NOTICE: u8 = 5;
const LOG_INFO: u8 = 6;

/// How long one datagram may wait for room in a receiver that does not read.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);
/// Between drains while everything goes through.
const PERIOD: Duration = Duration::from_millis(250);
/// Between attempts while the socket is missing or refuses (it grows to this from `PERIOD`).
const RETRY_MAX: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
pub struct SyslogSettings {
    /// `--logger_syslog_path`: the socket (`/dev/log`).
    pub socket: PathBuf,
    /// `--logger_syslog_facility` (0-23).
    pub facility: u8,
    /// `--logger_syslog_prepend_cee`: `@cee:` before result lines (JSON).
    pub prepend_cee: bool,
    /// `--buffered_log_max`.
    pub buffered_max: u64,
}

/// The message and severity of a line, as osquery's syslog plugin writes them: result lines as
/// they are (JSON, `@cee:` first if asked), status lines as `severity=N location=FILE:LINE
/// message=TEXT` with the status's severity.
fn message(line: &Line, prepend_cee: bool) -> (u8, String) {
    if line.kind != LineKind::Status {
        let text = if prepend_cee {
            format!("@cee:{}", line.line)
        } else {
            line.line.clone()
        };
        return (LOG_INFO, text);
    }
    let Ok(status) = serde_json::from_str::<Value>(&line.line) else {
        return (LOG_NOTICE, line.line.clone());
    };
    let level = status["severity"].as_i64().unwrap_or(0);
    let severity = match level {
        1 => LOG_WARNING,
        2 => LOG_ERR,
        3 => LOG_CRIT,
        _ => LOG_NOTICE,
    };
    let text = format!(
        "severity={level} location={}:{} message={}",
        status["filename"].as_str().unwrap_or_default(),
        status["line"].as_i64().unwrap_or(0),
        status["message"].as_str().unwrap_or_default()
    );
    (severity, text)
}

/// One datagram as glibc's syslog(3) frames it for `/dev/log` (RFC 3164's layout; the time in
/// UTC, which rsyslog and journald replace with the time they received it anyway).
fn frame(facility: u8, severity: u8, unix_time: i64, pid: u32, text: &str) -> Vec<u8> {
    let calendar = crate::scheduler::results::calendar_time(unix_time);
    // "Mon Nov 30 20:37:45 2026 UTC" → "Nov 30 20:37:45"
    let timestamp = calendar.get(4..19).unwrap_or("Jan  1 00:00:00");
    let priority = u16::from(facility) * 8 + u16::from(severity);
    format!("<{priority}>{timestamp} vigil[{pid}]: {text}").into_bytes()
}

/// Why a drain stopped before the buffer was empty.
#[derive(Debug, thiserror::Error)]
enum SyslogError {
    #[error("syslog socket {path}: {source}")]
    Socket { path: String, source: io::Error },
    #[error("reading the log buffer: {0}")]
    Buffer(#[from] vigil_events::StoreError),
}

struct Forwarder {
    store: Arc<EventStore>,
    settings: SyslogSettings,
    socket: UnixDatagram,
    stats: LoggerStats,
}

impl Forwarder {
    fn new(store: Arc<EventStore>, settings: SyslogSettings) -> io::Result<Self> {
        let socket = UnixDatagram::unbound()?;
        socket.set_write_timeout(Some(SEND_TIMEOUT))?;
        let stats = logs::stats(Logger::Syslog)
            .get(&store)
            .ok()
            .flatten()
            .unwrap_or_default();
        Ok(Self {
            store,
            settings,
            socket,
            stats,
        })
    }

    /// Sends what is buffered, forgetting each chunk once the socket took it.
    fn drain(&mut self) -> Result<(), SyslogError> {
        let pid = std::process::id();
        loop {
            let lines = logs::waiting(&self.store, Sink::Syslog, 256)?;
            if lines.is_empty() {
                return Ok(());
            }
            let mut done = Vec::with_capacity(lines.len());
            let mut failure = None;
            for line in &lines {
                let (severity, text) = message(line, self.settings.prepend_cee);
                let now = vigil_events::wall_clock::unix_seconds();
                let datagram = frame(self.settings.facility, severity, now, pid, &text);
                match self.socket.send_to(&datagram, &self.settings.socket) {
                    Ok(_) => self.stats.sent += 1,
                    // Larger than the socket takes: it never will, so it is dropped and counted.
                    Err(error) if error.raw_os_error() == Some(libc::EMSGSIZE) => {
                        self.stats.dropped_oversize += 1;
                        tracing::warn!(
                            bytes = datagram.len(),
                            "syslog logger: a line is larger than the syslog socket takes; \
                             dropped (vigil_logger.dropped_oversize)"
                        );
                    }
                    Err(source) => {
                        failure = Some(SyslogError::Socket {
                            path: self.settings.socket.display().to_string(),
                            source,
                        });
                        break;
                    }
                }
                done.push(line.key);
            }
            if let Err(error) = logs::forget(&self.store, &done) {
                // Sent but not forgotten: they go again (at least once, never lost).
                tracing::error!(%error, "sent log lines could not be removed from the buffer");
            }
            if let Some(failure) = failure {
                return Err(failure);
            }
        }
    }
}

impl Forwarding for Forwarder {
    const NAME: &'static str = "syslog logger";
    const RESUMED: &'static str = "the socket takes lines again";
    const LOGGER: Logger = Logger::Syslog;
    const FAILURE_IS_ERROR: bool = true;

    fn store(&self) -> &EventStore {
        &self.store
    }

    fn stats(&mut self) -> &mut LoggerStats {
        &mut self.stats
    }

    fn round(&mut self) -> Result<Round, RoundError> {
        self.drain()
            .map(|()| Round::Drained)
            .map_err(|error| RoundError::Failed(error.to_string()))
    }

    fn period(&self) -> Duration {
        PERIOD
    }

    fn retry_wait(&self, failures: u32) -> Duration {
        forwarding::linear_backoff(PERIOD, failures, RETRY_MAX)
    }

    fn enforce_buffer_limit(&mut self) -> Option<u64> {
        crate::buffer_limit::enforce(
            &self.store,
            Sink::Syslog,
            "syslog",
            self.settings.buffered_max,
            &mut self.stats,
        )
    }
}

pub struct SyslogLogger(Background);

impl SyslogLogger {
    pub fn spawn(store: Arc<EventStore>, settings: SyslogSettings) -> anyhow::Result<Self> {
        let forwarder = Forwarder::new(store, settings).context("opening a syslog socket")?;
        let thread = Background::spawn("vigil-syslog-logger", move |stopping| {
            forwarding::run(forwarder, stopping)
        })
        .context("starting the syslog logger")?;
        Ok(Self(thread))
    }

    /// Sends what is left once more, then stops (what cannot go stays buffered).
    pub fn stop(self) {
        self.0.stop();
    }
}

#[cfg(test)]
mod tests {
    use vigil_state::Commit;

    use super::*;

    fn line(kind: LineKind, text: &str) -> Line {
        let mut commit = Commit::default();
        commit.log(kind, text.to_owned());
        let dir = tempfile::tempdir().expect("dir");
        let store = EventStore::open_primary(&dir.path().join("db")).expect("store");
        logs::set_sinks(&store, &[Sink::Syslog]);
        commit.apply(&store).expect("buffer");
        logs::waiting(&store, Sink::Syslog, 1)
            .expect("lines")
            .remove(0)
    }

    #[test]
    fn a_frame_is_what_glibc_sends_on_dev_log() {
        // 2026-11-30 20:37:45 UTC, local3.info
        let datagram = frame(19, LOG_INFO, 1_796_071_065, 42, "{\"a\":1}");
        assert_eq!(
            String::from_utf8(datagram).expect("text"),
            "<158>Nov 30 20:37:45 vigil[42]: {\"a\":1}"
        );
        let early = frame(0, LOG_CRIT, 1_796_071_065 - 29 * 86_400, 1, "m");
        assert!(
            String::from_utf8(early)
                .expect("text")
                .starts_with("<2>Nov  1 "),
            "the day is padded with a space, as in RFC 3164"
        );
    }

    #[test]
    fn results_keep_their_json_and_statuses_read_as_osquery_writes_them() {
        let result = line(LineKind::Result, "{\"name\":\"q\"}");
        assert_eq!(
            message(&result, true),
            (LOG_INFO, "@cee:{\"name\":\"q\"}".into())
        );
        assert_eq!(
            message(&result, false),
            (LOG_INFO, "{\"name\":\"q\"}".into())
        );
        let status = line(
            LineKind::Status,
            "{\"severity\":2,\"filename\":\"a.rs\",\"line\":7,\"message\":\"broken\"}",
        );
        assert_eq!(
            message(&status, true),
            (LOG_ERR, "severity=2 location=a.rs:7 message=broken".into())
        );
    }

    #[test]
    fn lines_go_once_the_socket_exists_and_a_line_too_large_is_dropped_and_counted() {
        let dir = tempfile::tempdir().expect("dir");
        let store = Arc::new(EventStore::open_primary(&dir.path().join("db")).expect("store"));
        logs::set_sinks(&store, &[Sink::Syslog]);
        let mut commit = Commit::default();
        commit.log(LineKind::Result, "{\"n\":1}".to_owned());
        // Beyond any socket send buffer the kernel allows by default (wmem_max is 208 KiB).
        commit.log(
            LineKind::Result,
            format!("{{\"big\":\"{}\"}}", "x".repeat(4 << 20)),
        );
        commit.log(LineKind::Result, "{\"n\":3}".to_owned());
        commit.apply(&store).expect("buffer");
        let socket = dir.path().join("log.sock");
        let settings = SyslogSettings {
            socket: socket.clone(),
            facility: 1,
            prepend_cee: false,
            buffered_max: 0,
        };
        let mut forwarder = Forwarder::new(store.clone(), settings).expect("forwarder");
        let error = forwarder.drain().expect_err("no socket yet");
        assert!(
            error.to_string().contains(&socket.display().to_string()),
            "{error}"
        );
        assert_eq!(logs::waiting_count(&store, Sink::Syslog).expect("count"), 3);

        let listener = UnixDatagram::bind(&socket).expect("bind");
        forwarder.drain().expect("sent");
        assert_eq!(logs::waiting_count(&store, Sink::Syslog).expect("count"), 0);
        assert_eq!(
            (forwarder.stats.sent, forwarder.stats.dropped_oversize),
            (2, 1)
        );
        let mut buffer = [0u8; 256];
        for expected in ["{\"n\":1}", "{\"n\":3}"] {
            let n = listener.recv(&mut buffer).expect("a datagram");
            let datagram = String::from_utf8_lossy(&buffer[..n]).into_owned();
            assert!(datagram.starts_with("<14>"), "user.info: {datagram}");
            assert!(datagram.ends_with(&format!(": {expected}")), "{datagram}");
        }
    }
}
