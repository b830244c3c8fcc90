//! `--buffered_log_max` for the loggers that wait on something outside the host (syslog):
//! while they cannot deliver, the oldest lines beyond the limit are dropped, counted and reported.

use vigil_events::EventStore;
use vigil_state::logs::{self, LoggerStats, Sink};

/// Keeps `sink`'s buffer within `max` lines (0: no limit), counting what is dropped in `stats`.
/// Returns the lines left waiting, when they could be counted.
pub fn enforce(
    store: &EventStore,
    sink: Sink,
    logger: &str,
    max: u64,
    stats: &mut LoggerStats,
) -> Option<u64> {
    let count = logs::waiting_count(store, sink).ok()?;
    if max == 0 || count <= max {
        return Some(count);
    }
    let dropped = logs::drop_oldest(store, sink, count - max).ok()?;
    stats.dropped_buffer_max += dropped;
    tracing::warn!(
        dropped,
        "{logger} logger: more than --buffered_log_max={max} lines wait; the {dropped} oldest \
         were dropped"
    );
    Some(count - dropped)
}
