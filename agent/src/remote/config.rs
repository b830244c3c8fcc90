//! The config from the TLS server (`--config_plugin=tls`): tried once at start, after event
//! collection started (the last good one, kept in the database, stands in when the server cannot
//! be reached), then fetched in the background: again and again until it comes, and every
//! `--config_refresh` seconds; a changed config is handed to the daemon to apply.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::Context as _;
use crossbeam_channel::Sender;
use serde_json::Map;
use vigil_events::EventStore;
use vigil_remote_api::config::ConfigDocument;
use vigil_state::remote::CONFIG_BACKUP;

use super::client::Remote;
use crate::{
    background::Background,
    config::{self, Config, Origin},
};

pub struct TlsConfig {
    pub remote: Arc<Remote>,
    pub store: Arc<EventStore>,
    pub endpoint: String,
    pub pack_delimiter: String,
}

impl TlsConfig {
    /// The server's config document, parsed; also its text, to notice changes. `once`: an
    /// enrollment it needs is tried once, without waiting to retry.
    fn fetch(&self, once: bool) -> anyhow::Result<(Config, String)> {
        let answer = if once {
            self.remote.post_once(&self.endpoint, Map::new())?
        } else {
            self.remote.post(&self.endpoint, Map::new(), false)?
        };
        let ConfigDocument { document, text } = ConfigDocument::from_reply(answer);
        let mut config =
            config::parse(&document, Origin::Server, &self.pack_delimiter).map_err(|e| {
                anyhow::anyhow!(
                    "the config from the server is not valid: {}",
                    e.errors.join("; ")
                )
            })?;
        for warning in &config.warnings {
            tracing::warn!("config from the TLS server: {warning}");
        }
        config.hash = config::hash(&text);
        Ok((config, text))
    }

    fn save_backup(&self, text: &str) {
        let _ = CONFIG_BACKUP.set(&self.store, &text.to_owned());
    }

    /// The last config the server sent, kept in the database: what runs until the server answers.
    pub fn last_good(&self) -> Option<(Config, String)> {
        let kept = CONFIG_BACKUP.get(&self.store).ok().flatten()?;
        let ConfigDocument { document, text } = ConfigDocument::from_kept(kept.as_bytes())?;
        let mut config = config::parse(&document, Origin::Server, &self.pack_delimiter).ok()?;
        config.hash = config::hash(&text);
        Some((config, text))
    }

    /// One attempt at the server's config, bounded by the request timeout (enrollment included,
    /// without retries): the daemon's start waits for nothing longer. `None` when it failed; the
    /// refresher goes on trying in the background.
    pub fn fetch_now(&self) -> Option<(Config, String)> {
        match self.fetch(true) {
            Ok((config, text)) => {
                self.save_backup(&text);
                Some((config, text))
            }
            Err(error) => {
                tracing::warn!(
                    "the config could not be fetched at start; the daemon runs with the last \
                     config the TLS server sent (or none yet) and keeps trying in the \
                     background: {error:#}"
                );
                None
            }
        }
    }
}

pub struct ConfigRefresher(Background);

impl ConfigRefresher {
    /// Fetches every `refresh` (every `accelerated` after a failure, and from the start when
    /// the server did not answer then: `fetched` false) and sends configs that differ from
    /// `current` to `changed`.
    pub fn spawn(
        source: TlsConfig,
        mut current: Option<String>,
        fetched: bool,
        refresh: Duration,
        accelerated: Duration,
        changed: Sender<Config>,
    ) -> anyhow::Result<Self> {
        let thread = Background::spawn("vigil-config", move |stopping| {
            let mut wait = if fetched { refresh } else { accelerated };
            loop {
                let until = Instant::now() + wait;
                while Instant::now() < until {
                    if stopping.is_set() {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                match source.fetch(false) {
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
