//! The TLS remote API through the real binary, against a real HTTPS server started by the test:
//! enrollment, config, result and status logs that survive an unhealthy server and a SIGKILL,
//! distributed queries, certificate checks, mutual TLS and gzip.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::{
    support::{Daemon, cmdline_has, field, marker, poll, query_json, run_in},
    tls_server::{Behavior, Pki, SECRET, TlsServer, remote_args},
};

const WAIT: Duration = Duration::from_secs(60);

fn args_of(list: &[String]) -> Vec<&str> {
    list.iter().map(String::as_str).collect()
}

/// A daemon whose config comes from `server` and whose logs go to it (and to files).
fn remote_daemon(server: &TlsServer, pki: &Pki, extra: &[&str]) -> Daemon {
    Daemon::start(&args_of(&remote_daemon_args(server, pki, extra)))
}

fn remote_daemon_args(server: &TlsServer, pki: &Pki, extra: &[&str]) -> Vec<String> {
    let ca = pki.ca_file();
    let mut args = remote_args(server, pki, &ca);
    args.extend(
        [
            "--disable_events",
            "--config_plugin=tls",
            "--config_tls_endpoint=/config",
            "--config_refresh=1",
            "--logger_plugin=filesystem,tls",
            "--logger_tls_endpoint=/log",
            "--logger_tls_period=1",
            "--logger_tls_backoff_max=2",
            "--schedule_splay_percent=0",
        ]
        .map(String::from),
    );
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

fn ticking_schedule() -> Value {
    json!({"schedule": {"tick": {
        "query": "SELECT CAST(strftime('%s','now') AS INTEGER) AS second",
        "interval": 1, "snapshot": true,
    }}})
}

/// The snapshot lines of `name` the daemon wrote to its own file.
fn file_lines(daemon: &Daemon, name: &str) -> Vec<Value> {
    daemon
        .log("vigil.snapshots.log")
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["name"] == name)
        .collect()
}

/// Waits until every line in `expected` reached the server, once or more.
fn all_arrive(server: &TlsServer, expected: &[Value], what: &str) {
    poll(what, WAIT, || {
        let received = server.log_lines("result");
        expected
            .iter()
            .all(|line| received.contains(line))
            .then_some(())
    });
}

fn status_messages(server: &TlsServer) -> Vec<String> {
    server
        .log_lines("status")
        .iter()
        .filter_map(|l| l["message"].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn enrolls_takes_its_config_and_ships_logs_with_its_node_key() {
    let pki = Pki::new();
    let server = TlsServer::start(&pki, None, false);
    server.with(|s| {
        s.config = json!({"schedule": {"one": {"query": "SELECT 1 AS one", "interval": 1}}})
    });
    let daemon = remote_daemon(&server, &pki, &["--logger_tls_compress"]);

    let enroll = poll("an enrollment", WAIT, || {
        server.received("/enroll").into_iter().next()
    });
    assert_eq!(enroll.body["enroll_secret"], SECRET);
    assert_eq!(enroll.body["platform_type"], "9");
    assert!(
        enroll.body["host_identifier"]
            .as_str()
            .is_some_and(|h| !h.is_empty())
    );
    let details = &enroll.body["host_details"];
    assert!(
        details["os_version"]["name"]
            .as_str()
            .is_some_and(|n| !n.is_empty()),
        "{details}"
    );
    assert!(details["osquery_info"]["version"].is_string(), "{details}");
    assert!(details["system_info"].is_object(), "{details}");

    let line = poll("the scheduled query's result at the server", WAIT, || {
        server
            .log_lines("result")
            .into_iter()
            .find(|l| l["name"] == "one")
    });
    assert_eq!(line["columns"]["one"], "1");
    assert_eq!(line["action"], "added");
    let logs = server.received("/log");
    assert!(
        logs.iter().all(|r| r.gzip),
        "--logger_tls_compress sends gzip bodies"
    );
    assert!(
        logs.iter().all(|r| r.body["node_key"] == "node-key-1"
            && r.authorization.as_deref() == Some("NodeKey node-key-1")),
        "every request carries the node key"
    );
    let config = server.received("/config");
    assert_eq!(config[0].body["node_key"], "node-key-1");
    poll("status lines at the server", WAIT, || {
        status_messages(&server)
            .iter()
            .any(|m| m.contains("vigil daemon running"))
            .then_some(())
    });
    poll(
        "the same line in the filesystem logger's file",
        WAIT,
        || {
            daemon
                .log("vigil.results.log")
                .contains("\"name\":\"one\"")
                .then_some(())
        },
    );

    // The server forgets the node: the daemon enrolls again and goes on with the new key.
    server.with(|s| s.invalidate_next = true);
    poll("a second enrollment and logs with its key", WAIT, || {
        server
            .received("/log")
            .iter()
            .any(|r| r.accepted && r.body["node_key"] == "node-key-2")
            .then_some(())
    });
    assert_eq!(server.received("/enroll").len(), 2);

    poll("vigil_logger counts what each logger sent", WAIT, || {
        let rows = query_json(
            &daemon.db(),
            "SELECT name, sent FROM vigil_logger WHERE name IN ('filesystem', 'tls')",
        );
        (rows.len() == 2 && rows.iter().all(|r| field(r, "sent") != "0")).then_some(())
    });
}

#[test]
fn nothing_is_lost_while_the_server_is_down_failing_hanging_or_talking_nonsense() {
    let pki = Pki::new();
    let mut server = TlsServer::start(&pki, None, false);
    // The config's options apply too: small batches.
    let mut config = ticking_schedule();
    config["options"] = json!({"logger_tls_max_lines": 3});
    server.with(|s| s.config = config);
    let daemon = remote_daemon(&server, &pki, &[]);
    poll("the first tick at the server", WAIT, || {
        server
            .log_lines("result")
            .iter()
            .any(|l| l["name"] == "tick")
            .then_some(())
    });

    // Each state lasts longer than the longest wait between attempts (2 s) plus a request
    // timeout (3 s), so each is met at least once.
    server.go_down();
    std::thread::sleep(Duration::from_secs(5));
    server.come_back();
    for behavior in [Behavior::Error500, Behavior::Hang, Behavior::Garbage] {
        server.with(|s| s.behavior = behavior);
        std::thread::sleep(Duration::from_secs(6));
    }
    server.with(|s| s.behavior = Behavior::Healthy);
    let produced = file_lines(&daemon, "tick");
    assert!(produced.len() >= 12, "a tick a second: {}", produced.len());
    all_arrive(&server, &produced, "every tick produced meanwhile");

    let batches = server.received("/log");
    assert!(
        batches
            .iter()
            .all(|r| r.body["data"].as_array().is_some_and(|d| d.len() <= 3)),
        "--logger_tls_max_lines from the config's options holds"
    );
    // In order: the first time each tick arrives, it is not older than the one before.
    let mut seen = Vec::new();
    for line in server.log_lines("result") {
        let second = line["snapshot"][0]["second"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if !seen.contains(&second) {
            seen.push(second);
        }
    }
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted, "results arrive in the order they were made");

    let messages = status_messages(&server).join("\n");
    for failure in ["HTTP 500", "not a JSON object", "timed out", "onnect"] {
        assert!(
            messages.contains(failure),
            "a status line says `{failure}`:\n{messages}"
        );
    }
    let row = query_json(
        &daemon.db(),
        "SELECT failed_attempts, dropped FROM vigil_logger WHERE name = 'tls'",
    );
    assert_ne!(field(&row[0], "failed_attempts"), "0");
    assert_eq!(field(&row[0], "dropped"), "0", "nothing dropped");
}

#[test]
fn lines_buffered_at_a_sigkill_arrive_after_the_restart() {
    let pki = Pki::new();
    let server = TlsServer::start(&pki, None, false);
    server.with(|s| s.config = ticking_schedule());
    let daemon = remote_daemon(&server, &pki, &[]);
    poll("an enrollment", WAIT, || {
        (!server.received("/enroll").is_empty()).then_some(())
    });
    server.with(|s| s.behavior = Behavior::Error500);
    let since = Instant::now();
    poll("a few ticks buffered", WAIT, || {
        (since.elapsed() > Duration::from_secs(3) && file_lines(&daemon, "tick").len() >= 3)
            .then_some(())
    });
    let produced = file_lines(&daemon, "tick");
    let dir = daemon.kill();
    server.with(|s| s.behavior = Behavior::Healthy);
    let pki_again = &pki;
    let ca = pki_again.ca_file();
    let mut args = remote_args(&server, pki_again, &ca);
    args.extend(
        [
            "--disable_events",
            "--logger_plugin=tls",
            "--logger_tls_endpoint=/log",
            "--logger_tls_period=1",
        ]
        .map(String::from),
    );
    let _restarted = Daemon::start_in(dir, &args_of(&args));
    all_arrive(&server, &produced, "the lines buffered before the SIGKILL");
    assert_eq!(
        server.received("/enroll").len(),
        1,
        "the node key was kept in the database"
    );
}

#[test]
fn the_buffer_limit_drops_the_oldest_lines_and_says_so() {
    let pki = Pki::new();
    let server = TlsServer::start(&pki, None, false);
    server.with(|s| s.config = ticking_schedule());
    let daemon = remote_daemon(&server, &pki, &["--buffered_log_max=3"]);
    poll("an enrollment", WAIT, || {
        (!server.received("/enroll").is_empty()).then_some(())
    });
    server.with(|s| s.behavior = Behavior::Error500);
    let row = poll("lines dropped for --buffered_log_max", WAIT, || {
        query_json(
            &daemon.db(),
            "SELECT dropped_buffer_max, buffered FROM vigil_logger WHERE name = 'tls'",
        )
        .into_iter()
        .next()
        .filter(|r| field(r, "dropped_buffer_max") != "0")
    });
    // The limit holds after each attempt; lines made since then wait on top of it.
    let buffered: u64 = field(&row, "buffered").parse().expect("number");
    assert!(buffered < 20, "the buffer stays bounded: {buffered}");
    poll("a status line about it", WAIT, || {
        daemon
            .log("vigil.status.log")
            .contains("--buffered_log_max=3")
            .then_some(())
    });
}

fn distributed_args(server: &TlsServer, pki: &Pki) -> Vec<String> {
    let ca = pki.ca_file();
    let mut args = remote_args(server, pki, &ca);
    args.extend(
        [
            "--disable_events",
            "--disable_distributed=false",
            "--distributed_tls_read_endpoint=/distributed/read",
            "--distributed_tls_write_endpoint=/distributed/write",
            "--distributed_interval=1",
        ]
        .map(String::from),
    );
    args
}

#[test]
fn distributed_results_kept_at_a_crash_are_sent_after_the_restart() {
    let pki = Pki::new();
    let server = TlsServer::start(&pki, None, false);
    server.with(|s| {
        s.distributed = Some(json!({"queries": {"once": "SELECT 42 AS answer"}}));
        s.path_behavior = Some(("/distributed/write".into(), Behavior::Error500));
    });
    let args = distributed_args(&server, &pki);
    let daemon = Daemon::start(&args_of(&args));
    poll("a refused write of the result", WAIT, || {
        server
            .received("/distributed/write")
            .iter()
            .any(|r| !r.accepted && r.body["queries"]["once"].is_array())
            .then_some(())
    });
    let dir = daemon.kill();
    server.with(|s| s.path_behavior = None);
    let _restarted = Daemon::start_in(dir, &args_of(&args));
    let write = poll("the result, sent by the next daemon", WAIT, || {
        server
            .received("/distributed/write")
            .into_iter()
            .find(|r| r.accepted)
    });
    assert_eq!(write.body["queries"]["once"], json!([{"answer": "42"}]));
}

#[test]
fn a_result_the_server_refuses_holds_no_later_query_back_and_is_dropped_in_the_end() {
    let pki = Pki::new();
    let server = TlsServer::start(&pki, None, false);
    server.with(|s| {
        s.distributed = Some(json!({"queries": {"poison": "SELECT 1 AS one"}}));
        s.refuse_result_of = Some("poison".into());
    });
    let args = distributed_args(&server, &pki);
    let daemon = Daemon::start(&args_of(&args));
    poll("a refused write of the poison result", WAIT, || {
        server
            .received("/distributed/write")
            .iter()
            .any(|r| !r.accepted && r.body["queries"].get("poison").is_some())
            .then_some(())
    });

    server.with(|s| s.distributed = Some(json!({"queries": {"later": "SELECT 2 AS two"}})));
    let write = poll(
        "the later query's result, taken by the server",
        WAIT,
        || {
            server
                .received("/distributed/write")
                .into_iter()
                .find(|r| r.accepted && r.body["queries"].get("later").is_some())
        },
    );
    assert_eq!(write.body["queries"]["later"], json!([{"two": "2"}]));

    let row = poll("the poison result dropped and counted", WAIT, || {
        query_json(
            &daemon.db(),
            "SELECT dropped_rejected, dropped, buffered, sent FROM vigil_logger \
             WHERE name = 'distributed'",
        )
        .into_iter()
        .next()
        .filter(|r| field(r, "dropped_rejected") == "1")
    });
    assert_eq!(field(&row, "dropped"), "1");
    assert_eq!(field(&row, "buffered"), "0", "nothing else waits");
    assert_eq!(field(&row, "sent"), "1");
    poll("a status line saying so", WAIT, || {
        daemon
            .log("vigil.status.log")
            .lines()
            .any(|l| l.contains("poison") && l.contains("dropped"))
            .then_some(())
    });
    let refused = server
        .received("/distributed/write")
        .iter()
        .filter(|r| r.body["queries"].get("poison").is_some())
        .count();
    std::thread::sleep(Duration::from_secs(3));
    let refused_later = server
        .received("/distributed/write")
        .iter()
        .filter(|r| r.body["queries"].get("poison").is_some())
        .count();
    assert_eq!(refused, refused_later, "a dropped result is not sent again");
}

#[test]
fn distributed_queries_run_and_their_results_statuses_and_stats_come_back() {
    let pki = Pki::new();
    let server = TlsServer::start(&pki, None, false);
    server.with(|s| {
        s.distributed = Some(json!({
            "queries": {
                "good": "SELECT 1 AS one, 'two' AS two",
                "bad": "SELECT * FROM no_such_table",
                "elsewhere": "SELECT 1 AS one",
            },
            "discovery": {"elsewhere": "SELECT 1 WHERE 0"},
        }))
    });
    let args = distributed_args(&server, &pki);
    let _daemon = Daemon::start(&args_of(&args));
    let write = poll("the distributed write", WAIT, || {
        server.received("/distributed/write").into_iter().next()
    });
    let body = &write.body;
    assert_eq!(body["queries"]["good"], json!([{"one": "1", "two": "two"}]));
    assert_eq!(body["statuses"]["good"], 0);
    assert!(body["stats"]["good"]["wall_time_ms"].is_u64(), "{body}");
    assert_ne!(body["statuses"]["bad"], 0, "{body}");
    assert!(
        body["messages"]["bad"]
            .as_str()
            .is_some_and(|m| m.contains("no such table")),
        "{body}"
    );
    assert!(
        body["queries"].get("elsewhere").is_none(),
        "discovery said no: {body}"
    );
    assert_eq!(body["node_key"], "node-key-1");
}

/// A daemon that logs to `server` only; returns its stderr and status log after `wait`.
fn daemon_against(server: &TlsServer, pki: &Pki, ca: &std::path::Path, extra: &[String]) -> Daemon {
    let mut args = remote_args(server, pki, ca);
    args.extend(
        [
            "--disable_events",
            "--logger_plugin=filesystem,tls",
            "--logger_tls_endpoint=/log",
            "--logger_tls_period=1",
        ]
        .map(String::from),
    );
    args.extend(extra.iter().cloned());
    Daemon::start(&args_of(&args))
}

fn refused_with(server: &TlsServer, daemon: &Daemon, reason: &str) {
    let status = poll(&format!("a status line saying {reason}"), WAIT, || {
        let log = daemon.log("vigil.status.log");
        log.contains(reason).then_some(log)
    });
    assert!(status.contains("/enroll"), "{status}");
    assert!(
        server.received("/enroll").is_empty(),
        "no request got through"
    );
}

#[test]
fn a_server_signed_by_another_ca_is_refused() {
    let pki = Pki::new();
    let server = TlsServer::start(&pki, None, false);
    let daemon = daemon_against(&server, &pki, &pki.other_ca_file(), &[]);
    refused_with(&server, &daemon, "UnknownIssuer");
}

#[test]
fn a_certificate_for_another_name_is_refused() {
    let pki = Pki::new();
    let identity = pki.identity(&["other.example"], false, false);
    let server = TlsServer::start(&pki, Some(identity), false);
    let daemon = daemon_against(&server, &pki, &pki.ca_file(), &[]);
    refused_with(&server, &daemon, "not valid for name");
}

#[test]
fn an_expired_certificate_is_refused() {
    let pki = Pki::new();
    let identity = pki.identity(&["localhost"], false, true);
    let server = TlsServer::start(&pki, Some(identity), false);
    let daemon = daemon_against(&server, &pki, &pki.ca_file(), &[]);
    refused_with(&server, &daemon, "expired");
}

#[test]
fn mutual_tls_presents_the_client_certificate() {
    let pki = Pki::new();
    let server = TlsServer::start(&pki, None, true);
    let (cert, key) = pki.client_files();
    let with_cert = daemon_against(
        &server,
        &pki,
        &pki.ca_file(),
        &[
            format!("--tls_client_cert={}", cert.display()),
            format!("--tls_client_key={}", key.display()),
        ],
    );
    poll("logs over mutual TLS", WAIT, || {
        (!server.log_lines("status").is_empty()).then_some(())
    });
    drop(with_cert);
    let before = server.received("/enroll").len();
    let without = daemon_against(&server, &pki, &pki.ca_file(), &[]);
    poll("the refusal without a client certificate", WAIT, || {
        let log = without.log("vigil.status.log");
        (log.contains("/enroll") && log.contains("TLS logger")).then_some(())
    });
    assert_eq!(
        server.received("/enroll").len(),
        before,
        "no request without a certificate"
    );
}

#[test]
fn a_distributed_query_that_gets_the_worker_stopped_is_reported_failed() {
    let pki = Pki::new();
    let server = TlsServer::start(&pki, None, false);
    server.with(|s| {
        s.distributed = Some(json!({"queries": {"hog": crate::watchdog::MEMORY_HOG}}));
    });
    let mut args = distributed_args(&server, &pki);
    args.extend(
        [
            "--watchdog_delay=1",
            "--watchdog_memory_limit=300",
            "--watchdog_utilization_limit=100",
        ]
        .map(String::from),
    );
    let daemon = Daemon::start(&args_of(&args));
    let write = poll("the hog's failure at the server", WAIT, || {
        server
            .received("/distributed/write")
            .into_iter()
            .find(|r| r.accepted && r.body["statuses"].get("hog").is_some())
    });
    assert_ne!(write.body["statuses"]["hog"], 0, "{}", write.body);
    let message = write.body["messages"]["hog"].as_str().unwrap_or_default();
    assert!(message.contains("memory limit exceeded"), "{message}");
    assert!(
        daemon.stderr().contains("the watchdog stopped the worker"),
        "{}",
        daemon.stderr()
    );
}

#[test]
fn tls_disable_status_log_keeps_status_lines_local() {
    let pki = Pki::new();
    let server = TlsServer::start(&pki, None, false);
    server.with(|s| s.config = ticking_schedule());
    let daemon = remote_daemon(&server, &pki, &["--tls_disable_status_log"]);
    poll("a few ticks at the server", WAIT, || {
        (server
            .log_lines("result")
            .iter()
            .filter(|l| l["name"] == "tick")
            .count()
            >= 3)
            .then_some(())
    });
    assert!(server.log_lines("status").is_empty(), "no status line sent");
    assert!(
        daemon
            .log("vigil.status.log")
            .contains("vigil daemon running"),
        "status lines still go to the file"
    );
}

#[test]
fn stopping_the_daemon_interrupts_a_distributed_query_and_says_so() {
    let pki = Pki::new();
    let server = TlsServer::start(&pki, None, false);
    server.with(|s| {
        s.distributed = Some(json!({"queries": {"endless": crate::watchdog::CPU_HOG}}));
    });
    let mut args = distributed_args(&server, &pki);
    args.push("--watchdog_level=-1".into());
    let mut daemon = Daemon::start(&args_of(&args));
    poll("the query handed out", WAIT, || {
        server
            .received("/distributed/read")
            .iter()
            .any(|r| r.accepted)
            .then_some(())
    });
    std::thread::sleep(Duration::from_secs(1));
    // Without the interruption the query would run until the watcher's SIGKILL, and nothing would
    // be written.
    assert!(daemon.stop().success());
    let write = server
        .received("/distributed/write")
        .into_iter()
        .find(|r| r.accepted)
        .expect("the interrupted query reported before the daemon stopped");
    assert_ne!(write.body["statuses"]["endless"], 0);
    assert!(
        write.body["messages"]["endless"]
            .as_str()
            .is_some_and(|m| m.contains("interrupted")),
        "{}",
        write.body
    );
}

/// Whether the status log says a request to `path` met a redirect, and that it was not followed.
fn redirect_reported(daemon: &Daemon, path: &str) -> bool {
    daemon
        .log("vigil.status.log")
        .lines()
        .any(|l| l.contains("HTTP 307") && l.contains(path) && l.contains("follows no redirect"))
}

#[test]
fn a_redirect_is_reported_and_never_followed_with_the_secret_or_the_node_key() {
    let pki = Pki::new();
    let server = TlsServer::start(&pki, None, false);
    // Trusted like the real server: a client that followed redirects would talk to it.
    let elsewhere = TlsServer::start(&pki, None, false);
    let sent_elsewhere = || elsewhere.with(|s| (s.received.clone(), s.enrollments));
    server
        .with(|s| s.path_behavior = Some(("/enroll".into(), Behavior::RedirectTo(elsewhere.port))));
    let daemon = daemon_against(
        &server,
        &pki,
        &pki.ca_file(),
        &["--logger_tls_backoff_max=2".to_owned()],
    );
    poll("the enrollment's redirect dealt with", WAIT, || {
        (redirect_reported(&daemon, "/enroll") || sent_elsewhere().1 > 0).then_some(())
    });
    assert_eq!(
        sent_elsewhere().1,
        0,
        "the enroll secret went to the redirect's target"
    );

    // Enrolled, the node key would be next: the log endpoint redirects.
    server.with(|s| s.path_behavior = Some(("/log".into(), Behavior::RedirectTo(elsewhere.port))));
    poll("the log request's redirect dealt with", WAIT, || {
        (server.with(|s| s.enrollments) == 1 && redirect_reported(&daemon, "/log")
            || !sent_elsewhere().0.is_empty())
        .then_some(())
    });
    let (requests, enrollments) = sent_elsewhere();
    assert!(
        requests.is_empty() && enrollments == 0,
        "the redirect target got the node key: {requests:?}"
    );
}

#[test]
fn numbers_from_the_server_past_their_bounds_are_warned_about_and_panic_nothing() {
    let pki = Pki::new();
    let server = TlsServer::start(&pki, None, false);
    let mut config = ticking_schedule();
    config["options"] = json!({
        "config_refresh": u64::MAX,
        "logger_tls_backoff_max": u64::MAX.to_string(),
        "logger_tls_period": "soon",
        "distributed_interval": -5,
        "schedule_splay_percent": 1e30,
        "logger_tls_max_lines": 3,
    });
    server.with(|s| {
        s.config = config;
        s.distributed =
            Some(json!({"queries": {"first": "SELECT 1 AS one"}, "accelerate": u64::MAX}));
    });
    let ca = pki.ca_file();
    let mut args = remote_args(&server, &pki, &ca);
    // The numbers above are the server's alone: the command line names none of them.
    args.extend(
        [
            "--disable_events",
            "--config_plugin=tls",
            "--config_tls_endpoint=/config",
            "--logger_plugin=filesystem,tls",
            "--logger_tls_endpoint=/log",
            "--disable_distributed=false",
            "--distributed_tls_read_endpoint=/distributed/read",
            "--distributed_tls_write_endpoint=/distributed/write",
        ]
        .map(String::from),
    );
    let daemon = Daemon::start(&args_of(&args));
    let worker = poll("the worker", WAIT, || daemon.worker_pid());
    poll("the first distributed result", WAIT, || {
        server
            .received("/distributed/write")
            .iter()
            .any(|r| r.accepted && r.body["queries"].get("first").is_some())
            .then_some(())
    });
    // Checks are quick while accelerated (every 5 s), not every --distributed_interval (60 s).
    server.with(|s| {
        s.distributed = Some(json!({"queries": {"second": "SELECT 2 AS two"}, "accelerate": "-1"}));
    });
    poll("the second distributed result", WAIT, || {
        server
            .received("/distributed/write")
            .iter()
            .any(|r| r.accepted && r.body["queries"].get("second").is_some())
            .then_some(())
    });
    let status = daemon.log("vigil.status.log");
    assert!(!status.contains("panic"), "{status}");
    assert_eq!(
        daemon.worker_pid(),
        Some(worker),
        "the worker never restarted"
    );
    poll("a warning for each number out of bounds", WAIT, || {
        let log = daemon.log("vigil.status.log");
        [
            "options.logger_tls_period: ",
            "options.distributed_interval: ",
            "options.schedule_splay_percent: ",
            "--config_refresh=18446744073709551615 is more than 604800",
            "--logger_tls_backoff_max=18446744073709551615 is more than 604800",
            "`accelerate` 18446744073709551615 is more than 86400",
            "`accelerate` \\\"-1\\\" is not a number of seconds",
        ]
        .iter()
        .all(|w| log.contains(w))
        .then_some(())
    });
    poll("ticks at the server", WAIT, || {
        (!server.log_lines("result").is_empty()).then_some(())
    });
    assert!(
        server
            .received("/log")
            .iter()
            .all(|r| r.body["data"].as_array().is_some_and(|d| d.len() <= 3)),
        "the valid option (logger_tls_max_lines) applies beside the bad ones"
    );
}

#[test]
fn a_panic_in_a_background_part_is_logged_and_the_worker_restarted() {
    let pki = Pki::new();
    let server = TlsServer::start(&pki, None, false);
    server.with(|s| s.config = ticking_schedule());
    let marker = pki.dir.path().join("panicked");
    let fault = format!("vigil-tls-logger@{}", marker.display());
    let args = remote_daemon_args(&server, &pki, &[]);
    let daemon = Daemon::start_with_env(
        tempfile::tempdir().expect("dir"),
        &args_of(&args),
        &[("VIGIL_FAULT_PANIC", &fault)],
    );
    let status = poll("the panic in the status log", WAIT, || {
        let log = daemon.log("vigil.status.log");
        log.lines()
            .find(|l| l.contains("injected by VIGIL_FAULT_PANIC"))
            .map(str::to_owned)
    });
    assert!(status.contains("thread=vigil-tls-logger"), "{status}");
    assert!(status.contains("\"severity\":2"), "an error: {status}");
    poll("the restarted worker's logger shipping ticks", WAIT, || {
        server
            .log_lines("result")
            .iter()
            .any(|l| l["name"] == "tick")
            .then_some(())
    });
    assert!(
        daemon.stderr().contains("this worker replaces it"),
        "{}",
        daemon.stderr()
    );
}

/// A first start (no node key, no config yet) while `server` is out of reach: an exec is stored
/// within seconds; once `restore` brings the server back, the daemon enrolls, takes its config
/// and ships its results.
fn collects_from_the_start_while_the_server_is_away(
    mut server: TlsServer,
    pki: &Pki,
    restore: impl FnOnce(&mut TlsServer),
) {
    let ca = pki.ca_file();
    let mut args = remote_args(&server, pki, &ca);
    args.extend(
        [
            "--config_plugin=tls",
            "--config_tls_endpoint=/config",
            "--config_accelerated_refresh=1",
            "--logger_plugin=filesystem,tls",
            "--logger_tls_endpoint=/log",
            "--logger_tls_period=1",
            "--logger_tls_backoff_max=2",
            // Enrollment retried as by default, with short waits between attempts.
            "--tls_enroll_max_attempts=12",
            "--tls_enroll_max_interval=2",
        ]
        .map(String::from),
    );
    let started = Instant::now();
    let daemon = Daemon::start(&args_of(&args));
    let workdir = tempfile::tempdir().expect("workdir");
    let mark = marker("unreachable-server");
    let (_, out) = run_in(
        workdir.path(),
        "/bin/sh",
        &["-c", &format!("/bin/true {mark}")],
    );
    assert!(out.status.success());
    let sql = format!(
        "SELECT cmdline FROM bpf_process_events WHERE syscall = 'execve' AND {}",
        cmdline_has(&mark)
    );
    poll("the exec in the daemon's history", WAIT, || {
        (!query_json(&daemon.db(), &sql).is_empty()).then_some(())
    });
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(30),
        "events collected from the start: {took:?}"
    );
    assert_eq!(server.with(|s| s.enrollments), 0, "the server was away");

    restore(&mut server);
    poll(
        "enrollment, the config and its results at the server",
        WAIT,
        || {
            server
                .log_lines("result")
                .iter()
                .any(|l| l["name"] == "tick")
                .then_some(())
        },
    );
    assert!(
        daemon
            .log("vigil.status.log")
            .contains("the config could not be fetched at start"),
        "the status log says why the daemon started without the server's config"
    );
}

#[test]
fn a_server_that_refuses_connections_delays_no_event() {
    let pki = Pki::new();
    let mut server = TlsServer::start(&pki, None, false);
    server.with(|s| s.config = ticking_schedule());
    server.go_down();
    collects_from_the_start_while_the_server_is_away(server, &pki, TlsServer::come_back);
}

#[test]
fn a_server_that_hangs_delays_no_event() {
    let pki = Pki::new();
    let server = TlsServer::start(&pki, None, false);
    server.with(|s| {
        s.config = ticking_schedule();
        s.path_behavior = Some(("/enroll".into(), Behavior::Hang));
    });
    collects_from_the_start_while_the_server_is_away(server, &pki, |server| {
        server.with(|s| s.path_behavior = None)
    });
}
