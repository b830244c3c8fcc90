//! Snapshot tables through the real binary: what fleet managers ask right after enrollment,
//! the guard on `file`, typed JSON, and event history joined with the present.

use std::{process::Command, time::Duration};

use crate::support::{Daemon, field, poll, query_json, text, vigil};

fn rows(sql: &str, extra: &[&str]) -> Vec<serde_json::Value> {
    let out = vigil()
        .arg("query")
        .args(extra)
        .args(["--json", sql])
        .output()
        .expect("vigil query runs");
    assert!(out.status.success(), "{sql}: {}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("json array")
}

#[test]
fn host_detail_queries_answer() {
    for table in [
        "os_version",
        "system_info",
        "vigil_info",
        "osquery_info",
        "uptime",
        "interface_addresses",
        "interface_details",
        "kernel_info",
        "users",
        "groups",
        "mounts",
        "time",
        "listening_ports",
        "processes",
    ] {
        let found = rows(&format!("SELECT * FROM {table}"), &[]);
        assert!(!found.is_empty(), "{table} returned no rows");
    }
    let info = rows("SELECT version, pid, build_platform FROM osquery_info", &[]);
    assert_eq!(field(&info[0], "version"), env!("CARGO_PKG_VERSION"));
    assert_eq!(field(&info[0], "build_platform"), "linux");
}

#[test]
fn file_without_a_path_says_what_it_needs() {
    let out = vigil()
        .args(["query", "SELECT * FROM file"])
        .output()
        .expect("vigil query runs");
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("file needs a path or directory"),
        "{stderr}"
    );
    assert!(stderr.contains("WHERE path = '/etc/passwd'"), "{stderr}");
    let ok = rows(
        "SELECT path, size FROM file WHERE path = '/etc/passwd'",
        &[],
    );
    assert_eq!(ok.len(), 1);
}

#[test]
fn json_numbers_stay_numbers_with_logger_numerics() {
    let typed = rows(
        "SELECT pid, name FROM processes WHERE pid = 1",
        &["--logger_numerics"],
    );
    assert_eq!(typed[0]["pid"], serde_json::json!(1));
    assert!(typed[0]["name"].is_string());
    let strings = rows("SELECT pid FROM processes WHERE pid = 1", &[]);
    assert_eq!(strings[0]["pid"], serde_json::json!("1"));
}

#[test]
fn event_history_joins_the_live_process_table() {
    let daemon = Daemon::start(&[]);
    let mark = crate::support::marker("join-live");
    let mut child = Command::new("/bin/sh")
        .args(["-c", "sleep 30", &mark])
        .spawn()
        .expect("sh starts");
    let pid = child.id();
    let sql = format!(
        "SELECT e.path AS ran, p.cmdline AS now FROM bpf_process_events e \
         JOIN processes p USING (pid) WHERE e.syscall = 'execve' AND e.pid = {pid}"
    );
    let joined = poll(
        "the exec joined with processes",
        Duration::from_secs(30),
        || {
            let rows = query_json(&daemon.db(), &sql);
            (!rows.is_empty()).then_some(rows)
        },
    );
    let _ = child.kill();
    let _ = child.wait();
    assert!(field(&joined[0], "now").contains(&mark), "{joined:#?}");
}
