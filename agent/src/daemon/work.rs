//! The daemon's work, in the worker: store, loggers, remote parts, collector and schedule, until
//! stopped. [`Parts::start`] starts them in order and [`Parts::stop`] stops them in the order
//! that loses nothing; the two sit side by side, each step a function.

use std::{process::ExitCode, sync::Arc, time::Duration};

use anyhow::Context as _;
use crossbeam_channel::Receiver;
use vigil_events::{Counters, EventStore, EventTable, HandOver, Stopping, store::ReadFloor};
use vigil_state::{Commit, daemon, logs};

use super::{
    heap::HeapRelease,
    host::{host_identifier, hostname, instance_id},
    log_plugins::LogPlugins,
    pipeline_loggers::PipelineLoggers,
    reload::run_until_stopped,
    remote_parts::RemoteParts,
    schedule::Schedule,
};
use crate::{
    cli::DaemonArgs,
    collector::{Applied, Collector},
    config::{self, Config},
    logger::{FilesystemLogger, LoggerSettings},
    remote::config::TlsConfig,
    scheduler::Settings,
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
    let mut commit = Commit::default();
    commit.put(
        &daemon::CONFIG_HASH,
        &config.map(|c| c.hash.clone()).unwrap_or_default(),
    );
    commit.put(&daemon::CONFIG_VALID, &config.is_some());
    if let Err(error) = commit.apply(store) {
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
    let mut parts = Parts::start(args, worker.as_ref())?;
    let signal = parts.run_until_stopped()?;
    parts.stop(worker.as_ref(), signal);
    Ok(ExitCode::SUCCESS)
}

/// The worker's running parts. Dropped without [`stop`](Parts::stop) (an error), they go in
/// the reverse of their start order, as declared here.
struct Parts {
    /// New configs from the TLS server's refresher.
    remote_configs: Option<Receiver<Config>>,
    schedule: Schedule,
    collector: Option<Collector>,
    remote: RemoteParts,
    logger: Option<FilesystemLogger>,
    pipelines: PipelineLoggers,
    store: Arc<EventStore>,
    /// The flags with the running TLS config's options (the connection and the choice of
    /// plugins stay as the command line set them).
    args: DaemonArgs,
}

impl Parts {
    /// Each part starts after what it needs: the store; the loggers before anything that logs;
    /// event collection before the TLS server is asked for a config (events are collected
    /// from the start, whatever the server does); the schedule, distributed queries and config
    /// refreshes last.
    fn start(cli: &DaemonArgs, worker: Option<&Worker>) -> anyhow::Result<Self> {
        let plugins = LogPlugins::parse(&cli.remote.logger_plugin)?;
        let logger_settings = prepare_logger_path(cli)?;
        let file_config = load_file_config(cli)?;
        let store = open_database(cli, plugins)?;
        let logger = start_filesystem_logger(&store, plugins, logger_settings)?;
        let pipelines = PipelineLoggers::start(cli, plugins, &store)?;
        start_status_log(&store, cli, worker);
        let mut remote = RemoteParts::connect(cli, plugins, &store)?;
        let tls_config = remote.config_source(cli, &store);
        let mut running = RunningConfig::before_server(cli, tls_config.as_ref(), file_config);
        let counters = Counters::new(&EventTable::names());
        let read_floor = Arc::new(ReadFloor::default());
        // A worker's kernel side outlives it, for the next worker on the same database.
        let hand_over = worker.map(|_| HandOver::new(&cli.database_path));
        let mut collector = start_collector(
            &running.args,
            running.config.as_ref(),
            &store,
            &counters,
            &read_floor,
            hand_over,
        )?;
        // The BTF parses are over (see `os::tune_malloc_for_start`).
        crate::os::tune_malloc_for_events();
        let fetched = running.ask_server(cli, tls_config.as_ref(), collector.as_mut());
        record_config(&store, running.config.as_ref());
        pipelines.use_config(running.config.as_ref());
        let args = running.args;
        remote.start_logger(&args, plugins, &store)?;
        let mut schedule = Schedule::new(
            store.clone(),
            counters.clone(),
            read_floor,
            scheduler_settings(&args, worker),
            running.config.as_ref(),
        );
        schedule.start(running.config.as_ref())?;
        remote.start_distributed(&args, &store, counters, worker)?;
        let remote_configs = remote.start_refresher(&args, tls_config, running.text, fetched)?;
        tracing::info!(
            database = %args.database_path.display(),
            pid = std::process::id(),
            "vigil daemon running"
        );
        Ok(Self {
            remote_configs,
            schedule,
            collector,
            remote,
            logger,
            pipelines,
            store,
            args,
        })
    }

    /// Nothing new is fetched or run first; then the collector stops (the kernel side is kept
    /// for the next worker when the watchdog restarts this one); the loggers write what is
    /// left before the kernel detaches the probes, which can be slow.
    fn stop(mut self, worker: Option<&Worker>, signal: &str) {
        say_why_stopping(worker, signal);
        self.remote.stop_fetching();
        self.schedule.stop();
        let detaching = stop_collector(self.collector);
        self.remote.stop_logger();
        if let Some(logger) = self.logger {
            logger.stop();
        }
        self.pipelines.stop();
        if let Some(detaching) = detaching {
            detaching.wait();
        }
    }

    /// Until SIGTERM or SIGINT (returned): reloads the config on SIGHUP, when its file changes
    /// or the TLS server sends another, and retries a collection that stopped.
    fn run_until_stopped(&mut self) -> anyhow::Result<&'static str> {
        let watched_file = match self.args.remote.config_plugin.as_str() {
            "tls" => None,
            _ => self.args.events.config_path.as_deref(),
        };
        let mut heap = HeapRelease::new();
        run_until_stopped(watched_file, self.remote_configs.take(), |reload| {
            let Some(reload) = reload else {
                if let Some(collector) = self.collector.as_mut() {
                    collector.retry_if_stopped();
                }
                heap.when_due();
                return;
            };
            let Some(config) = self.schedule.reload(reload, &self.args) else {
                return;
            };
            apply_to_collector(self.collector.as_mut(), &config);
            record_config(&self.store, Some(&config));
            self.pipelines.use_config(Some(&config));
        })
    }
}

// The start steps.

/// Creates `--logger_path`; the settings of the filesystem logger.
fn prepare_logger_path(args: &DaemonArgs) -> anyhow::Result<LoggerSettings> {
    crate::os::create_log_dir(&args.logger_path)
        .with_context(|| format!("creating --logger_path {}", args.logger_path.display()))?;
    let mode = u32::from_str_radix(args.logger_mode.trim_start_matches("0o"), 8)
        .with_context(|| format!("--logger_mode `{}` is not an octal mode", args.logger_mode))?;
    Ok(LoggerSettings {
        path: args.logger_path.clone(),
        mode,
        rotate: args.logger_rotate,
        rotate_size: args.logger_rotate_size,
        rotate_max_files: args.logger_rotate_max_files,
    })
}

/// `--config_path`'s config (none with `--config_plugin=tls`).
fn load_file_config(args: &DaemonArgs) -> anyhow::Result<Option<Config>> {
    if args.remote.config_plugin == "tls" {
        return Ok(None);
    }
    Ok(config::load_optional(
        args.events.config_path.as_deref(),
        &args.events.pack_delimiter,
    )?)
}

/// The store, with this daemon's instance id, queuing lines for the loggers that are on.
fn open_database(args: &DaemonArgs, plugins: LogPlugins) -> anyhow::Result<Arc<EventStore>> {
    let store = Arc::new(open_store(&args.database_path)?);
    instance_id(&store).context("keeping this daemon's instance id")?;
    logs::set_sinks(&store, &plugins.sinks());
    Ok(store)
}

fn start_filesystem_logger(
    store: &Arc<EventStore>,
    plugins: LogPlugins,
    settings: LoggerSettings,
) -> anyhow::Result<Option<FilesystemLogger>> {
    plugins
        .filesystem
        .then(|| FilesystemLogger::spawn(store.clone(), settings))
        .transpose()
}

/// From now on, the daemon's own messages are status lines too.
fn start_status_log(store: &Arc<EventStore>, args: &DaemonArgs, worker: Option<&Worker>) {
    status_log::start(store.clone(), host_identifier(args));
    if let Some(end) = worker.and_then(|w| w.previous_end.as_deref()) {
        tracing::warn!("watchdog: {end}; this worker replaces it");
    }
}

/// The config that runs, and the flags it gives.
struct RunningConfig {
    config: Option<Config>,
    /// The TLS server's text of it, to notice changes.
    text: Option<String>,
    /// The flags with a TLS config's options applied.
    args: DaemonArgs,
}

impl RunningConfig {
    /// What runs until the TLS server answers: the last config it sent (or none yet), or the
    /// config file's.
    fn before_server(
        cli: &DaemonArgs,
        tls_config: Option<&TlsConfig>,
        file_config: Option<Config>,
    ) -> Self {
        let (config, text) = match tls_config {
            Some(source) => source
                .last_good()
                .map_or((None, None), |(c, t)| (Some(c), Some(t))),
            None => (file_config, None),
        };
        let args = match (tls_config, &config) {
            (Some(_), Some(config)) => with_remote_options(cli, config),
            _ => cli.clone(),
        };
        Self { config, text, args }
    }

    /// One attempt at the server's config, bounded by --tls_request_timeout (then in the
    /// background); a new one applies to the collection's file paths and event switches.
    /// Returns whether the server answered (true without a server).
    fn ask_server(
        &mut self,
        cli: &DaemonArgs,
        tls_config: Option<&TlsConfig>,
        collector: Option<&mut Collector>,
    ) -> bool {
        let collected_with = self.args.events.clone();
        let fetched = match tls_config {
            Some(source) => match source.fetch_now() {
                Some((fresh, text)) => {
                    if self.text.as_deref() != Some(text.as_str()) {
                        self.args = with_remote_options(cli, &fresh);
                        apply_to_collector(collector, &fresh);
                        self.config = Some(fresh);
                        self.text = Some(text);
                    }
                    true
                }
                None => false,
            },
            None => true,
        };
        if collection_differs(&self.args.events, &collected_with) {
            tracing::warn!(
                "the TLS server's config changes how events are collected (events_*, bpf_* \
                 options); that applies when the daemon (or its worker) starts again"
            );
        }
        fetched
    }
}

fn scheduler_settings(args: &DaemonArgs, worker: Option<&Worker>) -> Settings {
    Settings {
        host_identifier: host_identifier(args),
        hostname: hostname(),
        numerics: args.logger_numerics,
        event_format: args.logger_event_type,
        snapshot_event_format: args.logger_snapshot_event_type,
        epoch: args.schedule_epoch,
        splay_percent: args.schedule_splay_percent,
        decorations_top_level: args.decorations_top_level,
        watcher: worker.map(|w| w.watcher),
        previous_worker_end: worker.and_then(|w| w.previous_end.clone()),
        max_event_rows: usize::try_from(args.schedule_max_event_rows).unwrap_or(usize::MAX),
    }
}

// The stop steps.

fn say_why_stopping(worker: Option<&Worker>, signal: &str) {
    match worker {
        Some(w) if watchdog::worker::watcher_gone(w.watcher) => {
            tracing::error!(
                watcher = w.watcher,
                "the watcher is gone; this worker stops"
            );
        }
        _ => tracing::info!(signal, "stopping"),
    }
}

/// Stops collecting; returns the kernel side's detaching to wait for, unless the watcher
/// restarts this worker (the kernel side keeps recording for the next one meanwhile).
fn stop_collector(collector: Option<Collector>) -> Option<Stopping> {
    let collector = collector?;
    if watchdog::worker::blamed() {
        collector.stop_keeping_kernel_side();
        None
    } else {
        collector.stop()
    }
}
