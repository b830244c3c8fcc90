//! SQL over a real on-disk store, through the real virtual-table adapter.

use std::sync::Arc;

use rusqlite::Connection;
use vigil_events::{Counters, Event, EventStore, EventTable, ProcessAction, ProcessEvent, Syscall};
use vigil_tables::{
    CounterSource, Table, TablesContext,
    agent::vigil_events::VigilEvents,
    evented::{StoredTable, bpf_process_events},
};

const SEC: u64 = 1_000_000_000;

fn event(second: u64, pid: u32) -> ProcessEvent {
    ProcessEvent {
        action: ProcessAction::Exec,
        syscall: Syscall::Execve,
        time_ns: second * SEC + 123,
        task: vigil_events::Task {
            pid,
            tid: pid,
            parent: 1,
            uid: 1000,
            gid: 1000,
            euid: 1000,
            egid: 1000,
            cgroup_id: 9,
            comm: "env".into(),
        },
        path: "/usr/bin/env".into(),
        filename: "/usr/bin/env".into(),
        cwd: "/tmp".into(),
        argv: vec!["/usr/bin/env".into(), "VAR=1".into(), "/bin/true".into()],
        argv_truncated: false,
        exit_code: 0,
        exit_signal: 0,
        child_pid: 0,
        duration_ns: 10,
        probe_error: 0,
        parent_path: "/usr/bin/sh".into(),
    }
}

struct Fixture {
    _dir: tempfile::TempDir,
    store: Arc<EventStore>,
    conn: Connection,
    process_table: Arc<StoredTable>,
    counters: Counters,
}

fn fixture(seconds: std::ops::Range<u64>) -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(EventStore::open_primary(dir.path()).expect("open store"));
    let rows: Vec<(u64, Vec<u8>)> = seconds
        .map(|s| {
            let e = Event::Process(event(s, s as u32));
            (e.time_ns(), e.encode())
        })
        .collect();
    store
        .append(EventTable::BpfProcessEvents, &rows)
        .expect("append");
    let counters = Counters::new(&EventTable::names());
    let process_table = Arc::new(bpf_process_events::table(Some(store.clone()), &counters));
    let events_table: Arc<dyn Table> = Arc::new(VigilEvents::new(
        counters.clone(),
        Some(store.clone()),
        CounterSource::Live,
    ));
    let conn = Connection::open_in_memory().expect("sqlite");
    let tables: Vec<Arc<dyn Table>> = vec![process_table.clone(), events_table];
    vigil_tables::register(&conn, &tables).expect("register");
    Fixture {
        _dir: dir,
        store,
        conn,
        process_table,
        counters,
    }
}

fn count(conn: &Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0)).expect(sql)
}

#[test]
fn a_narrow_time_range_reads_only_that_range() {
    let f = fixture(1000..2000);
    let n = count(
        &f.conn,
        "SELECT count(*) FROM bpf_process_events WHERE time >= 1500 AND time < 1510",
    );
    assert_eq!(n, 10);
    assert_eq!(
        f.process_table.rows_visited(),
        10,
        "only the range was read"
    );

    let before = f.process_table.rows_visited();
    let n = count(
        &f.conn,
        "SELECT count(*) FROM bpf_process_events WHERE time > 1997",
    );
    assert_eq!(n, 2);
    assert_eq!(f.process_table.rows_visited() - before, 2);

    // ntime (nanoseconds, text as in osquery) is pushed down too.
    let before = f.process_table.rows_visited();
    let n = count(
        &f.conn,
        &format!(
            "SELECT count(*) FROM bpf_process_events WHERE ntime >= '{}'",
            1990 * SEC
        ),
    );
    assert_eq!(n, 10);
    assert_eq!(f.process_table.rows_visited() - before, 10);

    // Without a constraint everything is read; an impossible range reads nothing.
    assert_eq!(
        count(&f.conn, "SELECT count(*) FROM bpf_process_events"),
        1000
    );
    let before = f.process_table.rows_visited();
    assert_eq!(
        count(
            &f.conn,
            "SELECT count(*) FROM bpf_process_events WHERE time > 1600 AND time < 1500"
        ),
        0
    );
    assert_eq!(f.process_table.rows_visited(), before);
}

#[test]
fn text_and_fractional_bounds_give_the_same_rows_as_sqlite_would() {
    let f = fixture(1000..1100);
    // strftime returns text; SQLite compares it as a number against an integer column.
    assert_eq!(
        count(
            &f.conn,
            "SELECT count(*) FROM bpf_process_events WHERE time > '1090'"
        ),
        9
    );
    assert_eq!(
        count(
            &f.conn,
            "SELECT count(*) FROM bpf_process_events WHERE time <= 1010.5"
        ),
        11
    );
    assert_eq!(
        count(
            &f.conn,
            "SELECT count(*) FROM bpf_process_events WHERE time = 1042"
        ),
        1
    );
}

#[test]
fn columns_follow_osquery_and_hidden_ones_stay_hidden() {
    let f = fixture(1000..1001);
    let stmt = f
        .conn
        .prepare("SELECT * FROM bpf_process_events")
        .expect("prepare");
    let names: Vec<String> = stmt.column_names().map(str::to_owned).collect();
    assert_eq!(
        &names[..14],
        &[
            "tid",
            "pid",
            "parent",
            "uid",
            "gid",
            "cid",
            "exit_code",
            "probe_error",
            "syscall",
            "path",
            "cwd",
            "cmdline",
            "duration",
            "ntime"
        ]
    );
    for hidden in ["json_cmdline", "time", "eid"] {
        assert!(!names.iter().any(|n| n == hidden), "{hidden} is hidden");
    }
    let (cmdline, json, time, syscall, exit_code): (String, String, i64, String, String) = f
        .conn
        .query_row(
            "SELECT cmdline, json_cmdline, time, syscall, exit_code FROM bpf_process_events",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .expect("row");
    assert_eq!(cmdline, "/usr/bin/env VAR=1 /bin/true");
    assert_eq!(json, r#"["/usr/bin/env","VAR=1","/bin/true"]"#);
    assert_eq!(time, 1000);
    assert_eq!(syscall, "execve");
    assert_eq!(exit_code, "0");
}

#[test]
fn a_corrupted_row_is_skipped_and_counted_not_a_crash() {
    let f = fixture(1000..1003);
    f.store
        .put_raw(
            EventTable::BpfProcessEvents,
            1001 * SEC + 5,
            b"\x01\xff garbage",
        )
        .expect("put garbage");
    assert_eq!(count(&f.conn, "SELECT count(*) FROM bpf_process_events"), 3);
    let corrupt = count(
        &f.conn,
        "SELECT corrupt FROM vigil_events WHERE name = 'bpf_process_events'",
    );
    assert_eq!(corrupt, 1);
    assert_eq!(
        f.counters
            .table("bpf_process_events")
            .expect("table")
            .values()
            .corrupt,
        1
    );
    // The alias answers too.
    assert_eq!(
        count(
            &f.conn,
            "SELECT count(*) FROM osquery_events WHERE corrupt = 1"
        ),
        1
    );
}

#[test]
fn tables_without_a_store_are_empty_not_errors() {
    let conn = Connection::open_in_memory().expect("sqlite");
    let tables = vigil_tables::all_tables(TablesContext {
        store: None,
        counters: Counters::new(&EventTable::names()),
        counter_source: CounterSource::None,
        agent: vigil_tables::AgentInfo::default(),
        scope: None,
    });
    vigil_tables::register(&conn, &tables).expect("register");
    assert_eq!(count(&conn, "SELECT count(*) FROM bpf_process_events"), 0);
    assert_eq!(count(&conn, "SELECT active FROM vigil_events"), 0);
}

#[test]
fn columns_a_query_reads_are_filled_whatever_else_it_skips() {
    let conn = Connection::open_in_memory().expect("sqlite");
    let table: Arc<dyn Table> = Arc::new(vigil_tables::snapshot::processes::Processes);
    vigil_tables::register(&conn, &[table]).expect("register");
    let me = std::process::id();
    let (name, cmdline): (String, String) = conn
        .query_row(
            &format!("SELECT name, cmdline FROM processes WHERE pid = {me}"),
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("row");
    assert!(!name.is_empty() && !cmdline.is_empty());
    // A column the query only filters on is read too.
    let n: i64 = conn
        .query_row(
            &format!("SELECT count(*) FROM processes WHERE pid = {me} AND cwd != ''"),
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(n, 1);
}

#[test]
fn ntime_equal_to_a_stored_value_finds_its_row() {
    // Nanosecond times are beyond an f64's exact integers: 1764500000000000123 would round to
    // ...000 and the pushed-down range would miss the row.
    let f = fixture(1_764_500_000..1_764_500_003);
    let ntime = 1_764_500_001 * SEC + 123;
    for sql in [
        format!("SELECT count(*) FROM bpf_process_events WHERE ntime = '{ntime}'"),
        format!("SELECT count(*) FROM bpf_process_events WHERE ntime = {ntime}"),
        format!(
            "SELECT count(*) FROM bpf_process_events WHERE ntime >= {ntime} AND ntime <= {ntime}"
        ),
    ] {
        assert_eq!(count(&f.conn, &sql), 1, "{sql}");
    }
}

#[test]
fn an_event_scan_fills_the_columns_a_query_reads_and_leaves_the_others_null() {
    let f = fixture(100..103);
    // Through SQL: a column read only in a filter has its value too.
    assert_eq!(
        count(
            &f.conn,
            "SELECT count(*) FROM bpf_process_events \
             WHERE cmdline = '/usr/bin/env VAR=1 /bin/true' AND json_cmdline LIKE '[\"/usr/%' \
             AND ntime LIKE '%123'"
        ),
        3
    );
    // A scan asked for `path` alone makes no other text cell.
    let column = |name: &str| {
        f.process_table
            .columns()
            .iter()
            .position(|c| c.name == name)
            .expect("a column of the table")
    };
    let request = vigil_tables::ScanRequest {
        columns_used: Some(1 << column("path")),
        ..Default::default()
    };
    let rows: Vec<vigil_tables::Row> = f
        .process_table
        .scan(&request)
        .expect("scan")
        .collect::<Result<_, _>>()
        .expect("rows");
    assert_eq!(rows.len(), 3);
    let row = &rows[1];
    assert_eq!(
        row[column("path")],
        vigil_tables::Value::from("/usr/bin/env")
    );
    for unread in [
        "cmdline",
        "json_cmdline",
        "cwd",
        "ntime",
        "exit_code",
        "comm",
    ] {
        assert_eq!(row[column(unread)], vigil_tables::Value::Null, "{unread}");
    }
    // Numbers cost nothing to fill: they are there whatever the query reads.
    assert_eq!(row[column("pid")], vigil_tables::Value::Int(101));
}

/// `LIKE` and `=` on a column stored verbatim are tried on each row's stored bytes first: rows
/// that cannot match are skipped undecoded (an undecodable row without the literal is not even
/// counted as corrupt), and every query returns exactly the rows SQLite's own comparison keeps
/// (the same query written so that nothing is handed down to the table).
#[test]
fn like_and_equality_on_stored_text_skip_rows_undecoded_and_return_what_sqlite_keeps() {
    let f = fixture(1000..1010);
    let mut curl = event(2000, 77);
    curl.path = "/usr/bin/Curl".into();
    curl.cwd = "/home/ünïcode/100%_done".into();
    curl.task.comm = "curl".into();
    let curl = Event::Process(curl);
    f.store
        .append(
            EventTable::BpfProcessEvents,
            &[(curl.time_ns(), curl.encode())],
        )
        .expect("append");
    f.store
        .put_raw(
            EventTable::BpfProcessEvents,
            1001 * SEC + 5,
            b"\x01\xff garbage",
        )
        .expect("put garbage");
    let corrupt = || {
        f.counters
            .table("bpf_process_events")
            .expect("table")
            .values()
            .corrupt
    };
    for (condition, expected) in [
        ("path LIKE '%curl%'", 1),
        ("path LIKE '%CURL'", 1),
        ("path LIKE '/usr/bin/_url'", 1),
        ("path LIKE '%env%'", 10),
        ("path LIKE '%wget%'", 0),
        ("path = '/usr/bin/Curl'", 1),
        ("path = '/usr/bin/curl'", 0),
        ("path = '/usr/bin/Curl  ' COLLATE RTRIM", 1),
        ("cwd LIKE '%ünïcode/100%'", 1),
        ("cwd = '/home/ünïcode/100%_done'", 1),
        ("cwd LIKE '%100\\%%' ESCAPE '\\'", 1),
        ("comm LIKE 'cur%' AND path LIKE '%bin%'", 1),
        ("cmdline LIKE '%VAR=1 /bin%'", 11),
    ] {
        let pushed = count(
            &f.conn,
            &format!("SELECT count(*) FROM bpf_process_events WHERE {condition}"),
        );
        let unpushed = count(
            &f.conn,
            &format!(
                "SELECT count(*) FROM (SELECT * FROM bpf_process_events LIMIT -1) WHERE \
                 {condition}"
            ),
        );
        assert_eq!((pushed, unpushed), (expected, expected), "{condition}");
    }
    // The garbage row lacks "curl": under the pushed-down LIKE it was never decoded.
    let before = corrupt();
    count(
        &f.conn,
        "SELECT count(*) FROM bpf_process_events WHERE path LIKE '%curl%'",
    );
    assert_eq!(
        corrupt(),
        before,
        "a row without the literal is not decoded"
    );
    count(
        &f.conn,
        "SELECT count(*) FROM bpf_process_events WHERE path || '' LIKE '%curl%'",
    );
    assert_eq!(
        corrupt(),
        before + 1,
        "without the pushdown every row is decoded"
    );
}
