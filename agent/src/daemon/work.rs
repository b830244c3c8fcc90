//! The daemon's work, in the worker: store, loggers, remote parts, collector and schedule, until
//! stopped.

use std::{os::unix::fs::DirBuilderExt, process::ExitCode, sync::Arc, time::Duration};

use anyhow::{Context as _, bail};
use vigil_events::{
    Counters, EventStore, EventTable, HandOver,
    store::{ReadFloor, log_sink},
};

use super::{
    host::{host_identifier, hostname, instance_id},
    reload::{Reload, run_until_stopped},
};
use crate::{
    cli::DaemonArgs,
    collector::{Applied, Collector},
    config::{self, Config},
    logger::{FilesystemLogger, LoggerSettings},
    remote::{
        client::Remote,
        config::{ConfigRefresher, TlsConfig},
        distributed::{Distributed, DistributedSettings},
        logger::{TlsLogger, TlsLoggerSettings},
    },
    scheduler::{Scheduler, Settings},
    status_log,
    watchdog::{self, worker::Worker},
};

/// How long a new worker waits for the database lock a stopping worker still holds.
const DATABASE_LOCK_WAIT: Duration = Duration::from_secs(20);

/// Opens the store; a worker whose predecessor is still stopping (its watcher was killed, and
/// a new daemon started at once) waits for the lock to be released.
fn open_store(path: &std::path::Path) -> anyhow::Result<EventStore> {
    let deadline = std::time::Instant::now() + DATABASE_LOCK_WAIT;
    loop {
        match EventStore::open_primary(path) {
            Err(vigil_events::StoreError::Locked { .. })
                if std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(250));
            }
            other => return Ok(other?),
        }
    }
}

/// `--logger_plugin`: which sinks get result and status lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct LogPlugins {
    filesystem: bool,
    tls: bool,
}

impl LogPlugins {
    fn parse(text: &str) -> anyhow::Result<Self> {
        let mut plugins = Self {
            filesystem: false,
            tls: false,
        };
        for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            match name {
                "filesystem" => plugins.filesystem = true,
                "tls" => plugins.tls = true,
                other => bail!(
                    "--logger_plugin: unknown plugin `{other}`; vigil has `filesystem` and `tls` \
                     (both: `filesystem,tls`)"
                ),
            }
        }
        if !plugins.filesystem && !plugins.tls {
            bail!("--logger_plugin is empty; give `filesystem`, `tls` or `filesystem,tls`");
        }
        Ok(plugins)
    }

    fn sinks(self) -> Vec<u8> {
        let mut sinks = Vec::new();
        if self.filesystem {
            sinks.push(log_sink::FILESYSTEM);
        }
        if self.tls {
            sinks.push(log_sink::TLS);
        }
        sinks
    }
}

/// The scheduler of the config that is running, replaced when a new config arrives.
struct Schedule {
    scheduler: Option<Scheduler>,
    store: Arc<EventStore>,
    counters: Counters,
    read_floor: Arc<ReadFloor>,
    settings: Settings,
    /// The running config's `options`: flags are set at start, so changes wait for the next.
    options: std::collections::BTreeMap<String, serde_json::Value>,
}

impl Schedule {
    fn start(&mut self, config: Option<&Config>) -> anyhow::Result<()> {
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
    fn reload(&mut self, reload: Reload, args: &DaemonArgs) -> Option<Config> {
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

    fn stop(self) {
        if let Some(scheduler) = self.scheduler {
            scheduler.stop();
        }
    }
}

/// The parts that talk to the TLS server.
#[derive(Default)]
struct RemoteParts {
    remote: Option<Arc<Remote>>,
    logger: Option<TlsLogger>,
    distributed: Option<Distributed>,
    refresher: Option<ConfigRefresher>,
}

impl RemoteParts {
    fn stop_fetching(&mut self) {
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
    fn stop_logger(&mut self) {
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

/// The flags with a TLS config's `options` applied where the command line is silent (a file
/// config's were applied before the daemon started).
fn with_remote_options(args: &DaemonArgs, config: &Config) -> DaemonArgs {
    let applied = crate::flags::expand_flagfiles(std::env::args_os().collect())
        .and_then(|argv| crate::flags::with_options(&argv, &config.options));
    let mut effective = match applied {
        Ok((cli, warnings)) => {
            for warning in warnings {
                tracing::warn!("config from the TLS server: {warning}");
            }
            match cli.map(|cli| cli.command) {
                Some(crate::cli::Command::Daemon(daemon)) => *daemon,
                _ => args.clone(),
            }
        }
        Err(error) => {
            tracing::error!("config from the TLS server: its options are ignored: {error:#}");
            args.clone()
        }
    };
    for warning in super::bounds::apply(&mut effective) {
        tracing::warn!("config from the TLS server: {warning}");
    }
    effective
}

/// What `osquery_info` says of the running config: its hash, and whether a valid one runs.
fn record_config(store: &EventStore, config: Option<&Config>) {
    use vigil_tables::agent::vigil_info::{CONFIG_HASH_KEY, CONFIG_VALID_KEY};
    let (hash, valid) = match config {
        Some(config) => (config.hash.as_str(), "1"),
        None => ("", "0"),
    };
    if let Err(error) = store.commit_state(vigil_events::store::StateBatch {
        puts: vec![
            (CONFIG_HASH_KEY.to_vec(), hash.as_bytes().to_vec()),
            (CONFIG_VALID_KEY.to_vec(), valid.as_bytes().to_vec()),
        ],
        ..Default::default()
    }) {
        tracing::warn!(%error, "the running config's hash could not be recorded");
    }
}

/// Whether event settings differ in what a running collection was started with.
fn collection_differs(a: &crate::cli::EventArgs, b: &crate::cli::EventArgs) -> bool {
    (
        a.bpf_ringbuf_size,
        a.bpf_argv_limit,
        a.events_channel_size,
        a.events_expiry,
        a.events_max,
    ) != (
        b.bpf_ringbuf_size,
        b.bpf_argv_limit,
        b.events_channel_size,
        b.events_expiry,
        b.events_max,
    )
}

/// Starts collecting events, unless `--disable_events`.
fn start_collector(
    args: &DaemonArgs,
    config: Option<&Config>,
    store: &Arc<EventStore>,
    counters: &Counters,
    read_floor: &Arc<ReadFloor>,
    hand_over: Option<HandOver>,
) -> anyhow::Result<Option<Collector>> {
    if args.disable_events {
        tracing::info!("events are disabled (--disable_events)");
        return Ok(None);
    }
    let collector = Collector::start(
        store.clone(),
        counters.clone(),
        &args.events,
        config,
        Some(read_floor.clone()),
        hand_over,
    )?;
    Ok(Some(collector))
}

/// A new config's file paths and event switches, applied to the running collection.
fn apply_to_collector(collector: Option<&mut Collector>, config: &Config) {
    let Some(collector) = collector else {
        return;
    };
    match collector.reconfigure(Some(config)) {
        Applied::New => tracing::info!("file paths and event switches of the new config apply"),
        Applied::Unchanged => {}
        Applied::KeptPrevious(error) => tracing::error!(
            "the new config's file paths and event switches could not be applied; the \
             previous ones stay: {error:#}"
        ),
        Applied::Stopped(error) => tracing::error!(
            "event collection stopped: the new config's probes could not be started, {error:#}; \
             vigil_events.active is 0 until it resumes, tried again every few seconds"
        ),
    }
}

pub fn run(args: &DaemonArgs, worker: Option<Worker>) -> anyhow::Result<ExitCode> {
    let plugins = LogPlugins::parse(&args.remote.logger_plugin)?;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o750)
        .create(&args.logger_path)
        .with_context(|| format!("creating --logger_path {}", args.logger_path.display()))?;
    let logger_mode = u32::from_str_radix(args.logger_mode.trim_start_matches("0o"), 8)
        .with_context(|| format!("--logger_mode `{}` is not an octal mode", args.logger_mode))?;
    let file_config = if args.remote.config_plugin == "tls" {
        None
    } else {
        config::load_optional(
            args.events.config_path.as_deref(),
            &args.events.pack_delimiter,
        )?
    };
    let store = Arc::new(open_store(&args.database_path)?);
    instance_id(&store).context("keeping this daemon's instance id")?;
    store.set_log_sinks(&plugins.sinks());
    let counters = Counters::new(&EventTable::names());
    let read_floor = Arc::new(ReadFloor::default());
    let logger = plugins
        .filesystem
        .then(|| {
            FilesystemLogger::spawn(
                store.clone(),
                LoggerSettings {
                    path: args.logger_path.clone(),
                    mode: logger_mode,
                    rotate: args.logger_rotate,
                    rotate_size: args.logger_rotate_size,
                    rotate_max_files: args.logger_rotate_max_files,
                },
            )
        })
        .transpose()?;
    status_log::start(store.clone(), host_identifier(args));
    if let Some(end) = worker.as_ref().and_then(|w| w.previous_end.as_deref()) {
        tracing::warn!("watchdog: {end}; this worker replaces it");
    }

    let mut remote = RemoteParts::default();
    if let Some(needed_for) = remote_needed_for(args, plugins) {
        remote.remote = Some(Arc::new(Remote::new(
            &args.remote,
            needed_for,
            store.clone(),
            host_identifier(args),
            Box::new(crate::remote::host_details),
        )?));
    }
    let tls_config = match (&remote.remote, args.remote.config_plugin.as_str()) {
        (Some(client), "tls") => Some(TlsConfig {
            remote: client.clone(),
            store: store.clone(),
            endpoint: args.remote.config_tls_endpoint.clone(),
            pack_delimiter: args.events.pack_delimiter.clone(),
        }),
        _ => None,
    };
    // Events are collected from the start, whatever the TLS server does: with the last config it
    // sent (or none yet) until it answers.
    let (mut config, mut config_text) = match &tls_config {
        Some(source) => source
            .last_good()
            .map_or((None, None), |(c, t)| (Some(c), Some(t))),
        None => (file_config, None),
    };
    let mut effective = match (&tls_config, &config) {
        (Some(_), Some(config)) => with_remote_options(args, config),
        _ => args.clone(),
    };
    // A worker's kernel side outlives it, for the next worker on the same database.
    let hand_over = worker.as_ref().map(|_| HandOver::new(&args.database_path));
    let mut collector = start_collector(
        &effective,
        config.as_ref(),
        &store,
        &counters,
        &read_floor,
        hand_over,
    )?;
    let collected_with = effective.events.clone();
    // One attempt at the server's config, bounded by --tls_request_timeout; then in the
    // background.
    let fetched = match &tls_config {
        Some(source) => match source.fetch_now() {
            Some((fresh, text)) => {
                if config_text.as_deref() != Some(text.as_str()) {
                    effective = with_remote_options(args, &fresh);
                    apply_to_collector(collector.as_mut(), &fresh);
                    config = Some(fresh);
                    config_text = Some(text);
                }
                true
            }
            None => false,
        },
        None => true,
    };
    if collection_differs(&effective.events, &collected_with) {
        tracing::warn!(
            "the TLS server's config changes how events are collected (events_*, bpf_* \
             options); that applies when the daemon (or its worker) starts again"
        );
    }
    record_config(&store, config.as_ref());
    // Everything from here on runs with the TLS config's options too (the connection and the
    // choice of plugins stay as the command line set them).
    let args = &effective;
    if let (true, Some(client)) = (plugins.tls, &remote.remote) {
        remote.logger = Some(TlsLogger::spawn(
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
    }
    let mut schedule = Schedule {
        scheduler: None,
        store: store.clone(),
        counters: counters.clone(),
        read_floor,
        settings: Settings {
            host_identifier: host_identifier(args),
            hostname: hostname(),
            numerics: args.logger_numerics,
            event_format: args.logger_event_type,
            snapshot_event_format: args.logger_snapshot_event_type,
            epoch: args.schedule_epoch,
            splay_percent: args.schedule_splay_percent,
            decorations_top_level: args.decorations_top_level,
            watcher: worker.as_ref().map(|w| w.watcher),
            previous_worker_end: worker.as_ref().and_then(|w| w.previous_end.clone()),
            max_event_rows: usize::try_from(args.schedule_max_event_rows).unwrap_or(usize::MAX),
        },
        options: config
            .as_ref()
            .map(|c| c.options.clone())
            .unwrap_or_default(),
    };
    schedule.start(config.as_ref())?;

    if let (false, Some(client)) = (args.remote.disable_distributed, &remote.remote) {
        remote.distributed = Some(Distributed::spawn(
            client.clone(),
            store.clone(),
            counters,
            DistributedSettings {
                read_endpoint: args.remote.distributed_tls_read_endpoint.clone(),
                write_endpoint: args.remote.distributed_tls_write_endpoint.clone(),
                interval: Duration::from_secs(args.remote.distributed_interval.max(1)),
                limits: crate::sql::Limits::from_flags(&args.limits),
            },
            worker.as_ref().and_then(|w| w.previous_end.clone()),
        )?);
    }
    let mut remote_configs = None;
    if let Some(source) = tls_config
        && (args.remote.config_refresh > 0 || !fetched)
    {
        let (sender, receiver) = crossbeam_channel::bounded(1);
        remote.refresher = Some(ConfigRefresher::spawn(
            source,
            config_text,
            fetched,
            Duration::from_secs(args.remote.config_refresh),
            Duration::from_secs(args.remote.config_accelerated_refresh.max(1)),
            sender,
        )?);
        remote_configs = Some(receiver);
    }

    tracing::info!(
        database = %args.database_path.display(),
        pid = std::process::id(),
        "vigil daemon running"
    );
    let watched_file = match args.remote.config_plugin.as_str() {
        "tls" => None,
        _ => args.events.config_path.as_deref(),
    };
    let signal = run_until_stopped(watched_file, remote_configs, |reload| {
        let Some(reload) = reload else {
            if let Some(collector) = collector.as_mut() {
                collector.retry_if_stopped();
            }
            return;
        };
        let Some(config) = schedule.reload(reload, args) else {
            return;
        };
        apply_to_collector(collector.as_mut(), &config);
        record_config(&store, Some(&config));
    })?;
    match &worker {
        Some(w) if watchdog::worker::watcher_gone(w.watcher) => {
            tracing::error!(
                watcher = w.watcher,
                "the watcher is gone; this worker stops"
            );
        }
        _ => tracing::info!(signal, "stopping"),
    }
    remote.stop_fetching();
    schedule.stop();
    let detaching = collector.and_then(|collector| {
        if watchdog::worker::blamed() {
            // The watcher restarts this worker: the kernel side keeps recording meanwhile.
            collector.stop_keeping_kernel_side();
            None
        } else {
            collector.stop()
        }
    });
    // Lines are written before waiting for the kernel to detach the probes, which can be slow.
    remote.stop_logger();
    if let Some(logger) = logger {
        logger.stop();
    }
    if let Some(detaching) = detaching {
        detaching.wait();
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logger_plugins_are_a_comma_list_of_known_names() {
        let both = LogPlugins::parse("filesystem,tls").expect("both");
        assert_eq!(both.sinks(), vec![log_sink::FILESYSTEM, log_sink::TLS]);
        assert_eq!(
            LogPlugins::parse(" tls ").expect("tls").sinks(),
            vec![log_sink::TLS]
        );
        let unknown = LogPlugins::parse("filesystem,kafka").expect_err("unknown");
        assert!(unknown.to_string().contains("`kafka`"), "{unknown}");
        assert!(LogPlugins::parse("").is_err());
    }
}
