//! Status lines: the daemon's own info, warning and error messages, buffered in the store like
//! result lines and written to `vigil.status.log` (osquery's status log fields), so a fleet sees
//! why an agent misbehaves, not only what it found.

use std::{
    cell::Cell,
    fmt::Write as _,
    sync::{Arc, OnceLock},
};

use tracing::{Event, Level, Subscriber, field::Visit};
use tracing_subscriber::{Layer, layer::Context};
use vigil_events::EventStore;
use vigil_state::{Commit, logs::LineKind};

use crate::scheduler::results::calendar_time;

struct Sink {
    store: Arc<EventStore>,
    host_identifier: String,
}

static SINK: OnceLock<Sink> = OnceLock::new();

thread_local! {
    /// Set while a status line is being stored: a failure there must not log itself forever.
    static STORING: Cell<bool> = const { Cell::new(false) };
}

/// From now on, status messages also go to `store`'s log buffer.
pub fn start(store: Arc<EventStore>, host_identifier: String) {
    let _ = SINK.set(Sink {
        store,
        host_identifier,
    });
}

#[derive(Default)]
struct Message {
    text: String,
    fields: String,
}

impl Visit for Message {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let _ = write!(self.text, "{value:?}");
        } else {
            let _ = write!(self.fields, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "message" {
            self.text.push_str(value);
        } else {
            let _ = write!(self.fields, " {}={value}", field.name());
        }
    }
}

/// The layer that turns tracing events into status lines.
pub struct StatusLayer;

impl<S: Subscriber> Layer<S> for StatusLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let level = *event.metadata().level();
        let severity = match level {
            Level::ERROR => 2,
            Level::WARN => 1,
            Level::INFO => 0,
            _ => return,
        };
        let Some(sink) = SINK.get() else {
            return;
        };
        if STORING.with(Cell::get) {
            return;
        }
        let mut message = Message::default();
        event.record(&mut message);
        let unix_time = vigil_events::wall_clock::unix_seconds();
        let line = serde_json::json!({
            "hostIdentifier": sink.host_identifier,
            "calendarTime": calendar_time(unix_time),
            "unixTime": unix_time,
            "severity": severity,
            "filename": event.metadata().file().unwrap_or_default(),
            "line": event.metadata().line().unwrap_or(0),
            "message": format!("{}{}", message.text, message.fields),
            "version": env!("CARGO_PKG_VERSION"),
        });
        STORING.with(|s| s.set(true));
        let mut commit = Commit::default();
        commit.log(LineKind::Status, line.to_string());
        let _ = commit.apply(&sink.store);
        STORING.with(|s| s.set(false));
    }
}
