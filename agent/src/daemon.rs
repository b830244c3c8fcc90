//! `vigil daemon`: collect events in the background until SIGTERM or SIGINT.

use std::{os::unix::fs::DirBuilderExt, sync::Arc};

use anyhow::Context as _;
use vigil_events::{Counters, EventStore, EventTable};

use crate::{cli::DaemonArgs, collector::Collector, pidfile::PidFile};

fn wait_for_stop_signal() -> anyhow::Result<&'static str> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()
        .context("starting the signal handler")?;
    runtime.block_on(async {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        Ok(tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        })
    })
}

pub fn run(args: DaemonArgs) -> anyhow::Result<()> {
    let _pidfile = PidFile::acquire(&args.pidfile)?;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o750)
        .create(&args.logger_path)
        .with_context(|| format!("creating --logger_path {}", args.logger_path.display()))?;
    let store = Arc::new(EventStore::open_primary(&args.database_path)?);
    let counters = Counters::new(&EventTable::names());
    let collector = if args.disable_events {
        tracing::info!("events are disabled (--disable_events)");
        None
    } else {
        Some(Collector::start(store.clone(), counters, &args.events)?)
    };
    tracing::info!(
        database = %args.database_path.display(),
        pid = std::process::id(),
        "vigil daemon running"
    );
    let signal = wait_for_stop_signal()?;
    tracing::info!(signal, "stopping");
    if let Some(collector) = collector {
        collector.stop();
    }
    Ok(())
}
