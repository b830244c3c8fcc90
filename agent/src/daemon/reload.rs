//! Waiting for the daemon's end, and for configs to reload meanwhile: SIGHUP, an edited config
//! file, or a new config from the TLS server.

use anyhow::Context as _;
use crossbeam_channel::Receiver;

use crate::{config::Config, os};

/// Why the running config is to be replaced.
pub enum Reload {
    /// Read the config file again (SIGHUP, or it changed).
    File(&'static str),
    /// The TLS server sent a different config.
    Remote(Box<Config>),
}

/// How often the config file is checked for changes.
const CONFIG_POLL: std::time::Duration = std::time::Duration::from_secs(2);

/// The config file's modification time, to notice edits.
fn modified(path: Option<&std::path::Path>) -> Option<std::time::SystemTime> {
    std::fs::metadata(path?).ok()?.modified().ok()
}

/// Waits for SIGTERM or SIGINT; on SIGHUP, when the config file changes, or when the TLS server
/// sent a new config, calls `reload`; and with `None` every few seconds, to retry what failed.
pub fn run_until_stopped(
    config_path: Option<&std::path::Path>,
    remote_configs: Option<Receiver<Config>>,
    mut reload: impl FnMut(Option<Reload>),
) -> anyhow::Result<&'static str> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .context("starting the signal handler")?;
    runtime.block_on(async {
        let mut stop = os::StopSignals::new()?;
        let mut hup = os::hangups()?;
        let mut poll = tokio::time::interval(CONFIG_POLL);
        let mut seen = modified(config_path);
        loop {
            tokio::select! {
                signal = stop.recv() => return Ok(signal),
                _ = hup.recv() => {
                    seen = modified(config_path);
                    reload(Some(Reload::File("SIGHUP")));
                }
                _ = poll.tick() => {
                    let now = modified(config_path);
                    if now != seen {
                        seen = now;
                        reload(Some(Reload::File("the config file changed")));
                    }
                    if let Some(config) = remote_configs.as_ref().and_then(|r| r.try_recv().ok()) {
                        reload(Some(Reload::Remote(Box::new(config))));
                    }
                    reload(None);
                }
            }
        }
    })
}
