//! `bpf_process_events`: exec, fork/clone and exit events from vigil's eBPF probes, with
//! osquery's columns first and vigil's extras after them.

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use vigil_events::{
    Counters, EventStore, EventTable, ProcessEvent, TableCounters, TimeRange,
    codec::decode_process_event,
};

use super::StoredPages;
use crate::table::{
    Column,
    ColumnType::{BigInt, Integer, Text},
    Row, Rows, ScanRequest, Table, TableError, Value,
};

const COLUMNS: &[Column] = &[
    // osquery's columns, in osquery's order.
    Column::new("tid", BigInt),
    Column::new("pid", BigInt),
    Column::new("parent", BigInt),
    Column::new("uid", BigInt),
    Column::new("gid", BigInt),
    Column::new("cid", Integer),
    Column::new("exit_code", Text),
    Column::new("probe_error", Integer),
    Column::new("syscall", Text),
    Column::new("path", Text),
    Column::new("cwd", Text),
    Column::new("cmdline", Text),
    Column::new("duration", Integer),
    Column::hidden("json_cmdline", Text),
    Column::new("ntime", Text),
    Column::hidden("time", BigInt),
    Column::hidden("eid", Integer),
    // vigil's extras.
    Column::new("euid", BigInt),
    Column::new("egid", BigInt),
    Column::new("comm", Text),
    Column::new("argc", Integer),
    Column::new("truncated", Integer),
    Column::new("filename", Text),
    Column::new("parent_path", Text),
    Column::new("child_pid", BigInt),
    Column::new("exit_signal", Integer),
];

const TIME: usize = 15;
const NTIME: usize = 14;

pub struct BpfProcessEvents {
    store: Option<Arc<EventStore>>,
    counters: Arc<TableCounters>,
    visited: Arc<AtomicU64>,
}

impl BpfProcessEvents {
    pub fn new(store: Option<Arc<EventStore>>, counters: &Counters) -> Self {
        Self {
            store,
            counters: counters
                .table(EventTable::BpfProcessEvents.name())
                .cloned()
                .unwrap_or_default(),
            visited: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Stored rows read by scans so far (to check that time constraints narrow the scan).
    pub fn rows_visited(&self) -> u64 {
        self.visited.load(Ordering::Relaxed)
    }
}

pub fn row(event: &ProcessEvent, seq: u64) -> Row {
    vec![
        event.tid.into(),
        event.pid.into(),
        event.parent.into(),
        event.uid.into(),
        event.gid.into(),
        event.cgroup_id.into(),
        event.exit_code.to_string().into(),
        event.probe_error.into(),
        event.syscall.as_str().into(),
        event.path.as_str().into(),
        event.cwd.as_str().into(),
        event.cmdline().into(),
        event.duration_ns.into(),
        serde_json::to_string(&event.argv)
            .unwrap_or_default()
            .into(),
        event.time_ns.to_string().into(),
        (event.time_ns / 1_000_000_000).into(),
        seq.into(),
        event.euid.into(),
        event.egid.into(),
        event.comm.as_str().into(),
        (event.argv.len() as u64).into(),
        Value::Int(i64::from(event.argv_truncated)),
        event.filename.as_str().into(),
        event.parent_path.as_str().into(),
        event.child_pid.into(),
        event.exit_signal.into(),
    ]
}

impl Table for BpfProcessEvents {
    fn name(&self) -> &'static str {
        EventTable::BpfProcessEvents.name()
    }

    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }

    fn time_columns(&self) -> Option<(usize, usize)> {
        Some((TIME, NTIME))
    }

    fn scan(&self, request: &ScanRequest) -> Result<Rows, TableError> {
        let Some(store) = self.store.clone() else {
            return Ok(Box::new(std::iter::empty()));
        };
        let fail = |e: vigil_events::StoreError| TableError::Failed {
            table: EventTable::BpfProcessEvents.name(),
            message: e.to_string(),
        };
        store.catch_up().map_err(fail)?;
        let range = match request.time_ns {
            Some((start_ns, end_ns)) => TimeRange { start_ns, end_ns },
            None => TimeRange::ALL,
        };
        let counters = self.counters.clone();
        let pages = StoredPages::new(
            store,
            EventTable::BpfProcessEvents,
            range,
            self.visited.clone(),
        );
        Ok(Box::new(pages.filter_map(move |stored| match stored {
            Err(e) => Some(Err(fail(e))),
            Ok(stored) => match decode_process_event(&stored.value) {
                Ok(event) => Some(Ok(row(&event, stored.seq))),
                Err(error) => {
                    // A damaged row must not hide the others: skip it, count it, say so once in
                    // a while.
                    let before = counters.corrupt.fetch_add(1, Ordering::Relaxed);
                    if before.is_power_of_two() || before == 0 {
                        tracing::warn!(%error, seq = stored.seq,
                            "skipped a stored bpf_process_events row that does not decode");
                    }
                    None
                }
            },
        })))
    }
}
