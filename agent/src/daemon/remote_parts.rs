//! The parts that talk to the TLS server: the client (enrollment), the config refresher,
//! distributed queries and the TLS logger. Each starts with a function here; they stop in two
//! steps, the TLS logger last.

use std::{sync::Arc, time::Duration};

use crossbeam_channel::Receiver;
use vigil_events::{Counters, EventStore};

use super::{host::host_identifier, log_plugins::LogPlugins};
use crate::{
    cli::DaemonArgs,
    config::Config,
    remote::{
        client::Remote,
        config::{ConfigRefresher, TlsConfig},
        distributed::{Distributed, DistributedSettings},
        logger::{TlsLogger, TlsLoggerSettings},
    },
    watchdog::worker::Worker,
};

/// The parts that talk to the TLS server.
#[derive(Default)]
pub struct RemoteParts {
    remote: Option<Arc<Remote>>,
    logger: Option<TlsLogger>,
    distributed: Option<Distributed>,
    refresher: Option<ConfigRefresher>,
}

impl RemoteParts {
    /// The TLS client, when a part needs the server (it enrolls on its first request).
    pub fn connect(
        args: &DaemonArgs,
        plugins: LogPlugins,
        store: &Arc<EventStore>,
    ) -> anyhow::Result<Self> {
        let mut parts = Self::default();
        if let Some(needed_for) = remote_needed_for(args, plugins) {
            parts.remote = Some(Arc::new(Remote::new(
                &args.remote,
                needed_for,
                store.clone(),
                host_identifier(args),
                Box::new(crate::remote::host_details),
            )?));
        }
        Ok(parts)
    }

    /// Where the config comes from with `--config_plugin=tls`.
    pub fn config_source(&self, args: &DaemonArgs, store: &Arc<EventStore>) -> Option<TlsConfig> {
        match (&self.remote, args.remote.config_plugin.as_str()) {
            (Some(client), "tls") => Some(TlsConfig {
                remote: client.clone(),
                store: store.clone(),
                endpoint: args.remote.config_tls_endpoint.clone(),
                pack_delimiter: args.events.pack_delimiter.clone(),
            }),
            _ => None,
        }
    }

    /// The TLS logger, with `--logger_plugin=tls`.
    pub fn start_logger(
        &mut self,
        args: &DaemonArgs,
        plugins: LogPlugins,
        store: &Arc<EventStore>,
    ) -> anyhow::Result<()> {
        let (true, Some(client)) = (plugins.tls, &self.remote) else {
            return Ok(());
        };
        self.logger = Some(TlsLogger::spawn(
            client.clone(),
            store.clone(),
            TlsLoggerSettings {
                endpoint: args.remote.logger_tls_endpoint.clone(),
                period: Duration::from_secs(args.remote.logger_tls_period.max(1)),
                max_lines: args.remote.logger_tls_max_lines,
                max_linesize: args.remote.logger_tls_max_linesize,
                compress: args.remote.logger_tls_compress,
                backoff_max: Duration::from_secs(args.remote.logger_tls_backoff_max),
                buffered_max: args.remote.buffered_log_max,
                send_status: !args.remote.tls_disable_status_log,
            },
        )?);
        Ok(())
    }

    /// Distributed queries, unless `--disable_distributed`.
    pub fn start_distributed(
        &mut self,
        args: &DaemonArgs,
        store: &Arc<EventStore>,
        counters: Counters,
        worker: Option<&Worker>,
    ) -> anyhow::Result<()> {
        let (false, Some(client)) = (args.remote.disable_distributed, &self.remote) else {
            return Ok(());
        };
        self.distributed = Some(Distributed::spawn(
            client.clone(),
            store.clone(),
            counters,
            DistributedSettings {
                read_endpoint: args.remote.distributed_tls_read_endpoint.clone(),
                write_endpoint: args.remote.distributed_tls_write_endpoint.clone(),
                interval: Duration::from_secs(args.remote.distributed_interval.max(1)),
                limits: crate::sql::Limits::from_flags(&args.limits),
            },
            worker.and_then(|w| w.previous_end.clone()),
        )?);
        Ok(())
    }

    /// The config refresher: fetches the server's config every `--config_refresh` seconds, and
    /// until it comes when the first attempt failed. Returns where new configs arrive.
    pub fn start_refresher(
        &mut self,
        args: &DaemonArgs,
        source: Option<TlsConfig>,
        current_text: Option<String>,
        fetched: bool,
    ) -> anyhow::Result<Option<Receiver<Config>>> {
        let Some(source) = source else {
            return Ok(None);
        };
        if args.remote.config_refresh == 0 && fetched {
            return Ok(None);
        }
        let (sender, receiver) = crossbeam_channel::bounded(1);
        self.refresher = Some(ConfigRefresher::spawn(
            source,
            current_text,
            fetched,
            Duration::from_secs(args.remote.config_refresh),
            Duration::from_secs(args.remote.config_accelerated_refresh.max(1)),
            sender,
        )?);
        Ok(Some(receiver))
    }

    /// First: nothing new is fetched or run (a running distributed query is interrupted).
    pub fn stop_fetching(&mut self) {
        if let Some(remote) = &self.remote {
            remote.stop();
        }
        if let Some(refresher) = self.refresher.take() {
            refresher.stop();
        }
        if let Some(distributed) = self.distributed.take() {
            distributed.stop();
        }
    }

    /// Last: the TLS logger tries once more to send what the others left.
    pub fn stop_logger(&mut self) {
        if let Some(logger) = self.logger.take() {
            logger.stop();
        }
    }
}

fn remote_needed_for(args: &DaemonArgs, plugins: LogPlugins) -> Option<&'static str> {
    if plugins.tls {
        Some("logger (--logger_plugin=tls)")
    } else if args.remote.config_plugin == "tls" {
        Some("config (--config_plugin=tls)")
    } else if !args.remote.disable_distributed {
        Some("distributed queries (--disable_distributed=false)")
    } else {
        None
    }
}
