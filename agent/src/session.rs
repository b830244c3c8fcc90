//! A SQL session: a SQLite connection with every vigil table, reading from the right store, and,
//! when asked, collecting events itself.

use std::{path::PathBuf, sync::Arc};

use anyhow::Context as _;
use vigil_events::{Counters, EventStore, EventTable};
use vigil_tables::{CounterSource, Table, TablesContext};

use crate::{cli::EventArgs, collector::Collector, sql};

/// Where a session's event tables come from.
pub enum Events {
    /// No event history (evented tables are empty).
    None,
    /// Read, read-only, the history a daemon collects at this path.
    Follow(PathBuf),
    /// Collect kernel events in this process, into this path or a private temporary database.
    Collect(Option<PathBuf>, EventArgs),
    /// The daemon's own store and live counters (for queries the daemon runs itself).
    Shared(Arc<EventStore>, Counters),
}

pub struct Session {
    pub conn: sql::Connection,
    pub tables: Vec<Arc<dyn Table>>,
    // Field order is drop order: stop collecting before the store and its directory go away.
    collector: Option<Collector>,
    _store: Option<Arc<EventStore>>,
    _private_dir: Option<tempfile::TempDir>,
}

impl Session {
    /// A session whose queries are bounded by `limits`.
    pub fn open(events: Events, limits: sql::Limits) -> anyhow::Result<Self> {
        let mut counters = Counters::new(&EventTable::names());
        let mut private_dir = None;
        let (store, source, collect_args) = match events {
            Events::None => (None, CounterSource::None, None),
            Events::Shared(store, live) => {
                counters = live;
                (Some(store), CounterSource::Live, None)
            }
            Events::Follow(path) => {
                let store = EventStore::open_secondary(&path)?;
                (Some(Arc::new(store)), CounterSource::Store, None)
            }
            Events::Collect(path, args) => {
                let path = match path {
                    Some(path) => path,
                    None => {
                        let dir = tempfile::Builder::new()
                            .prefix("vigil-shell-")
                            .tempdir()
                            .context("creating a private event database")?;
                        let path = dir.path().join("db");
                        private_dir = Some(dir);
                        path
                    }
                };
                let store = EventStore::open_primary(&path)?;
                (Some(Arc::new(store)), CounterSource::Live, Some(args))
            }
        };
        let collector = match (&store, collect_args) {
            (Some(store), Some(args)) => {
                let config = crate::config::load_optional(
                    args.config_path.as_deref(),
                    &args.pack_delimiter,
                )?;
                Some(Collector::start(
                    store.clone(),
                    counters.clone(),
                    &args,
                    config.as_ref(),
                    None,
                    None,
                )?)
            }
            _ => None,
        };
        let tables = vigil_tables::all_tables(TablesContext {
            store: store.clone(),
            counters,
            counter_source: source,
            agent: vigil_tables::AgentInfo {
                flags: vigil_tables::FlagSource::live(crate::flags::current),
                ..vigil_tables::AgentInfo::default()
            },
            scope: None,
        });
        let conn = sql::Connection::open(&tables, limits).context("opening SQLite")?;
        Ok(Self {
            conn,
            tables,
            collector,
            _store: store,
            _private_dir: private_dir,
        })
    }

    /// Stops collecting (if this session collects), storing what is already queued.
    pub fn close(mut self) {
        if let Some(detaching) = self.collector.take().and_then(Collector::stop) {
            detaching.wait();
        }
    }
}
