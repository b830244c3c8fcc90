//! The schedule of the running config: started with the worker, replaced when a new config
//! arrives.

use std::sync::Arc;

use vigil_events::{Counters, EventStore, store::ReadFloor};

use super::reload::Reload;
use crate::{
    cli::DaemonArgs,
    config::{self, Config},
    scheduler::{Scheduler, Settings},
};

/// The scheduler of the config that is running, replaced when a new config arrives.
pub struct Schedule {
    scheduler: Option<Scheduler>,
    store: Arc<EventStore>,
    counters: Counters,
    read_floor: Arc<ReadFloor>,
    settings: Settings,
    /// The running config's `options`: flags are set at start, so changes wait for the next.
    options: std::collections::BTreeMap<String, serde_json::Value>,
}

impl Schedule {
    /// Nothing runs until [`start`](Self::start).
    pub fn new(
        store: Arc<EventStore>,
        counters: Counters,
        read_floor: Arc<ReadFloor>,
        settings: Settings,
        config: Option<&Config>,
    ) -> Self {
        Self {
            scheduler: None,
            store,
            counters,
            read_floor,
            settings,
            options: config.map(|c| c.options.clone()).unwrap_or_default(),
        }
    }

    pub fn start(&mut self, config: Option<&Config>) -> anyhow::Result<()> {
        if let Some(old) = self.scheduler.take() {
            old.stop();
        }
        self.scheduler = match config {
            Some(config) if !config.schedule.is_empty() => Some(Scheduler::spawn(
                self.store.clone(),
                self.counters.clone(),
                self.read_floor.clone(),
                config,
                self.settings.clone(),
            )?),
            _ => {
                // Nothing reads event tables: expiry by age applies to all of them.
                self.read_floor.release_all();
                None
            }
        };
        Ok(())
    }

    /// Runs `config` from now on; a config that does not load leaves the running one. Returns
    /// the config now running, if it changed.
    pub fn reload(&mut self, reload: Reload, args: &DaemonArgs) -> Option<Config> {
        let (config, why) = match reload {
            Reload::Remote(config) => (*config, "the TLS server sent a new config"),
            Reload::File(why) => {
                if args.remote.config_plugin == "tls" {
                    return None;
                }
                let path = args.events.config_path.as_deref()?;
                match config::load(path, &args.events.pack_delimiter) {
                    Ok(config) => {
                        for warning in &config.warnings {
                            tracing::warn!("config {}: {warning}", path.display());
                        }
                        (config, why)
                    }
                    Err(error) => {
                        tracing::error!(
                            reason = why,
                            "config reload rejected, the previous config keeps running: {}",
                            error.errors.join("; ")
                        );
                        return None;
                    }
                }
            }
        };
        if let Err(error) = self.start(Some(&config)) {
            tracing::error!(%error, "the scheduler could not restart");
        }
        let changed: Vec<&String> = config
            .options
            .iter()
            .filter(|(key, value)| self.options.get(*key) != Some(value))
            .map(|(key, _)| key)
            .chain(
                self.options
                    .keys()
                    .filter(|k| !config.options.contains_key(*k)),
            )
            .collect();
        if !changed.is_empty() {
            tracing::warn!(
                "config options changed ({}); flags are read at start, so they apply when the \
                 daemon (or its worker) starts again",
                changed
                    .iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        tracing::info!(
            reason = why,
            queries = config.schedule.len(),
            "config reloaded"
        );
        Some(config)
    }

    pub fn stop(self) {
        if let Some(scheduler) = self.scheduler {
            scheduler.stop();
        }
    }
}
