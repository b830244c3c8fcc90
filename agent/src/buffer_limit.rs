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

#[cfg(test)]
mod tests {
    use vigil_state::{Commit, logs::LineKind};

    use super::*;

    #[test]
    fn the_oldest_lines_beyond_the_limit_are_dropped_and_counted_for_that_sink_alone() {
        let dir = tempfile::tempdir().expect("dir");
        let store = EventStore::open_primary(&dir.path().join("db")).expect("store");
        logs::set_sinks(&store, &[Sink::Filesystem, Sink::Syslog]);
        let mut commit = Commit::default();
        for n in 0..5 {
            commit.log(LineKind::Result, format!("{{\"n\":{n}}}"));
        }
        commit.apply(&store).expect("buffer");
        let mut stats = LoggerStats::default();
        assert_eq!(
            enforce(&store, Sink::Syslog, "syslog", 2, &mut stats),
            Some(2)
        );
        assert_eq!(stats.dropped_buffer_max, 3);
        let left: Vec<String> = logs::waiting(&store, Sink::Syslog, 10)
            .expect("lines")
            .into_iter()
            .map(|l| l.line)
            .collect();
        assert_eq!(left, ["{\"n\":3}", "{\"n\":4}"], "the newest are kept");
        assert_eq!(
            logs::waiting_count(&store, Sink::Filesystem).expect("count"),
            5,
            "the other logger's copies are untouched"
        );
        assert_eq!(
            enforce(&store, Sink::Syslog, "syslog", 0, &mut stats),
            Some(2),
            "0: no limit"
        );
    }
}
