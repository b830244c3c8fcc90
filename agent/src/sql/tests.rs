//! The connection every vigil query runs on, through [`super::run`]: everything that reads works,
//! nothing that writes does, and the limits stop a query with a message naming the flag.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use vigil_events::{Counters, EventTable};
use vigil_tables::{AgentInfo, CounterSource, Table, TablesContext};

use super::{Connection, Limits, message, prepare_all, run};

fn tables() -> Vec<Arc<dyn Table>> {
    vigil_tables::all_tables(TablesContext {
        store: None,
        counters: Counters::new(&EventTable::names()),
        counter_source: CounterSource::None,
        agent: AgentInfo::default(),
        scope: None,
    })
}

fn connection(limits: Limits) -> Connection {
    Connection::open(&tables(), limits).expect("opens")
}

/// The error `sql` stops with.
fn refusal(conn: &Connection, sql: &str) -> String {
    match run(conn, sql) {
        Ok(results) => panic!("`{sql}` ran: {results:?}"),
        Err(error) => message(&error),
    }
}

#[test]
fn every_table_joins_ctes_pragmas_and_functions_still_read() {
    let conn = connection(Limits::NONE);
    for table in tables() {
        for name in std::iter::once(table.name()).chain(table.aliases().iter().copied()) {
            let sql = match name {
                "file" | "hash" => format!("SELECT * FROM {name} WHERE path = '/etc/passwd'"),
                _ => format!("SELECT * FROM {name}"),
            };
            if let Err(error) = run(&conn, &sql) {
                panic!("`{sql}`: {}", message(&error));
            }
        }
    }
    let joined = run(
        &conn,
        "SELECT p.pid, f.size FROM processes p JOIN file f ON f.path = '/etc/passwd' \
         WHERE p.pid = 1",
    )
    .expect("a join");
    assert_eq!(joined[0].rows.len(), 1);
    let counted = run(
        &conn,
        "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 10) \
         SELECT count(*), group_concat(i) FROM c",
    )
    .expect("a recursive CTE");
    assert_eq!(counted[0].rows[0][0].text(), "10");
    let functions = run(
        &conn,
        "SELECT strftime('%s', 'now') > 0, json_extract('{\"a\": 7}', '$.a'), \
         printf('%05d', 42), lower('ABC'), datetime(0, 'unixepoch'), hex(unhex('00ff')), \
         coalesce(NULL, 'x'), substr('vigil', 2, 3), instr('abc', 'c')",
    )
    .expect("functions");
    let row: Vec<String> = functions[0].rows[0].iter().map(super::Cell::text).collect();
    assert_eq!(
        row,
        [
            "1",
            "7",
            "00042",
            "abc",
            "1970-01-01 00:00:00",
            "00FF",
            "x",
            "igi",
            "3"
        ]
    );
    let info = run(&conn, "PRAGMA table_info(processes)").expect("table_info");
    assert!(info[0].rows.len() > 10);
    let info = run(&conn, "SELECT name FROM pragma_table_info('users')").expect("pragma fn");
    assert!(info[0].rows.iter().any(|r| r[0].text() == "username"));
    assert!(prepare_all(&conn, "SELECT 1; SELECT pid FROM processes").is_ok());
}

/// Every connection (shell, `vigil query`, scheduler, distributed queries) comes from
/// [`Connection::open`]: osquery's functions are there, and a bad regex is an SQL error.
#[test]
fn osquery_functions_are_on_every_connection() {
    let conn = connection(Limits::NONE);
    let result = run(
        &conn,
        "SELECT split('10.1.2.3', '.', 0), inet_aton('10.0.0.1'), \
         regex_match(lower('FD00::1'), '^f[cd]', 0), concat('a', NULL, 'b'), \
         sha256('abc') = 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad', \
         version_compare('1.10', '1.9'), sqrt(16), from_base64(to_base64('x'))",
    )
    .expect("osquery's functions");
    let row: Vec<String> = result[0].rows[0].iter().map(super::Cell::text).collect();
    assert_eq!(row, ["10", "167772161", "fd", "ab", "1", "1", "4", "x"]);
    let text = refusal(&conn, "SELECT regex_match('x', '(', 0)");
    assert!(text.contains("regex_match: Invalid regex '('"), "{text}");
}

#[test]
fn attach_and_vacuum_into_are_refused_and_create_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let conn = connection(Limits::NONE);
    let attached = dir.path().join("attached.db");
    let text = refusal(
        &conn,
        &format!("ATTACH DATABASE '{}' AS a", attached.display()),
    );
    assert!(
        text.starts_with("vigil's SQL is read-only: ATTACH"),
        "{text}"
    );
    assert!(text.contains(&attached.display().to_string()), "{text}");
    let vacuumed = dir.path().join("vacuumed.db");
    let text = refusal(&conn, &format!("VACUUM INTO '{}'", vacuumed.display()));
    assert!(
        text.starts_with("vigil's SQL is read-only: VACUUM"),
        "{text}"
    );
    let text = refusal(&conn, "VACUUM");
    assert!(text.contains("VACUUM"), "{text}");
    // After a statement that reads, in the same text.
    let text = refusal(
        &conn,
        &format!("SELECT 1; ATTACH '{}' AS b", attached.display()),
    );
    assert!(text.contains("ATTACH"), "{text}");
    // Checking a config prepares without running: VACUUM is refused there too.
    let prepared = prepare_all(&conn, &format!("VACUUM INTO '{}'", vacuumed.display()));
    assert!(prepared.is_err());
    assert!(!attached.exists() && !vacuumed.exists());
    assert_eq!(
        std::fs::read_dir(dir.path()).expect("dir").count(),
        0,
        "nothing was created"
    );
}

#[test]
fn writes_schema_changes_and_writing_pragmas_are_refused_by_name() {
    let conn = connection(Limits::NONE);
    for (sql, named) in [
        ("CREATE TABLE t(x)", "CREATE TABLE t"),
        ("CREATE TEMP TABLE t(x)", "CREATE TEMP TABLE t"),
        ("CREATE VIEW v AS SELECT 1", "CREATE VIEW v"),
        ("CREATE TEMP VIEW v AS SELECT 1", "CREATE TEMP VIEW v"),
        (
            "CREATE VIRTUAL TABLE p USING processes",
            "CREATE VIRTUAL TABLE p USING processes",
        ),
        ("PRAGMA writable_schema = 1", "PRAGMA writable_schema = 1"),
        ("PRAGMA journal_mode = WAL", "PRAGMA journal_mode = WAL"),
        (
            "PRAGMA case_sensitive_like = 1",
            "PRAGMA case_sensitive_like = 1",
        ),
        ("BEGIN", "a transaction (BEGIN, COMMIT, ROLLBACK)"),
        ("SAVEPOINT s", "SAVEPOINT s"),
        ("DETACH DATABASE temp", "DETACH of temp"),
        ("ANALYZE", "CREATE TABLE sqlite_stat1"),
        (
            "SELECT load_extension('/tmp/x.so')",
            "the function load_extension()",
        ),
    ] {
        let text = refusal(&conn, sql);
        assert_eq!(
            text,
            format!(
                "vigil's SQL is read-only: {named} is not allowed (only SELECT, WITH and \
                 read-only PRAGMAs such as table_info run here)"
            ),
            "{sql}"
        );
    }
    // vigil's tables cannot be written at all (SQLite may say so before it asks the
    // authorizer); the schema's own tables, which a schema change writes first, are read-only to SQL.
    for sql in [
        "DELETE FROM processes",
        "INSERT INTO processes(pid) VALUES (1)",
        "UPDATE processes SET name = 'x'",
        "INSERT INTO sqlite_master VALUES ('table', 't', 't', 0, 'CREATE TABLE t(x)')",
        "UPDATE sqlite_temp_master SET sql = ''",
        "DELETE FROM sqlite_schema",
    ] {
        let text = refusal(&conn, sql);
        assert!(
            text.contains("may not be modified") || text.starts_with("vigil's SQL is read-only"),
            "{sql}: {text}"
        );
    }
    let still = run(&conn, "SELECT 1").expect("the connection still reads");
    assert_eq!(still[0].rows[0][0].text(), "1");
}

const FOREVER: &str =
    "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c) SELECT count(*) FROM c";

#[test]
fn a_query_over_the_time_bound_is_stopped_with_the_flag_named() {
    let conn = connection(Limits {
        timeout: Some(Duration::from_millis(300)),
        ..Limits::NONE
    });
    let started = Instant::now();
    let text = refusal(&conn, FOREVER);
    assert!(
        text.starts_with("the query ran longer than 0 s (--query_timeout) and was stopped"),
        "{text}"
    );
    assert!(started.elapsed() >= Duration::from_millis(300));
    let next = run(&conn, "SELECT 2").expect("the next query has its own time");
    assert_eq!(next[0].rows[0][0].text(), "2");
}

#[test]
fn an_interrupt_is_still_an_interrupt_under_a_time_bound() {
    let conn = connection(Limits {
        timeout: Some(Duration::from_secs(3600)),
        ..Limits::NONE
    });
    let handle = conn.get_interrupt_handle();
    let interrupter = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(200));
        handle.interrupt();
    });
    let error = run(&conn, FOREVER).expect_err("interrupted");
    assert_eq!(
        error.sqlite_error_code(),
        Some(rusqlite::ErrorCode::OperationInterrupted),
        "{error}"
    );
    interrupter.join().expect("interrupter");
}

#[test]
fn results_over_the_row_or_byte_bound_are_stopped_with_the_flag_named() {
    let counting = "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c) \
                    SELECT i, printf('%100d', i) FROM c";
    let rows = connection(Limits {
        max_rows: Some(1000),
        ..Limits::NONE
    });
    let text = refusal(&rows, counting);
    assert!(
        text.contains("more than 1000 rows (--query_max_rows)"),
        "{text}"
    );
    let bytes = connection(Limits {
        max_bytes: Some(10_000),
        ..Limits::NONE
    });
    let text = refusal(&bytes, counting);
    assert!(
        text.contains("larger than 10000 bytes (--query_max_bytes)"),
        "{text}"
    );
    let within = run(&rows, "SELECT i FROM (SELECT 1 AS i UNION SELECT 2)").expect("small");
    assert_eq!(within[0].rows.len(), 2);
}
