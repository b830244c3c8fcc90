//! osquery's checks of the event tables (`tables/tests/osquery_integration`, whose tables test
//! runs them over stored events) over real kernel events: a daemon records this test's exec, TCP
//! round trip and file changes, among whatever else the host does meanwhile, and every row the
//! event tables then hold passes its table's checks, hidden columns included.

use std::{
    collections::BTreeMap,
    io::Write as _,
    net::{Ipv4Addr, TcpListener, TcpStream},
    time::Duration,
};

use crate::support::{Daemon, cmdline_has, marker, poll, query_json, run_in};

#[path = "../../tables/tests/osquery_integration/checks.rs"]
mod checks;
#[path = "../../tables/tests/osquery_integration/entries.rs"]
mod entries;

const WAIT: Duration = Duration::from_secs(60);

/// A row of `vigil query --json` as osquery's checks read rows: every value as text.
fn as_row(row: &serde_json::Value) -> checks::Row {
    row.as_object()
        .map(|fields| {
            fields
                .iter()
                .map(|(name, value)| {
                    let text = match value {
                        serde_json::Value::String(s) => s.clone(),
                        serde_json::Value::Null => String::new(),
                        other => other.to_string(),
                    };
                    (name.clone(), text)
                })
                .collect::<BTreeMap<_, _>>()
        })
        .unwrap_or_default()
}

#[test]
fn every_event_row_passes_osquerys_checks() {
    let daemon = Daemon::start(&[]);
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let work = tempfile::tempdir().expect("work dir");
    // An exec (with a fork and an exit around it).
    let mark = marker("osquery-checks");
    run_in(work.path(), "/bin/sh", &["-c", &format!("true {mark}")]);
    // A TCP round trip on loopback: bind, listen, connect, accept.
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("listen");
    let port = listener.local_addr().expect("address").port();
    let mut client = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).expect("connect");
    let _accepted = listener.accept().expect("accept");
    client.write_all(b"x").expect("write");
    // A UNIX socket bound and connected to: its path is its address.
    let unix_path = work.path().join("checked.sock");
    let unix_listener = std::os::unix::net::UnixListener::bind(&unix_path).expect("unix bind");
    let _unix_client = std::os::unix::net::UnixStream::connect(&unix_path).expect("unix connect");
    let unix_path = unix_path.to_string_lossy().into_owned();
    // A file created, chmod'ed, renamed and removed.
    let file = work.path().join("checked");
    std::fs::write(&file, "x").expect("create");
    std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .expect("chmod");
    let moved = work.path().join("checked-moved");
    std::fs::rename(&file, &moved).expect("rename");
    std::fs::remove_file(&moved).expect("unlink");

    let db = daemon.db();
    let work_dir = work.path().to_string_lossy().into_owned();
    for (table, ours) in [
        ("bpf_process_events", cmdline_has(&mark)),
        (
            "bpf_socket_events",
            format!("local_port = {port} OR remote_port = {port}"),
        ),
        ("bpf_socket_events", format!("socket = '{unix_path}'")),
        ("bpf_file_events", format!("path LIKE '{work_dir}/%'")),
    ] {
        poll(&format!("this test's rows in {table}"), WAIT, || {
            (!query_json(&db, &format!("SELECT 1 FROM {table} WHERE {ours}")).is_empty())
                .then_some(())
        });
    }

    let mut problems = Vec::new();
    for table in ["bpf_process_events", "bpf_socket_events", "bpf_file_events"] {
        let entry = entries::ENTRIES
            .iter()
            .find(|e| e.table == table)
            .unwrap_or_else(|| panic!("an entry for {table}"));
        let hidden: Vec<&str> = entry.hidden.iter().map(|(c, _)| *c).collect();
        let sql = format!(
            "SELECT *, {} FROM {table} WHERE time >= {since}",
            hidden.join(", ")
        );
        let checks: Vec<_> = entry.columns.iter().chain(entry.hidden).copied().collect();
        let rows = query_json(&db, &sql);
        assert!(!rows.is_empty(), "{sql}: no rows");
        for row in &rows {
            problems.extend(
                checks::validate_row(&as_row(row), &checks, &work_dir)
                    .into_iter()
                    .map(|p| format!("{table}: {p}")),
            );
        }
    }
    problems.dedup();
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
    drop(unix_listener);
}
