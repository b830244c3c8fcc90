//! The layout on disk: keys and encodings as earlier versions wrote them (written here byte by
//! byte, as those versions did), read back through the typed handles; and what the typed
//! handles write is byte for byte the same. A database from before keeps its cursors, lines,
//! statistics and denylist.

use std::collections::HashSet;

use vigil_events::{EventStore, EventTable, store::StateBatch};

use crate::{
    Commit, daemon, distributed,
    logs::{self, LineKind, Logger, LoggerStats, Sink},
    remote,
    schedule::{self, Cursor, QueryStats, TablesRead},
};

const STATS_JSON: &str = r#"{"query":"SELECT 1","interval":60,"executions":2,"last_executed":1700000000,"output_size":10,"wall_time_ms":4,"last_wall_time_ms":3,"user_time":2,"last_user_time":1,"system_time":6,"last_system_time":5,"average_memory":8,"last_memory":7}"#;
const LOGGER_STATS_JSON: &str = r#"{"sent":3,"dropped_buffer_max":1,"dropped_oversize":2,"dropped_invalid":0,"dropped_rejected":4,"failed_attempts":5,"last_error":"down"}"#;

fn cursor_bytes(time_ns: u64, seq: u64) -> Vec<u8> {
    let mut out = vec![1u8];
    out.extend_from_slice(&time_ns.to_be_bytes());
    out.extend_from_slice(&seq.to_be_bytes());
    out
}

/// Every entry as an earlier version wrote it.
fn earlier_layout() -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut legacy_cursor = 90_000_000_000u64.to_be_bytes().to_vec();
    legacy_cursor.extend_from_slice(&9u64.to_be_bytes());
    [
        (&b"epoch/q"[..], 3u64.to_be_bytes().to_vec()),
        (b"counter/q", 5u64.to_be_bytes().to_vec()),
        (b"results/q", br#"[{"a":"1","b":"x"}]"#.to_vec()),
        (b"stats/q", STATS_JSON.as_bytes().to_vec()),
        // Bit 0: bpf_process_events, bit 2: bpf_file_events.
        (b"reads/q", 0b101u64.to_be_bytes().to_vec()),
        (
            b"cursor/q/bpf_process_events",
            cursor_bytes(1_700_000_000_000_000_000, 42),
        ),
        (b"cursor/q/bpf_file_events", legacy_cursor),
        (b"denylist/q", 1_700_086_400i64.to_be_bytes().to_vec()),
        (b"executing_query", b"q".to_vec()),
        (b"logger_stats/tls", LOGGER_STATS_JSON.as_bytes().to_vec()),
        (b"distributed/7", br#"{"rows":[],"status":0}"#.to_vec()),
        (b"distributed_executing", b"8".to_vec()),
        (b"node_key", b"nk".to_vec()),
        (b"config_backup", br#"{"schedule":{}}"#.to_vec()),
        (b"instance_uuid_v1", b"0f5b".to_vec()),
        (b"config_hash", b"ab12".to_vec()),
        (b"config_valid", b"1".to_vec()),
        (b"events_collection_stopped", b"no probes".to_vec()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_vec(), v))
    .collect()
}

fn expected_stats() -> QueryStats {
    QueryStats {
        query: "SELECT 1".into(),
        interval: 60,
        executions: 2,
        last_executed: 1_700_000_000,
        output_size: 10,
        wall_time_ms: 4,
        last_wall_time_ms: 3,
        user_time: 2,
        last_user_time: 1,
        system_time: 6,
        last_system_time: 5,
        average_memory: 8,
        last_memory: 7,
    }
}

fn expected_logger_stats() -> LoggerStats {
    LoggerStats {
        sent: 3,
        dropped_buffer_max: 1,
        dropped_oversize: 2,
        dropped_invalid: 0,
        dropped_rejected: 4,
        failed_attempts: 5,
        last_error: "down".into(),
    }
}

fn get<T>(read: Result<T, crate::StoreError>) -> T {
    read.expect("read")
}

#[test]
fn a_database_written_by_an_earlier_version_reads_back_through_the_typed_handles() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = EventStore::open_primary(dir.path()).expect("open");
        // Readers 1 (filesystem) and 2 (tls); tags 1 (result), 2 (snapshot), 3 (status).
        store.set_line_readers(&[1, 2]);
        store
            .commit_state(StateBatch {
                puts: earlier_layout(),
                deletes: Vec::new(),
                lines: vec![(1, "r".into()), (2, "s".into()), (3, "t".into())],
            })
            .expect("commit");
    }
    let store = EventStore::open_primary(dir.path()).expect("reopen");

    assert_eq!(get(schedule::EPOCH.key("q").get(&store)), Some(3));
    assert_eq!(get(schedule::COUNTER.key("q").get(&store)), Some(5));
    let mut row = schedule::ResultRow::new();
    row.insert("a".into(), "1".into());
    row.insert("b".into(), "x".into());
    assert_eq!(get(schedule::RESULTS.key("q").get(&store)), Some(vec![row]));
    assert_eq!(
        get(schedule::STATS.all(&store)),
        vec![("q".to_owned(), expected_stats())]
    );
    assert_eq!(
        get(schedule::READS.key("q").get(&store)),
        Some(TablesRead(HashSet::from([
            EventTable::BpfProcessEvents,
            EventTable::BpfFileEvents
        ])))
    );
    assert_eq!(
        get(schedule::cursor("q", EventTable::BpfProcessEvents).get(&store)),
        Some(Cursor {
            time_ns: 1_700_000_000_000_000_000,
            seq: 42
        })
    );
    assert_eq!(
        get(schedule::cursor("q", EventTable::BpfFileEvents).get(&store)),
        Some(Cursor {
            time_ns: 30_000_000_000,
            seq: 9
        }),
        "a cursor of the oldest layout resumes with its slack"
    );
    assert_eq!(
        get(schedule::cursor("q", EventTable::BpfSocketEvents).get(&store)),
        None
    );
    assert_eq!(
        get(schedule::DENYLIST.all(&store)),
        vec![("q".to_owned(), 1_700_086_400)]
    );
    assert_eq!(get(schedule::EXECUTING.get(&store)).as_deref(), Some("q"));

    assert_eq!(
        get(logs::stats(Logger::Tls).get(&store)),
        Some(expected_logger_stats())
    );
    assert_eq!(get(logs::stats(Logger::Filesystem).get(&store)), None);
    let lines = |sink| -> Vec<(LineKind, String)> {
        get(logs::waiting(&store, sink, 10))
            .into_iter()
            .map(|l| (l.kind, l.line))
            .collect()
    };
    let all_kinds = vec![
        (LineKind::Result, "r".to_owned()),
        (LineKind::Snapshot, "s".to_owned()),
        (LineKind::Status, "t".to_owned()),
    ];
    assert_eq!(lines(Sink::Filesystem), all_kinds);
    assert_eq!(lines(Sink::Tls), all_kinds);

    assert_eq!(get(distributed::PENDING.count(&store)), 1);
    assert_eq!(
        get(distributed::PENDING.all(&store)),
        vec![("7".to_owned(), serde_json::json!({"rows": [], "status": 0}))]
    );
    assert_eq!(
        get(distributed::EXECUTING.get(&store)).as_deref(),
        Some("8")
    );
    assert_eq!(get(remote::NODE_KEY.get(&store)).as_deref(), Some("nk"));
    assert_eq!(
        get(remote::CONFIG_BACKUP.get(&store)).as_deref(),
        Some(r#"{"schedule":{}}"#)
    );
    assert_eq!(
        get(daemon::INSTANCE_ID.get(&store)).as_deref(),
        Some("0f5b")
    );
    assert_eq!(
        get(daemon::CONFIG_HASH.get(&store)).as_deref(),
        Some("ab12")
    );
    assert_eq!(get(daemon::CONFIG_VALID.get(&store)), Some(true));
    assert_eq!(
        get(daemon::COLLECTION_STOPPED.get(&store)).as_deref(),
        Some("no probes")
    );
}

#[test]
fn the_typed_handles_write_the_layout_earlier_versions_wrote() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = EventStore::open_primary(dir.path()).expect("open");
    logs::set_sinks(&store, &[Sink::Filesystem, Sink::Tls]);
    let mut row = schedule::ResultRow::new();
    row.insert("a".into(), "1".into());
    row.insert("b".into(), "x".into());
    let mut commit = Commit::default();
    commit.put(&schedule::EPOCH.key("q"), &3);
    commit.put(&schedule::COUNTER.key("q"), &5);
    commit.put(&schedule::RESULTS.key("q"), &vec![row]);
    commit.put(&schedule::STATS.key("q"), &expected_stats());
    commit.put(
        &schedule::READS.key("q"),
        &TablesRead(HashSet::from([
            EventTable::BpfProcessEvents,
            EventTable::BpfFileEvents,
        ])),
    );
    commit.put(
        &schedule::cursor("q", EventTable::BpfProcessEvents),
        &Cursor {
            time_ns: 1_700_000_000_000_000_000,
            seq: 42,
        },
    );
    commit.put(&schedule::DENYLIST.key("q"), &1_700_086_400);
    commit.put(&schedule::EXECUTING, &"q".to_owned());
    commit.put(&logs::stats(Logger::Tls), &expected_logger_stats());
    commit.put(
        &distributed::PENDING.key("7"),
        &serde_json::json!({"rows": [], "status": 0}),
    );
    commit.put(&distributed::EXECUTING, &"8".to_owned());
    remote::enrolled(&mut commit, "nk", 1_700_000_000);
    commit.put(&remote::CONFIG_BACKUP, &r#"{"schedule":{}}"#.to_owned());
    commit.put(&daemon::INSTANCE_ID, &"0f5b".to_owned());
    commit.put(&daemon::CONFIG_HASH, &"ab12".to_owned());
    commit.put(&daemon::CONFIG_VALID, &true);
    commit.put(&daemon::COLLECTION_STOPPED, &"no probes".to_owned());
    commit.log(LineKind::Result, "r".into());
    commit.log(LineKind::Snapshot, "s".into());
    commit.log(LineKind::Status, "t".into());
    commit.apply(&store).expect("commit");

    let mut expected = earlier_layout();
    // The oldest cursor layout is read, never written.
    expected.retain(|(k, _)| k != b"cursor/q/bpf_file_events");
    expected.push((b"node_key_time".to_vec(), b"1700000000".to_vec()));
    expected.sort();
    assert_eq!(
        store.state_with_prefix(b"").expect("state"),
        expected,
        "typed writes change the layout on disk"
    );
    for reader in [1, 2] {
        let lines: Vec<(u8, String)> = store
            .queued_lines(reader, 10)
            .expect("lines")
            .into_iter()
            .map(|l| (l.tag, l.line))
            .collect();
        assert_eq!(
            lines,
            vec![(1, "r".into()), (2, "s".into()), (3, "t".into())],
            "reader {reader}"
        );
    }

    let mut forget = Commit::default();
    remote::forget_node_key(&mut forget);
    forget.apply(&store).expect("forget");
    for key in [&b"node_key"[..], b"node_key_time"] {
        assert_eq!(store.get_state(key).expect("read"), None);
    }
}

#[test]
fn the_filesystem_logger_gets_the_lines_committed_before_loggers_are_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = EventStore::open_primary(dir.path()).expect("open");
    let mut commit = Commit::default();
    commit.log(LineKind::Status, "early".into());
    commit.apply(&store).expect("commit");
    let waiting = logs::waiting(&store, Sink::Filesystem, 10).expect("lines");
    assert_eq!(waiting.len(), 1);
    assert_eq!(logs::waiting_count(&store, Sink::Tls).expect("count"), 0);
}
