//! The config from the TLS server (`--config_plugin=tls`): fetched at start (the last good one,
//! kept in the database, stands in when the server cannot be reached) and every
//! `--config_refresh` seconds; a changed config is handed to the daemon to apply.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context as _;
use crossbeam_channel::Sender;
use serde_json::{Map, Value};
use vigil_events::{EventStore, store::StateBatch};

use super::client::Remote;
use crate::{
    background::Background,
    config::{self, Config, Origin},
};

const BACKUP_KEY: &[u8] = b"config_backup";
/// Attempts at start before the backup is used (osquery's `--config_tls_max_attempts`).
const START_ATTEMPTS: u32 = 3;

pub struct TlsConfig {
    pub remote: Arc<Remote>,
    pub store: Arc<EventStore>,
    pub endpoint: String,
    pub pack_delimiter: String,
}

impl TlsConfig {
    /// The server's config document, parsed; also its text, to notice changes.
    fn fetch(&self) -> anyhow::Result<(Config, String)> {
        let mut answer = self.remote.post(&self.endpoint, Map::new(), false)?;
        answer.remove("node_invalid");
        let document = Value::Object(answer);
        let config =
            config::parse(&document, Origin::Server, &self.pack_delimiter).map_err(|e| {
                anyhow::anyhow!(
                    "the config from the server is not valid: {}",
                    e.errors.join("; ")
                )
            })?;
        for warning in &config.warnings {
            tracing::warn!("config from the TLS server: {warning}");
        }
        Ok((config, document.to_string()))
    }

    fn save_backup(&self, text: &str) {
        let _ = self.store.commit_state(StateBatch {
            puts: vec![(BACKUP_KEY.to_vec(), text.as_bytes().to_vec())],
            ..StateBatch::default()
        });
    }

    fn backup(&self) -> Option<(Config, String)> {
        let bytes = self.store.get_state(BACKUP_KEY).ok().flatten()?;
        let document: Value = serde_json::from_slice(&bytes).ok()?;
        let config = config::parse(&document, Origin::Server, &self.pack_delimiter).ok()?;
        Some((config, document.to_string()))
    }

    /// The config to start with: the server's, or the last good one, or none (the daemon then
    /// starts without a schedule and keeps asking).
    pub fn initial(&self) -> (Option<Config>, Option<String>) {
        for attempt in 1..=START_ATTEMPTS {
            match self.fetch() {
                Ok((config, text)) => {
                    self.save_backup(&text);
                    return (Some(config), Some(text));
                }
                Err(error) if attempt < START_ATTEMPTS => {
                    tracing::warn!(attempt, "fetching the config failed: {error:#}");
                    std::thread::sleep(Duration::from_secs(u64::from(attempt).pow(2)));
                }
                Err(error) => tracing::error!("fetching the config failed: {error:#}"),
            }
        }
        match self.backup() {
            Some((config, text)) => {
                tracing::warn!("starting with the last config the TLS server sent");
                (Some(config), Some(text))
            }
            None => (None, None),
        }
    }
}

pub struct ConfigRefresher(Background);

impl ConfigRefresher {
    /// Fetches every `refresh` (every `accelerated` after a failure) and sends configs that
    /// changed to `changed`.
    pub fn spawn(
        source: TlsConfig,
        mut current: Option<String>,
        refresh: Duration,
        accelerated: Duration,
        changed: Sender<Config>,
    ) -> anyhow::Result<Self> {
        let thread = Background::spawn("vigil-config", move |stopping| {
            let mut wait = if current.is_some() {
                refresh
            } else {
                accelerated
            };
            loop {
                let until = Instant::now() + wait;
                while Instant::now() < until {
                    if stopping.is_set() {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                match source.fetch() {
                    Ok((config, text)) => {
                        wait = refresh;
                        if current.as_deref() != Some(text.as_str()) {
                            source.save_backup(&text);
                            current = Some(text);
                            if changed.send(config).is_err() {
                                return;
                            }
                        }
                        if refresh.is_zero() {
                            // Fetched once, as --config_refresh=0 asks.
                            return;
                        }
                    }
                    Err(error) => {
                        wait = accelerated;
                        tracing::warn!(
                            "refreshing the config failed, the current one keeps running; next \
                             attempt in {} s: {error:#}",
                            wait.as_secs()
                        );
                    }
                }
            }
        })
        .context("starting the config refresh")?;
        Ok(Self(thread))
    }

    pub fn stop(self) {
        self.0.stop();
    }
}
