//! vigil's SQL only reads: through `vigil query`, the shell, `--config_check` and the daemon's
//! scheduled queries and decorators, statements that would create or write a file (ATTACH,
//! VACUUM INTO), change the schema or set pragmas are refused with a message naming them, and
//! nothing appears on disk. Ad-hoc queries stop at their time bound.

use std::{
    io::Write as _,
    path::Path,
    process::{Output, Stdio},
    time::Duration,
};

use serde_json::json;

use crate::support::{Daemon, poll, text, vigil};

fn query(args: &[&str], sql: &str) -> Output {
    vigil()
        .arg("query")
        .args(args)
        .arg(sql)
        .output()
        .expect("vigil query runs")
}

/// Every statement that would write, with what its refusal names.
fn writes(dir: &Path) -> Vec<(String, &'static str)> {
    let file = |name: &str| dir.join(name).display().to_string();
    vec![
        (
            format!("ATTACH DATABASE '{}' AS evil", file("attached.db")),
            "ATTACH of the database file",
        ),
        (format!("VACUUM INTO '{}'", file("vacuumed.db")), "VACUUM"),
        (
            "PRAGMA writable_schema = 1".to_owned(),
            "PRAGMA writable_schema = 1",
        ),
        ("CREATE TABLE t(x)".to_owned(), "CREATE TABLE t"),
        (
            "CREATE TEMP VIEW v AS SELECT 1".to_owned(),
            "CREATE TEMP VIEW v",
        ),
    ]
}

fn assert_nothing_created(dir: &Path) {
    let left: Vec<_> = std::fs::read_dir(dir)
        .expect("dir")
        .flatten()
        .map(|e| e.file_name())
        .filter(|n| n.to_string_lossy().ends_with(".db"))
        .collect();
    assert!(left.is_empty(), "files were created: {left:?}");
}

#[test]
fn vigil_query_refuses_every_write_and_creates_no_file() {
    let dir = tempfile::tempdir().expect("dir");
    for (sql, named) in writes(dir.path()) {
        let out = query(&[], &sql);
        let stderr = text(&out.stderr);
        assert!(!out.status.success(), "`{sql}` succeeded: {stderr}");
        assert!(
            stderr.contains(&format!("Error: vigil's SQL is read-only: {named}")),
            "`{sql}`: {stderr}"
        );
    }
    assert_nothing_created(dir.path());
    let out = query(
        &["--json"],
        "SELECT name FROM pragma_table_info('processes') LIMIT 1",
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("\"name\""));
}

#[test]
fn the_shell_refuses_attach_and_keeps_reading() {
    let dir = tempfile::tempdir().expect("dir");
    let home = tempfile::tempdir().expect("home");
    let attached = dir.path().join("shell.db");
    let mut child = vigil()
        .arg("shell")
        .env("HOME", home.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("shell starts");
    let input = format!(
        "ATTACH '{}' AS evil;\nSELECT 40 + 2 AS answer;\n.quit\n",
        attached.display()
    );
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("input");
    let out = child.wait_with_output().expect("shell ends");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("Error: vigil's SQL is read-only: ATTACH of the database file"),
        "{stderr}"
    );
    assert!(text(&out.stdout).contains("42"), "{}", text(&out.stdout));
    assert!(!attached.exists());
}

#[test]
fn an_ad_hoc_query_over_its_time_bound_is_stopped_with_the_flag_named() {
    let forever =
        "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c) SELECT count(*) FROM c";
    let mut child = vigil()
        .args(["query", "--query_timeout=1", forever])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("vigil query starts");
    let status = poll("the query to be stopped", Duration::from_secs(60), || {
        child.try_wait().ok().flatten()
    });
    let out = child.wait_with_output().expect("output");
    assert!(!status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(
            "Error: the query ran longer than 1 s (--query_timeout) and was stopped; narrow it"
        ),
        "{stderr}"
    );
    let out = query(
        &["--query_max_rows=10"],
        "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c) SELECT i FROM c",
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("more than 10 rows (--query_max_rows)"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn scheduled_queries_decorators_and_config_check_refuse_writes_and_create_no_file() {
    let work = tempfile::tempdir().expect("work");
    let file = |name: &str| work.path().join(name).display().to_string();
    let config = json!({
        "schedule": {
            "attach": {"query": format!("ATTACH '{}' AS evil", file("scheduled.db")),
                       "interval": 1},
            "vacuum": {"query": format!("VACUUM INTO '{}'", file("vacuumed.db")), "interval": 1},
            "reads": {"query": "SELECT 1 AS one", "interval": 1},
        },
        "decorators": {"always": [format!("ATTACH '{}' AS deco", file("decorator.db"))]}
    });
    let path = work.path().join("vigil.conf");
    std::fs::write(&path, config.to_string()).expect("config");
    let config_arg = format!("--config_path={}", path.display());

    let check = vigil()
        .args(["daemon", "--config_check", &config_arg])
        .output()
        .expect("config check runs");
    let stderr = text(&check.stderr);
    assert!(!check.status.success(), "{stderr}");
    assert!(
        stderr.contains("error: schedule.attach.query: vigil's SQL is read-only: ATTACH"),
        "{stderr}"
    );
    assert!(
        stderr.contains("error: schedule.vacuum.query: vigil's SQL is read-only: VACUUM"),
        "{stderr}"
    );
    assert!(
        stderr.contains("error: decorators.always[0]: vigil's SQL is read-only: ATTACH"),
        "{stderr}"
    );

    let daemon = Daemon::start(&[
        &config_arg,
        "--disable_events",
        "--schedule_splay_percent=0",
    ]);
    let status = poll(
        "both refusals in the status log",
        Duration::from_secs(30),
        || {
            let log = daemon.log("vigil.status.log");
            let refused = |name: &str, what: &str| {
                log.lines().any(|l| {
                    l.contains("scheduled query failed")
                        && l.contains(&format!("query={name}"))
                        && l.contains(&format!("vigil's SQL is read-only: {what}"))
                })
            };
            (refused("attach", "ATTACH") && refused("vacuum", "VACUUM")).then_some(log)
        },
    );
    assert!(
        status.contains("decorator failed") && status.contains("ATTACH of the database file"),
        "{status}"
    );
    // The query that reads still runs (with the decorator left out).
    poll(
        "the reading query's result",
        Duration::from_secs(30),
        || {
            daemon
                .log("vigil.results.log")
                .contains("\"name\":\"reads\"")
                .then_some(())
        },
    );
    assert_nothing_created(work.path());
}

#[test]
fn distributed_queries_are_refused_writes_and_stopped_at_their_time_bound() {
    use crate::tls_server::{Pki, TlsServer, remote_args};
    let work = tempfile::tempdir().expect("work");
    let attached = work.path().join("distributed.db");
    let pki = Pki::new();
    let server = TlsServer::start(&pki, None, false);
    server.with(|s| {
        s.distributed = Some(json!({"queries": {
            "attach": format!("ATTACH '{}' AS evil", attached.display()),
            "forever": "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c) \
                        SELECT count(*) FROM c",
            "reads": "SELECT 1 AS one",
        }}));
    });
    let ca = pki.ca_file();
    let mut args = remote_args(&server, &pki, &ca);
    args.extend(
        [
            "--disable_events",
            "--disable_distributed=false",
            "--distributed_tls_read_endpoint=/distributed/read",
            "--distributed_tls_write_endpoint=/distributed/write",
            "--distributed_interval=1",
            "--query_timeout=1",
        ]
        .map(String::from),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let _daemon = Daemon::start(&args);
    let write = poll("the distributed write", Duration::from_secs(60), || {
        server.received("/distributed/write").into_iter().next()
    });
    let body = &write.body;
    assert_eq!(body["queries"]["reads"], json!([{"one": "1"}]), "{body}");
    assert_eq!(body["statuses"]["reads"], 0, "{body}");
    assert_ne!(body["statuses"]["attach"], 0, "{body}");
    let message = |id: &str| body["messages"][id].as_str().unwrap_or_default().to_owned();
    assert!(
        message("attach").starts_with("vigil's SQL is read-only: ATTACH of the database file"),
        "{body}"
    );
    assert_ne!(body["statuses"]["forever"], 0, "{body}");
    assert!(
        message("forever").starts_with("the query ran longer than 1 s (--query_timeout)"),
        "{body}"
    );
    assert!(!attached.exists());
}
