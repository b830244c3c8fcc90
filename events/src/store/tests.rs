use std::{os::unix::fs::PermissionsExt, sync::Arc, time::Duration};

use super::*;
use crate::{
    TableCounters,
    event_table::{Event, process::stored::tests::sample_event},
};

const T: EventTable = EventTable::BpfProcessEvents;

fn rows(times: &[u64]) -> Vec<(u64, Vec<u8>)> {
    times
        .iter()
        .map(|&t| (t, Event::Process(sample_event(t)).encode()))
        .collect()
}

fn times(store: &EventStore, range: TimeRange) -> Vec<u64> {
    store
        .scan(T, range)
        .expect("scan starts")
        .map(|r| r.expect("row reads").time_ns)
        .collect()
}

/// The `(time, sequence)` key of every row of `T`, in scan order.
fn row_keys(store: &EventStore) -> Vec<(u64, u64)> {
    store
        .scan(T, TimeRange::ALL)
        .expect("scan")
        .map(|r| r.map(|r| (r.time_ns, r.seq)).expect("row"))
        .collect()
}

/// Event times (from the stored values) of what a scan returns, in scan order.
fn event_times(store: &EventStore, range: TimeRange) -> Vec<u64> {
    store
        .scan(T, range)
        .expect("scan starts")
        .map(|r| {
            let row = r.expect("row reads");
            crate::event_table::process::decode_process_event(&row.value)
                .expect("decodes")
                .time_ns
        })
        .collect()
}

#[test]
fn rows_come_back_in_arrival_order_and_a_time_range_finds_late_ones() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = EventStore::open_primary(dir.path()).expect("open");
    store.append(T, &rows(&[30, 10, 20])).expect("append");
    store.append(T, &rows(&[15])).expect("append");
    store.append(T, &rows(&[40])).expect("append");
    assert_eq!(
        event_times(&store, TimeRange::ALL),
        vec![30, 10, 20, 15, 40]
    );
    // Keys never go back: a reader that resumes after the last key it read misses nothing.
    let keys = row_keys(&store);
    assert!(keys.windows(2).all(|w| w[0] < w[1]), "{keys:?}");
    // A time range still finds every row whose event time is in it, stored late or not.
    let found = event_times(
        &store,
        TimeRange {
            start_ns: 10,
            end_ns: 16,
        },
    );
    for t in [10, 15] {
        assert!(found.contains(&t), "{t} in {found:?}");
    }
    assert!(!found.contains(&40), "{found:?}");
    // The lag survives a restart, so a reopened store's ranges still find them.
    drop(store);
    let store = EventStore::open_primary(dir.path()).expect("reopen");
    let found = event_times(
        &store,
        TimeRange {
            start_ns: 10,
            end_ns: 12,
        },
    );
    assert!(found.contains(&10), "{found:?}");
    store.append(T, &rows(&[5])).expect("append after reopen");
    let last = store
        .scan(T, TimeRange::ALL)
        .expect("scan")
        .last()
        .expect("rows")
        .expect("row");
    assert_eq!(
        last.time_ns, 40,
        "a reopened store keeps keys in arrival order"
    );
}

#[test]
fn a_range_scan_reads_only_its_range_bounds_included() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = EventStore::open_primary(dir.path()).expect("open");
    store.append(T, &rows(&[1, 2, 3, 4, 5, 6])).expect("append");
    let range = |start_ns, end_ns| TimeRange { start_ns, end_ns };
    assert_eq!(times(&store, range(2, 4)), vec![2, 3, 4]);
    assert_eq!(times(&store, range(6, u64::MAX)), vec![6]);
    assert_eq!(times(&store, range(5, 2)), Vec::<u64>::new());
    assert_eq!(times(&store, range(0, 0)), Vec::<u64>::new());
}

#[test]
fn the_directory_is_owner_only_even_when_it_existed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db");
    std::fs::create_dir(&path).expect("mkdir");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let _store = EventStore::open_primary(&path).expect("open");
    let mode = std::fs::metadata(&path).expect("stat").permissions().mode();
    assert_eq!(mode & 0o777, 0o700);
}

#[test]
fn sequence_keeps_increasing_across_restarts_even_after_everything_expired() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first_max = {
        let store = EventStore::open_primary(dir.path()).expect("open");
        store.append(T, &rows(&[1, 2, 3])).expect("append");
        let seqs: Vec<u64> = store
            .scan(T, TimeRange::ALL)
            .expect("scan")
            .map(|r| r.expect("row").seq)
            .collect();
        assert_eq!(seqs.len(), 3);
        // Expire everything: the next process must still not reuse these numbers.
        store.enforce_retention(T, Some(10), None).expect("expire");
        assert_eq!(times(&store, TimeRange::ALL), Vec::<u64>::new());
        *seqs.iter().max().expect("three rows")
    };
    let store = EventStore::open_primary(dir.path()).expect("reopen");
    store.append(T, &rows(&[20])).expect("append");
    let seq = store
        .scan(T, TimeRange::ALL)
        .expect("scan")
        .map(|r| r.expect("row").seq)
        .next()
        .expect("one row");
    assert!(seq > first_max, "seq {seq} must be above {first_max}");
}

#[test]
fn expiry_and_max_rows_delete_the_oldest_rows_by_range() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = EventStore::open_primary(dir.path()).expect("open");
    store
        .append(T, &rows(&[10, 20, 30, 40, 50, 60]))
        .expect("append");
    assert_eq!(store.row_count(T), 6);

    // Expiry: everything before 25 goes.
    assert_eq!(
        store.enforce_retention(T, Some(25), None).expect("expire"),
        2
    );
    assert_eq!(times(&store, TimeRange::ALL), vec![30, 40, 50, 60]);
    assert_eq!(store.row_count(T), 4);

    // Max rows: keep the newest 3.
    assert_eq!(store.enforce_retention(T, None, Some(3)).expect("max"), 1);
    assert_eq!(times(&store, TimeRange::ALL), vec![40, 50, 60]);

    // Both at once, and a no-op.
    assert_eq!(
        store.enforce_retention(T, Some(45), Some(1)).expect("both"),
        2
    );
    assert_eq!(times(&store, TimeRange::ALL), vec![60]);
    assert_eq!(
        store
            .enforce_retention(T, Some(45), Some(1))
            .expect("no-op"),
        0
    );
}

#[test]
fn row_count_is_rebuilt_on_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = EventStore::open_primary(dir.path()).expect("open");
        store.append(T, &rows(&[1, 2, 3, 4])).expect("append");
    }
    let store = EventStore::open_primary(dir.path()).expect("reopen");
    assert_eq!(store.row_count(T), 4);
    assert_eq!(store.enforce_retention(T, None, Some(2)).expect("max"), 2);
    assert_eq!(times(&store, TimeRange::ALL), vec![3, 4]);
}

#[test]
fn a_secondary_sees_what_a_running_primary_writes_and_counters_it_saved() {
    let dir = tempfile::tempdir().expect("tempdir");
    let primary = EventStore::open_primary(dir.path()).expect("open");
    primary.append(T, &rows(&[1, 2])).expect("append");
    let counters = crate::Counters::new(&EventTable::names());
    let table = counters.table(T.name()).expect("table");
    TableCounters::add(&table.dropped_channel, 5);
    primary.save_counters(&counters).expect("save");

    let secondary = EventStore::open_secondary(dir.path()).expect("secondary");
    assert_eq!(times(&secondary, TimeRange::ALL), vec![1, 2]);
    primary.append(T, &rows(&[3])).expect("append more");
    secondary.catch_up().expect("catch up");
    assert_eq!(times(&secondary, TimeRange::ALL), vec![1, 2, 3]);
    let saved = secondary.saved_counters().expect("read").expect("saved");
    assert_eq!(saved[0].1.dropped_channel, 5);
}

/// A reader that opens a store whose primary has not made every column family (a daemon
/// creating its database this instant, or one written by a vigil before a table existed) reads
/// the missing tables as empty: before, `vigil query` failed with "Column family not found".
#[test]
fn a_secondary_reads_tables_the_primary_has_not_made_yet_as_empty() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        // The state of a database between RocksDB writing CURRENT and making the families.
        DB::open_cf(&opts, dir.path(), ["default"]).expect("raw open");
    }
    let secondary = EventStore::open_secondary(dir.path()).expect("secondary opens");
    assert_eq!(times(&secondary, TimeRange::ALL), Vec::<u64>::new());
    assert_eq!(
        times(
            &secondary,
            TimeRange {
                start_ns: 1,
                end_ns: 10
            }
        ),
        Vec::<u64>::new()
    );
    assert!(secondary.saved_counters().expect("reads").is_none());

    // Once the primary has made them, a new reader sees its rows.
    let primary = EventStore::open_primary(dir.path()).expect("primary");
    primary.append(T, &rows(&[4])).expect("append");
    let secondary = EventStore::open_secondary(dir.path()).expect("secondary");
    assert_eq!(times(&secondary, TimeRange::ALL), vec![4]);
}

#[test]
fn a_second_primary_and_a_missing_database_are_clear_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let _primary = EventStore::open_primary(dir.path()).expect("open");
    let err = EventStore::open_primary(dir.path()).err().expect("locked");
    assert!(matches!(err, StoreError::Locked { .. }), "{err}");
    assert!(err.to_string().contains("vigil query --database_path"));

    let missing = dir.path().join("nothing-here");
    let err = EventStore::open_secondary(&missing).err().expect("missing");
    assert!(
        err.to_string().contains("vigil daemon --database_path"),
        "{err}"
    );
}

#[test]
fn the_writer_batches_counts_and_drains_on_shutdown() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(EventStore::open_primary(dir.path()).expect("open"));
    let counters = crate::Counters::new(&EventTable::names());
    let (tx, rx) = crossbeam_channel::bounded(16);
    let config = WriterConfig {
        retention: RetentionPolicy {
            expiry: None,
            max_rows: None,
            read_floor: None,
        },
        batch_rows: 4,
        batch_delay: Duration::from_millis(20),
        retention_interval: Duration::from_secs(60),
    };
    let writer = StoreWriter::spawn(store.clone(), rx, counters.clone(), config).expect("spawn");
    // Batches of 3, 3, 3 and 1 events: the writer writes them in batches of its own (4 rows).
    let events: Vec<Event> = (1..=10).map(|t| Event::Process(sample_event(t))).collect();
    for batch in events.chunks(3) {
        tx.send(batch.to_vec()).expect("send");
    }
    drop(tx);
    writer.join();
    assert_eq!(times(&store, TimeRange::ALL), (1..=10).collect::<Vec<_>>());
    assert_eq!(counters.table(T.name()).expect("table").values().stored, 10);
}

#[test]
fn state_and_log_lines_commit_together_and_drain_in_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = EventStore::open_primary(dir.path()).expect("open");
        store
            .commit_state(StateBatch {
                puts: vec![(b"cursor".to_vec(), b"42".to_vec())],
                deletes: vec![],
                lines: vec![(1, "first".into()), (1, "second".into())],
            })
            .expect("commit");
        let lines = store.queued_lines(DEFAULT_LINE_READER, 10).expect("lines");
        assert_eq!(lines.len(), 2);
        store.delete_lines(&[lines[0].key]).expect("delete");
    }
    let store = EventStore::open_primary(dir.path()).expect("reopen");
    assert_eq!(
        store.get_state(b"cursor").expect("get"),
        Some(b"42".to_vec())
    );
    store
        .commit_state(StateBatch {
            lines: vec![(2, "third".into())],
            ..StateBatch::default()
        })
        .expect("commit");
    let lines: Vec<String> = store
        .queued_lines(DEFAULT_LINE_READER, 10)
        .expect("lines")
        .into_iter()
        .map(|l| l.line)
        .collect();
    assert_eq!(lines, vec!["second", "third"], "order survives a restart");
}

#[test]
fn each_line_reader_has_its_own_copy_of_each_line() {
    const TLS_READER: u8 = 2;
    let dir = tempfile::tempdir().expect("tempdir");
    let store = EventStore::open_primary(dir.path()).expect("open");
    store.set_line_readers(&[DEFAULT_LINE_READER, TLS_READER]);
    store
        .commit_state(StateBatch {
            lines: vec![(1, "a".into()), (3, "b".into()), (1, "c".into())],
            ..StateBatch::default()
        })
        .expect("commit");
    let files = store.queued_lines(DEFAULT_LINE_READER, 10).expect("lines");
    store.delete_lines(&[files[0].key]).expect("delete");
    assert_eq!(store.queued_count(DEFAULT_LINE_READER).expect("count"), 2);
    assert_eq!(
        store.queued_count(TLS_READER).expect("count"),
        3,
        "the other copy stays"
    );
    assert_eq!(store.drop_oldest_lines(TLS_READER, 2).expect("drop"), 2);
    let tls: Vec<(u8, String)> = store
        .queued_lines(TLS_READER, 10)
        .expect("lines")
        .into_iter()
        .map(|l| (l.tag, l.line))
        .collect();
    assert_eq!(tls, vec![(1, "c".to_owned())]);
    assert_eq!(store.queued_count(DEFAULT_LINE_READER).expect("count"), 2);
}

#[test]
fn events_max_counts_what_it_removes_before_queries_read_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = EventStore::open_primary(dir.path()).expect("open");
    store
        .append(T, &rows(&[10, 20, 30, 40, 50]))
        .expect("append");
    // Queries have read up to the row at 20 (seq 2); keeping 1 row removes 30 and 40 unread.
    let (removed, unread) = store
        .enforce_retention_counting(T, None, Some(1), Some((20, 2)))
        .expect("retention");
    assert_eq!((removed, unread), (4, 2));
    assert_eq!(times(&store, TimeRange::ALL), vec![50]);
}

#[test]
fn expiry_by_age_stops_at_the_read_floor() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(EventStore::open_primary(dir.path()).expect("open"));
    store.append(T, &rows(&[10, 20, 30])).expect("append");
    let floor = Arc::new(ReadFloor::default());
    // Queries have read the row at 10 (seq 1), not the others.
    floor.set_all([(T, (10, 1))].into_iter().collect());
    let counters = crate::Counters::new(&EventTable::names());
    let (tx, rx) = crossbeam_channel::bounded::<Vec<Event>>(1);
    let config = WriterConfig {
        retention: RetentionPolicy {
            // Everything is older than a nanosecond, but a query has yet to read from 20 on.
            expiry: Some(Duration::from_nanos(1)),
            max_rows: None,
            read_floor: Some(floor),
        },
        ..WriterConfig::default()
    };
    let writer = StoreWriter::spawn(store.clone(), rx, counters, config).expect("spawn");
    drop(tx);
    writer.join();
    assert_eq!(times(&store, TimeRange::ALL), vec![20, 30]);
}

#[test]
fn a_new_writer_expires_nothing_before_the_scheduler_says_what_was_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(EventStore::open_primary(dir.path()).expect("open"));
    store.append(T, &rows(&[10, 20, 30])).expect("append");
    // A worker starts: its read floor is not known yet (the scheduler restores it later).
    let floor = Arc::new(ReadFloor::default());
    let counters = crate::Counters::new(&EventTable::names());
    let (tx, rx) = crossbeam_channel::bounded::<Vec<Event>>(1);
    let config = WriterConfig {
        retention: RetentionPolicy {
            expiry: Some(Duration::from_nanos(1)),
            max_rows: None,
            read_floor: Some(floor.clone()),
        },
        ..WriterConfig::default()
    };
    let writer =
        StoreWriter::spawn(store.clone(), rx, counters.clone(), config.clone()).expect("spawn");
    drop(tx);
    writer.join();
    assert_eq!(times(&store, TimeRange::ALL), vec![10, 20, 30]);
    // Once the scheduler says nothing holds the table, expiry by age applies.
    floor.release_all();
    retention_pass(
        &store,
        &counters,
        &config.retention,
        crate::wall_clock::unix_nanos(),
    );
    assert_eq!(times(&store, TimeRange::ALL), Vec::<u64>::new());
    assert_eq!(counters.table(T.name()).expect("table").values().expired, 3);
}

#[test]
fn concurrent_commits_never_reuse_a_waiting_lines_number_after_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    const THREADS: usize = 8;
    const COMMITS: usize = 300;
    {
        let store = Arc::new(EventStore::open_primary(dir.path()).expect("open"));
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                let store = store.clone();
                std::thread::spawn(move || {
                    for i in 0..COMMITS {
                        store
                            .commit_state(StateBatch {
                                lines: vec![(1, format!("{t}-{i}"))],
                                ..StateBatch::default()
                            })
                            .expect("commit");
                    }
                })
            })
            .collect();
        for worker in workers {
            worker.join().expect("thread");
        }
    }
    let store = EventStore::open_primary(dir.path()).expect("reopen");
    store
        .commit_state(StateBatch {
            lines: vec![(1, "after".into())],
            ..StateBatch::default()
        })
        .expect("commit");
    let lines = store
        .queued_lines(DEFAULT_LINE_READER, usize::MAX)
        .expect("lines");
    assert_eq!(
        lines.len(),
        THREADS * COMMITS + 1,
        "no line was overwritten"
    );
    assert_eq!(lines.last().map(|l| l.line.as_str()), Some("after"));
}

#[test]
fn a_lost_log_sequence_is_rebuilt_from_the_waiting_lines() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = EventStore::open_primary(dir.path()).expect("open");
        store
            .commit_state(StateBatch {
                lines: vec![(1, "one".into()), (1, "two".into())],
                ..StateBatch::default()
            })
            .expect("commit");
        // As if the persisted sequence had gone back (older versions could write it so).
        let meta = store.cf(META_CF).expect("meta");
        store
            .db
            .put_cf(&meta, state::META_LINE_SEQ, 1u64.to_be_bytes())
            .expect("rewind");
    }
    let store = EventStore::open_primary(dir.path()).expect("reopen");
    store
        .commit_state(StateBatch {
            lines: vec![(1, "three".into())],
            ..StateBatch::default()
        })
        .expect("commit");
    let lines: Vec<String> = store
        .queued_lines(DEFAULT_LINE_READER, 10)
        .expect("lines")
        .into_iter()
        .map(|l| l.line)
        .collect();
    assert_eq!(lines, vec!["one", "two", "three"]);
}

/// Every RocksDB key of `table`'s column family, as stored.
fn stored_keys(store: &EventStore, table: EventTable) -> Vec<Vec<u8>> {
    let cf = store.cf(table.name()).expect("table");
    store
        .db
        .iterator_cf(&cf, rocksdb::IteratorMode::Start)
        .map(|item| item.expect("key reads").0.to_vec())
        .collect()
}

/// A row as an older vigil stored it: one per 16-byte key, and the sequence number saved with
/// it (nothing else of what vigil keeps now).
fn put_one_row_per_key(store: &EventStore, time_ns: u64, seq: u64) {
    let cf = store.cf(T.name()).expect("table");
    let meta = store.cf(META_CF).expect("meta");
    let value = Event::Process(sample_event(time_ns)).encode();
    let mut batch = WriteBatch::default();
    batch.put_cf(&cf, key::encode(time_ns, seq), value);
    batch.put_cf(&meta, META_SEQ, seq.to_be_bytes());
    store.db.write(batch).expect("put");
}

#[test]
fn a_batch_is_stored_a_chunk_of_rows_per_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = EventStore::open_primary(dir.path()).expect("open");
    let times_in: Vec<u64> = (1..=1000).collect();
    store.append(T, &rows(&times_in)).expect("append");
    let keys = stored_keys(&store, T);
    // 1,000 rows, 64 a chunk.
    assert_eq!(keys.len(), 16, "one RocksDB key per chunk");
    assert!(keys.iter().all(|k| k.len() == chunk::CHUNK_KEY_LEN));
    assert_eq!(times(&store, TimeRange::ALL), times_in);
    // A page boundary inside a chunk, and a range that starts and ends inside chunks.
    assert_eq!(
        times(
            &store,
            TimeRange {
                start_ns: 100,
                end_ns: 130
            }
        ),
        (100..=130).collect::<Vec<u64>>()
    );
}

#[test]
fn rows_an_older_vigil_stored_one_per_key_are_read_counted_and_expired() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = EventStore::open_primary(dir.path()).expect("open");
        for (seq, time) in [(1, 10), (2, 20), (3, 30)] {
            put_one_row_per_key(&store, time, seq);
        }
    }
    let store = EventStore::open_primary(dir.path()).expect("reopen");
    assert_eq!(store.row_count(T), 3, "counted on open");
    store.append(T, &rows(&[40, 50])).expect("append");
    let keys = row_keys(&store);
    // The sequence goes on after the old rows'.
    assert_eq!(keys, vec![(10, 1), (20, 2), (30, 3), (40, 4), (50, 5)]);
    assert_eq!(
        store.enforce_retention(T, Some(25), None).expect("expire"),
        2
    );
    assert_eq!(store.enforce_retention(T, None, Some(2)).expect("max"), 1);
    assert_eq!(times(&store, TimeRange::ALL), vec![40, 50]);
}

#[test]
fn a_damaged_chunk_gives_its_readable_rows_then_one_empty_row() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = EventStore::open_primary(dir.path()).expect("open");
    let values = rows(&[10, 20]);
    let keyed: Vec<chunk::ChunkRow<'_>> =
        vec![(10, 1, &values[0].1[..]), (20, 2, &values[1].1[..])];
    let (chunk_key, value) = chunk::encode(&keyed).expect("rows");
    let cf = store.cf(T.name()).expect("table");
    store
        .db
        .put_cf(&cf, chunk_key, &value[..value.len() - 3])
        .expect("put");
    let read: Vec<(u64, u64, usize)> = store
        .scan(T, TimeRange::ALL)
        .expect("scan")
        .map(|r| r.map(|r| (r.time_ns, r.seq, r.value.len())).expect("row"))
        .collect();
    assert_eq!(read, vec![(10, 1, values[0].1.len()), (10, 2, 0)]);
}

mod chunked_layout {
    use proptest::prelude::*;

    use super::*;

    #[derive(Debug, Clone)]
    enum Step {
        /// Event times of one append (out of order at times).
        Append(Vec<u64>),
        /// Expiry cutoff, `--events_max`, and the read floor as an index into the rows held.
        Retain(Option<u64>, Option<u64>, Option<usize>),
        Reopen,
        /// Read every row from the `n`th held row's key on, `page_rows` rows a page.
        Pages(usize, usize),
    }

    fn step() -> impl Strategy<Value = Step> {
        prop_oneof![
            4 => prop::collection::vec(0u64..400, 1..150).prop_map(Step::Append),
            2 => (
                prop::option::of(0u64..600),
                prop::option::of(0u64..300),
                prop::option::of(0usize..300)
            )
                .prop_map(|(cutoff, max, floor)| Step::Retain(cutoff, max, floor)),
            1 => Just(Step::Reopen),
            2 => (0usize..300, 1usize..100).prop_map(|(from, page)| Step::Pages(from, page)),
        ]
    }

    /// The rows a store must hold: `(key time, seq)` in key order.
    #[derive(Default)]
    struct Model {
        rows: Vec<(u64, u64)>,
        last_key_time: u64,
        next_seq: u64,
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

        /// Whatever mix of appends (chunks of any size), retention cuts (inside chunks or not),
        /// restarts, and rows an older vigil stored one per key: every read sees exactly the
        /// rows a store of one row per key would hold, and counts them alike.
        #[test]
        fn chunks_read_cut_and_count_like_one_row_per_key(
            old_rows in 0u64..5,
            steps in prop::collection::vec(step(), 1..12),
        ) {
            let dir = tempfile::tempdir().expect("tempdir");
            let mut model = Model { next_seq: 1, ..Model::default() };
            {
                let store = EventStore::open_primary(dir.path()).expect("open");
                for i in 0..old_rows {
                    let time = 100 + i;
                    put_one_row_per_key(&store, time, model.next_seq);
                    model.rows.push((time, model.next_seq));
                    model.last_key_time = time;
                    model.next_seq += 1;
                }
            }
            let mut store = EventStore::open_primary(dir.path()).expect("open");
            for step in steps {
                match step {
                    Step::Append(times_in) => {
                        store.append(T, &rows(&times_in)).expect("append");
                        for time in times_in {
                            model.last_key_time = model.last_key_time.max(time);
                            model.rows.push((model.last_key_time, model.next_seq));
                            model.next_seq += 1;
                        }
                    }
                    Step::Retain(cutoff, max_rows, floor) => {
                        let read_through = floor.and_then(|i| model.rows.get(i).copied());
                        let first_unread = read_through.and_then(key::after);
                        let mut end = cutoff.map(|c| (c, 0));
                        if let (Some(e), Some(f)) = (end, first_unread) {
                            end = Some(e.min(f));
                        }
                        let mut removed = end.map_or(0, |e| model.rows.iter().filter(|k| **k < e).count());
                        if let Some(max_rows) = max_rows {
                            let remaining = model.rows.len() - removed;
                            removed += remaining.saturating_sub(max_rows as usize);
                        }
                        let unread = model.rows[..removed]
                            .iter()
                            .filter(|k| first_unread.is_some_and(|f| **k >= f))
                            .count();
                        let got = store
                            .enforce_retention_counting(T, cutoff, max_rows, read_through)
                            .expect("retention");
                        model.rows.drain(..removed);
                        prop_assert_eq!(got, (removed as u64, unread as u64));
                    }
                    Step::Reopen => {
                        drop(store);
                        store = EventStore::open_primary(dir.path()).expect("reopen");
                    }
                    Step::Pages(from, page_rows) => {
                        let Some(&start) = model.rows.get(from) else { continue };
                        let mut page = StoredPage::default();
                        let mut next = Some(start);
                        let mut seen = Vec::new();
                        while let Some(at) = next {
                            let more = store
                                .read_page(T, at, TimeRange::ALL, page_rows, &mut page)
                                .expect("page");
                            prop_assert!(page.len() <= page_rows);
                            seen.extend((0..page.len()).filter_map(|i| page.get(i)).map(|r| (r.time_ns, r.seq)));
                            next = page.last_key().filter(|_| more).and_then(key::after);
                        }
                        prop_assert_eq!(&seen[..], &model.rows[from..]);
                    }
                }
                prop_assert_eq!(super::row_keys(&store), model.rows.clone());
                prop_assert_eq!(store.row_count(T), model.rows.len() as u64);
            }
        }
    }
}

/// Found by `chunked_layout`: a reader remembers the last key it read (a scheduled query's
/// cursor). If a table emptied by retention forgot its newest key time on restart, a row stored
/// then with an earlier event time (a clock stepped back) would be keyed below that cursor and
/// never read.
#[test]
fn a_table_emptied_then_reopened_keys_new_rows_after_its_last_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let read_through;
    {
        let store = EventStore::open_primary(dir.path()).expect("open");
        store.append(T, &rows(&[100, 200])).expect("append");
        read_through = store.last_key(T).expect("last key").expect("rows");
        assert_eq!(
            store
                .enforce_retention(T, Some(1_000), None)
                .expect("expire"),
            2
        );
    }
    let store = EventStore::open_primary(dir.path()).expect("reopen");
    store.append(T, &rows(&[50])).expect("append");
    let after: Vec<(u64, u64)> = store
        .scan_from(
            T,
            key::after(read_through).expect("a next key"),
            TimeRange::ALL,
        )
        .expect("scan")
        .map(|r| r.map(|r| (r.time_ns, r.seq)).expect("row"))
        .collect();
    assert_eq!(
        after.len(),
        1,
        "the new row comes after the reader's cursor: {after:?}"
    );
}

/// A reader between two pages while retention cuts inside the chunk it is reading: the rows the
/// cut keeps all reach it, once, in order.
#[test]
fn a_reader_paging_across_a_retention_cut_inside_a_chunk_misses_no_kept_row() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = EventStore::open_primary(dir.path()).expect("open");
    let times_in: Vec<u64> = (1..=200).collect();
    store.append(T, &rows(&times_in)).expect("append");
    let mut page = StoredPage::default();
    assert!(
        store
            .read_page(T, (0, 0), TimeRange::ALL, 10, &mut page)
            .expect("first page")
    );
    let mut next = page.last_key().and_then(key::after);
    // Expire up to time 30: inside the first 64-row chunk, past the reader's place.
    assert_eq!(
        store.enforce_retention(T, Some(30), None).expect("expire"),
        29
    );
    let mut seen = Vec::new();
    while let Some(at) = next {
        let more = store
            .read_page(T, at, TimeRange::ALL, 7, &mut page)
            .expect("page");
        seen.extend(
            (0..page.len())
                .filter_map(|i| page.get(i))
                .map(|r| r.time_ns),
        );
        next = page.last_key().filter(|_| more).and_then(key::after);
    }
    assert_eq!(seen, (30..=200).collect::<Vec<u64>>());
}

/// The same for a store an older vigil wrote (no key time in its meta area): the retention that
/// empties the table keeps the time its last row had.
#[test]
fn an_older_vigils_table_emptied_then_reopened_keys_new_rows_after_its_last_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = EventStore::open_primary(dir.path()).expect("open");
        put_one_row_per_key(&store, 100, 1);
    }
    {
        let store = EventStore::open_primary(dir.path()).expect("reopen");
        assert_eq!(
            store
                .enforce_retention(T, Some(1_000), None)
                .expect("expire"),
            1
        );
    }
    let store = EventStore::open_primary(dir.path()).expect("reopen");
    store.append(T, &rows(&[50])).expect("append");
    let keys = row_keys(&store);
    assert_eq!(keys, vec![(100, 2)], "keyed after the expired row (100, 1)");
}
