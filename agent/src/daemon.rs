//! `vigil daemon`: collect events in the background until SIGTERM or SIGINT.

use std::{os::unix::fs::DirBuilderExt, process::ExitCode, sync::Arc};

use anyhow::{Context as _, bail};
use vigil_events::{Counters, EventStore, EventTable, linux::ebpf::pins, store::ReadFloor};

use crate::{
    cli::DaemonArgs,
    collector::Collector,
    config,
    logger::{FilesystemLogger, LoggerSettings},
    pidfile::PidFile,
    scheduler::{Scheduler, Settings},
    session::{Events, Session},
    sql, status_log,
    watchdog::{self, worker::Worker},
};

/// How long a new worker waits for the database lock a stopping worker still holds.
const DATABASE_LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(20);

/// Opens the store; a worker whose predecessor is still stopping (its watcher was killed, and
/// a new daemon started at once) waits for the lock to be released.
fn open_store(path: &std::path::Path) -> anyhow::Result<EventStore> {
    let deadline = std::time::Instant::now() + DATABASE_LOCK_WAIT;
    loop {
        match EventStore::open_primary(path) {
            Err(vigil_events::StoreError::Locked { .. })
                if std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(250));
            }
            other => return Ok(other?),
        }
    }
}

/// How often the config file is checked for changes.
const CONFIG_POLL: std::time::Duration = std::time::Duration::from_secs(2);

/// The config file's modification time, to notice edits.
fn modified(path: Option<&std::path::Path>) -> Option<std::time::SystemTime> {
    std::fs::metadata(path?).ok()?.modified().ok()
}

/// Waits for SIGTERM or SIGINT; on SIGHUP, or when the config file changes, calls `reload`.
fn run_until_stopped(
    config_path: Option<&std::path::Path>,
    mut reload: impl FnMut(&str),
) -> anyhow::Result<&'static str> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .context("starting the signal handler")?;
    runtime.block_on(async {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        let mut hup = signal(SignalKind::hangup())?;
        let mut poll = tokio::time::interval(CONFIG_POLL);
        let mut seen = modified(config_path);
        loop {
            tokio::select! {
                _ = term.recv() => return Ok("SIGTERM"),
                _ = int.recv() => return Ok("SIGINT"),
                _ = hup.recv() => {
                    seen = modified(config_path);
                    reload("SIGHUP");
                }
                _ = poll.tick() => {
                    let now = modified(config_path);
                    if now != seen {
                        seen = now;
                        reload("the config file changed");
                    }
                }
            }
        }
    })
}

/// Every scheduled query and decorator, prepared against vigil's tables: SQL errors named by the
/// config path of the query.
fn sql_problems(config: &config::Config) -> anyhow::Result<Vec<String>> {
    let session = Session::open(Events::None)?;
    let mut problems = Vec::new();
    let mut check = |path: String, sql: &str| {
        if let Err(error) = session.conn.prepare(sql) {
            problems.push(format!("{path}: {}", sql::message(&error)));
        }
    };
    for (name, query) in &config.schedule {
        check(format!("schedule.{name}.query"), &query.query);
    }
    let d = &config.decorators;
    for (i, sql) in d.load.iter().enumerate() {
        check(format!("decorators.load[{i}]"), sql);
    }
    for (i, sql) in d.always.iter().enumerate() {
        check(format!("decorators.always[{i}]"), sql);
    }
    for (seconds, queries) in &d.interval {
        for (i, sql) in queries.iter().enumerate() {
            check(format!("decorators.interval.{seconds}[{i}]"), sql);
        }
    }
    Ok(problems)
}

/// `--config_check` and `--config_dump`: read the config, report, and stop.
fn check_or_dump(args: &DaemonArgs) -> anyhow::Result<ExitCode> {
    let Some(path) = args.events.config_path.as_deref() else {
        bail!("--config_check and --config_dump need --config_path");
    };
    let config = match config::load(path, &args.events.pack_delimiter) {
        Ok(config) => config,
        Err(error) => {
            for line in &error.errors {
                eprintln!("error: {line}");
            }
            return Ok(ExitCode::FAILURE);
        }
    };
    for warning in &config.warnings {
        eprintln!("warning: {warning}");
    }
    if args.config_dump {
        println!("{}", serde_json::to_string_pretty(&config::dump(&config))?);
        return Ok(ExitCode::SUCCESS);
    }
    let problems = sql_problems(&config)?;
    for problem in &problems {
        eprintln!("error: {problem}");
    }
    if problems.is_empty() {
        let here = config
            .schedule
            .values()
            .filter(|q| q.runs_on_linux())
            .count();
        println!(
            "{}: valid ({} scheduled queries, {here} for this platform)",
            path.display(),
            config.schedule.len()
        );
        Ok(ExitCode::SUCCESS)
    } else {
        Ok(ExitCode::FAILURE)
    }
}

pub fn run(args: DaemonArgs) -> anyhow::Result<ExitCode> {
    if args.config_check || args.config_dump {
        return check_or_dump(&args);
    }
    let worker = Worker::from_env()?;
    if worker.is_some() || args.watchdog.disable_watchdog {
        abort_on_panic();
    }
    match worker {
        Some(worker) => {
            worker.bind_to_watcher()?;
            run_worker(&args, Some(worker))
        }
        None if args.watchdog.disable_watchdog => {
            // Without a watcher, this process holds the pid file.
            let _pidfile = PidFile::acquire(&args.pidfile)?;
            run_worker(&args, None)
        }
        None => watchdog::watch(&args),
    }
}

/// A panic on any thread ends the process: a worker whose scheduler or writer thread died would
/// otherwise run on without it. The watcher (or the service manager) starts a new one.
fn abort_on_panic() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let thread = std::thread::current();
        tracing::error!(
            thread = thread.name().unwrap_or("unnamed"),
            "panic: {info}; the worker stops (a new one is started)"
        );
        default(info);
        std::process::abort();
    }));
}

/// The daemon's work: publishers, store, scheduler and loggers, until stopped.
fn run_worker(args: &DaemonArgs, worker: Option<Worker>) -> anyhow::Result<ExitCode> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o750)
        .create(&args.logger_path)
        .with_context(|| format!("creating --logger_path {}", args.logger_path.display()))?;
    let logger_mode = u32::from_str_radix(args.logger_mode.trim_start_matches("0o"), 8)
        .with_context(|| format!("--logger_mode `{}` is not an octal mode", args.logger_mode))?;
    let config = config::load_optional(
        args.events.config_path.as_deref(),
        &args.events.pack_delimiter,
    )?;
    let store = Arc::new(open_store(&args.database_path)?);
    let counters = Counters::new(&EventTable::names());
    let read_floor = Arc::new(ReadFloor::default());
    let reload_floor = read_floor.clone();
    let reload_counters = counters.clone();
    let logger = FilesystemLogger::spawn(
        store.clone(),
        LoggerSettings {
            path: args.logger_path.clone(),
            mode: logger_mode,
            rotate: args.logger_rotate,
            rotate_size: args.logger_rotate_size,
            rotate_max_files: args.logger_rotate_max_files,
        },
    )?;
    status_log::start(store.clone(), host_identifier(args));
    if let Some(end) = worker.as_ref().and_then(|w| w.previous_end.as_deref()) {
        tracing::warn!("watchdog: {end}; this worker replaces it");
    }
    let collector = if args.disable_events {
        tracing::info!("events are disabled (--disable_events)");
        None
    } else {
        Some(Collector::start(
            store.clone(),
            counters.clone(),
            &args.events,
            config.as_ref(),
            Some(read_floor.clone()),
            worker.as_ref().map(|_| pin_dir(&args.database_path)),
        )?)
    };
    let scheduler_settings = Settings {
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
    };
    let scheduler = match &config {
        Some(config) if !config.schedule.is_empty() => Some(Scheduler::spawn(
            store.clone(),
            counters,
            read_floor,
            config,
            scheduler_settings.clone(),
        )?),
        _ => None,
    };
    tracing::info!(
        database = %args.database_path.display(),
        pid = std::process::id(),
        "vigil daemon running"
    );
    let mut scheduler = scheduler;
    let signal = run_until_stopped(args.events.config_path.as_deref(), |why| {
        let Some(path) = args.events.config_path.as_deref() else {
            return;
        };
        // A bad config is rejected whole; the last good one keeps running.
        match config::load(path, &args.events.pack_delimiter) {
            Err(error) => tracing::error!(
                reason = why,
                "config reload rejected, the previous config keeps running: {}",
                error.errors.join("; ")
            ),
            Ok(config) => {
                for warning in &config.warnings {
                    tracing::warn!("config {}: {warning}", path.display());
                }
                if let Some(old) = scheduler.take() {
                    old.stop();
                }
                scheduler = if config.schedule.is_empty() {
                    None
                } else {
                    match Scheduler::spawn(
                        store.clone(),
                        reload_counters.clone(),
                        reload_floor.clone(),
                        &config,
                        scheduler_settings.clone(),
                    ) {
                        Ok(s) => Some(s),
                        Err(error) => {
                            tracing::error!(%error, "the scheduler could not restart");
                            None
                        }
                    }
                };
                tracing::info!(
                    reason = why,
                    queries = config.schedule.len(),
                    "config reloaded (file paths and event switches apply at the next start)"
                );
            }
        }
    })?;
    tracing::info!(signal, "stopping");
    if let Some(scheduler) = scheduler {
        scheduler.stop();
    }
    if let Some(collector) = collector {
        if watchdog::worker::blamed() {
            // The watcher restarts this worker: the kernel side keeps recording meanwhile.
            collector.stop_keeping_kernel_side();
        } else {
            collector.stop();
        }
    }
    logger.stop();
    Ok(ExitCode::SUCCESS)
}

/// Where a worker pins its kernel programs so they outlive it: one directory per database.
fn pin_dir(database: &std::path::Path) -> std::path::PathBuf {
    use std::os::unix::ffi::OsStrExt as _;
    let database = database
        .canonicalize()
        .unwrap_or_else(|_| database.to_owned());
    let id = pins::fnv1a(&[database.as_os_str().as_bytes()]);
    std::path::Path::new(pins::BPFFS)
        .join("vigil")
        .join(format!("{id:016x}"))
}

/// `--host_identifier`: the value result lines carry as `hostIdentifier`.
fn host_identifier(args: &DaemonArgs) -> String {
    match args.host_identifier.as_str() {
        "uuid" => vigil_tables::snapshot::util::host_uuid().unwrap_or_default(),
        "specified" => args.specified_identifier.clone(),
        _ => hostname(),
    }
}

fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most `buf.len()` bytes into `buf`.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    if rc == 0 {
        String::from_utf8_lossy(&buf[..end]).into_owned()
    } else {
        String::new()
    }
}
