//! Result, snapshot and status lines waiting for each logger, and what each logger reports about
//! itself (`vigil_logger`).
//!
//! Each line is queued once per logger that is on (a [`Sink`]), and each forgets its copy once
//! it has delivered it, so a logger that cannot deliver holds nothing back for the others.

use vigil_events::{
    EventStore, StoreError,
    store::{DEFAULT_LINE_READER, QueuedLine},
};

pub use vigil_events::store::LineKey;

use crate::{Family, Key, value::json_state_value};

/// A logger that lines are queued for. Its number is the first byte of its lines' keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sink {
    Filesystem,
    Tls,
    Syslog,
    Kafka,
}

impl Sink {
    /// The reader number of the store's line queue. The filesystem logger's is the store's
    /// default reader: lines committed before the daemon names its loggers go to it.
    const fn reader(self) -> u8 {
        match self {
            Sink::Filesystem => DEFAULT_LINE_READER,
            Sink::Tls => 2,
            Sink::Syslog => 3,
            Sink::Kafka => 4,
        }
    }
}

/// What a line is: the filesystem logger picks a file by it, the TLS logger a `log_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineKind {
    Result,
    Snapshot,
    Status,
}

impl LineKind {
    pub(crate) const fn tag(self) -> u8 {
        match self {
            LineKind::Result => 1,
            LineKind::Snapshot => 2,
            LineKind::Status => 3,
        }
    }

    /// A tag this version does not know reads as a result line.
    fn of_tag(tag: u8) -> Self {
        match tag {
            2 => LineKind::Snapshot,
            3 => LineKind::Status,
            _ => LineKind::Result,
        }
    }
}

/// A line waiting for a logger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// What the logger gives [`forget`] once it has delivered the line.
    pub key: LineKey,
    pub kind: LineKind,
    pub line: String,
}

impl From<QueuedLine> for Line {
    fn from(queued: QueuedLine) -> Self {
        Self {
            key: queued.key,
            kind: LineKind::of_tag(queued.tag),
            line: queued.line,
        }
    }
}

/// From now on, new lines are queued for these loggers (the filesystem logger alone until this
/// is called).
pub fn set_sinks(store: &EventStore, sinks: &[Sink]) {
    let readers: Vec<u8> = sinks.iter().map(|s| s.reader()).collect();
    store.set_line_readers(&readers);
}

/// Up to `limit` lines waiting for `sink`, oldest first.
pub fn waiting(store: &EventStore, sink: Sink, limit: usize) -> Result<Vec<Line>, StoreError> {
    Ok(store
        .queued_lines(sink.reader(), limit)?
        .into_iter()
        .map(Line::from)
        .collect())
}

/// How many lines wait for `sink`.
pub fn waiting_count(store: &EventStore, sink: Sink) -> Result<u64, StoreError> {
    store.queued_count(sink.reader())
}

/// Forgets the `n` oldest lines waiting for `sink`; returns how many there were.
pub fn drop_oldest(store: &EventStore, sink: Sink, n: u64) -> Result<u64, StoreError> {
    store.drop_oldest_lines(sink.reader(), n)
}

/// Forgets lines a logger has delivered.
pub fn forget(store: &EventStore, keys: &[LineKey]) -> Result<(), StoreError> {
    store.delete_lines(keys)
}

/// What `vigil_logger` lists: each logger, and distributed query results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Logger {
    Filesystem,
    Tls,
    Syslog,
    Kafka,
    Distributed,
}

impl Logger {
    /// In `vigil_logger`'s order.
    pub const ALL: [Logger; 5] = [
        Logger::Filesystem,
        Logger::Tls,
        Logger::Syslog,
        Logger::Kafka,
        Logger::Distributed,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            Logger::Filesystem => "filesystem",
            Logger::Tls => "tls",
            Logger::Syslog => "syslog",
            Logger::Kafka => "kafka_producer",
            Logger::Distributed => "distributed",
        }
    }

    /// The sink whose lines it delivers (distributed results are kept apart, see
    /// [`distributed`](crate::distributed)).
    pub const fn sink(self) -> Option<Sink> {
        match self {
            Logger::Filesystem => Some(Sink::Filesystem),
            Logger::Tls => Some(Sink::Tls),
            Logger::Syslog => Some(Sink::Syslog),
            Logger::Kafka => Some(Sink::Kafka),
            Logger::Distributed => None,
        }
    }
}

const STATS: Family<LoggerStats> = Family::new("logger_stats/");

/// What `logger` reports about itself.
pub fn stats(logger: Logger) -> Key<LoggerStats> {
    STATS.key(logger.name())
}

/// What a logger reports about itself.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct LoggerStats {
    pub sent: u64,
    /// Oldest lines dropped to stay within `--buffered_log_max`.
    pub dropped_buffer_max: u64,
    /// Lines longer than `--logger_tls_max_linesize` (TLS), or than the syslog socket takes.
    pub dropped_oversize: u64,
    /// Lines that were not a JSON object.
    pub dropped_invalid: u64,
    /// Distributed results the server refused too many times.
    pub dropped_rejected: u64,
    pub failed_attempts: u64,
    pub last_error: String,
}

impl LoggerStats {
    /// Every line dropped, whatever the reason.
    pub fn dropped(&self) -> u64 {
        self.dropped_buffer_max
            + self.dropped_oversize
            + self.dropped_invalid
            + self.dropped_rejected
    }
}

json_state_value!(LoggerStats);
