//! One publisher in the collector: what runs, with which selection, and, when nothing could
//! start, what to try again.

use std::time::{Duration, Instant};

use vigil_events::{HandOver, Outlet, Publisher, Running, Settings, Stopping};

use super::{Applied, Selection};
use crate::cli::EventArgs;

/// How often probes that could not be started are tried again.
const RETRY_EVERY: Duration = Duration::from_secs(10);

/// What every start of a publisher needs.
pub(super) struct Start<'a> {
    pub args: &'a EventArgs,
    pub outlet: &'a Outlet,
    pub hand_over: Option<&'a HandOver>,
}

impl Start<'_> {
    fn run(
        &self,
        publisher: &dyn Publisher,
        selection: &Selection,
    ) -> anyhow::Result<Box<dyn Running>> {
        #[cfg(debug_assertions)]
        injected_probe_failure()?;
        let settings = Settings {
            file_filter: selection.file_filter.clone(),
            disabled_tables: selection.disabled_tables.clone(),
            ringbuf_bytes: self.args.bpf_ringbuf_size,
            argv_limit: self.args.bpf_argv_limit,
            audit: self.args.audit.settings(),
            es: self.args.es.settings(),
        };
        Ok(publisher.start(&settings, self.outlet.clone(), self.hand_over)?)
    }
}

/// Fault injection for the end-to-end tests, in debug builds only: while the file that
/// `VIGIL_FAULT_PROBE_FAILURES` names holds a number above 0, each start of the probes fails and
/// counts it down.
#[cfg(debug_assertions)]
fn injected_probe_failure() -> anyhow::Result<()> {
    let Some(path) = std::env::var_os("VIGIL_FAULT_PROBE_FAILURES") else {
        return Ok(());
    };
    let left: u64 = std::fs::read_to_string(&path)
        .ok()
        .and_then(|t| t.trim().parse().ok())
        .unwrap_or(0);
    if left == 0 {
        return Ok(());
    }
    let _ = std::fs::write(&path, (left - 1).to_string());
    anyhow::bail!("injected by VIGIL_FAULT_PROBE_FAILURES")
}

/// Nothing of this publisher reads the kernel side: a new config's probes could not start, nor
/// could the previous ones again. Their pinned kernel programs keep recording meanwhile.
struct Stall {
    wanted: Selection,
    /// `None`: try at the next chance.
    last_try: Option<Instant>,
    /// Why, for `vigil_events.active`.
    reason: String,
}

pub(super) struct Slot {
    publisher: Box<dyn Publisher>,
    running: Option<Box<dyn Running>>,
    /// What runs, or what ran last.
    selection: Selection,
    stall: Option<Stall>,
}

impl Slot {
    pub fn start(
        publisher: Box<dyn Publisher>,
        selection: Selection,
        start: &Start<'_>,
    ) -> anyhow::Result<Self> {
        let running = start.run(publisher.as_ref(), &selection)?;
        Ok(Self {
            publisher,
            running: Some(running),
            selection,
            stall: None,
        })
    }

    /// Why nothing of this publisher runs, if so.
    pub fn stalled(&self) -> Option<&str> {
        self.stall.as_ref().map(|stall| stall.reason.as_str())
    }

    /// Applies a new selection, if it changed, without losing events: a publisher that hands
    /// its kernel side over stops reading, and the new one takes the kernel side over (the old
    /// probes record until the new ones are attached); one that does not is replaced by a new
    /// one started before it stops (events of that moment may be reported twice, none is
    /// missed).
    pub fn reconfigure(&mut self, wanted: Selection, start: &Start<'_>) -> Applied {
        if self.stall.is_some() {
            // Nothing runs: the next attempt starts what is wanted now.
            if let Some(stall) = &mut self.stall {
                stall.wanted = wanted;
                stall.last_try = None;
            }
            self.retry_if_stopped(start);
            return match self.stall {
                None => Applied::New,
                Some(_) => Applied::Stopped(anyhow::anyhow!("event collection is still stopped")),
            };
        }
        if wanted == self.selection {
            return Applied::Unchanged;
        }
        let old = self.running.take();
        let hands_over = old.as_ref().is_some_and(|old| old.hands_over());
        if hands_over && let Some(old) = old {
            old.hand_over();
            let error = match start.run(self.publisher.as_ref(), &wanted) {
                Ok(new) => {
                    self.running = Some(new);
                    self.selection = wanted;
                    return Applied::New;
                }
                Err(error) => error,
            };
            // Back to what ran: its probes are still pinned and recording.
            match start.run(self.publisher.as_ref(), &self.selection) {
                Ok(previous) => {
                    self.running = Some(previous);
                    Applied::KeptPrevious(error)
                }
                Err(again) => {
                    let error = error.context(format!(
                        "nor could the previous probes start again ({again:#})"
                    ));
                    self.stopped(wanted, &error);
                    Applied::Stopped(error)
                }
            }
        } else {
            match start.run(self.publisher.as_ref(), &wanted) {
                Ok(new) => {
                    self.running = Some(new);
                    if let Some(old) = old {
                        old.stop().wait();
                    }
                    self.selection = wanted;
                    Applied::New
                }
                Err(error) => {
                    self.running = old;
                    Applied::KeptPrevious(error)
                }
            }
        }
    }

    /// Nothing runs: marked where operators look (by the collector), and retried.
    fn stopped(&mut self, wanted: Selection, error: &anyhow::Error) {
        self.stall = Some(Stall {
            wanted,
            last_try: Some(Instant::now()),
            reason: format!("no probes could be started: {error:#}"),
        });
    }

    /// While nothing runs, tries (every `RETRY_EVERY`) the wanted probes, then the previous
    /// ones; says so when collection resumes.
    pub fn retry_if_stopped(&mut self, start: &Start<'_>) {
        let Some(stall) = &self.stall else {
            return;
        };
        if stall.last_try.is_some_and(|at| at.elapsed() < RETRY_EVERY) {
            return;
        }
        let wanted = stall.wanted.clone();
        let previous = self.selection.clone();
        let publisher = self.publisher.as_ref();
        let started = start
            .run(publisher, &wanted)
            .map(|p| (p, wanted.clone()))
            .or_else(|error| {
                start
                    .run(publisher, &previous)
                    .map(|p| (p, previous.clone()))
                    .map_err(|again| error.context(format!("nor the previous ones: {again:#}")))
            });
        match started {
            Ok((running, selection)) => {
                let with = if selection == wanted {
                    "the new config's"
                } else {
                    "the previous config's"
                };
                self.running = Some(running);
                self.selection = selection;
                self.stall = None;
                tracing::warn!(
                    "event collection resumed with {with} probes; what the pinned kernel side \
                     recorded meanwhile is read now, what the ring buffer could not hold is \
                     counted in vigil_events.dropped_ring_buffer"
                );
            }
            Err(error) => {
                self.stopped(wanted, &error);
                tracing::error!(
                    "event collection is still stopped, next attempt in {} s: {error:#}",
                    RETRY_EVERY.as_secs()
                );
            }
        }
    }

    /// Stops for good; the kernel side goes in the background.
    pub fn stop(&mut self) -> Option<Stopping> {
        self.running.take().map(|running| running.stop())
    }

    /// Stops reading; the kernel side that can outlive this worker stays for the next.
    pub fn hand_over(&mut self) {
        if let Some(running) = self.running.take() {
            running.hand_over();
        }
    }
}
