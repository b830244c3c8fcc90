//! The syslog logger through the real binary, against a real datagram listener bound at the
//! socket path the daemon is given: osquery's framing, facility and severity, the CEE prefix, and
//! nothing lost while the socket is missing.

use std::{
    os::unix::net::UnixDatagram,
    path::Path,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    thread::JoinHandle,
    time::Duration,
};

use serde_json::{Value, json};

use crate::support::{Daemon, field, poll, query_json};

const WAIT: Duration = Duration::from_secs(60);

/// A syslog socket: every datagram it receives, as text.
pub struct SyslogListener {
    received: Arc<Mutex<Vec<String>>>,
    done: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl SyslogListener {
    pub fn bind(path: &Path) -> Self {
        let socket = UnixDatagram::bind(path).expect("bind the syslog socket");
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .expect("timeout");
        let received = Arc::new(Mutex::new(Vec::new()));
        let done = Arc::new(AtomicBool::new(false));
        let (into, stop) = (received.clone(), done.clone());
        let thread = std::thread::spawn(move || {
            let mut buffer = vec![0u8; 1 << 20];
            while !stop.load(Ordering::Relaxed) {
                if let Ok(n) = socket.recv(&mut buffer) {
                    let text = String::from_utf8_lossy(&buffer[..n]).into_owned();
                    into.lock().expect("lock").push(text);
                }
            }
        });
        Self {
            received,
            done,
            thread: Some(thread),
        }
    }

    pub fn received(&self) -> Vec<String> {
        self.received.lock().expect("lock").clone()
    }
}

impl Drop for SyslogListener {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// `<PRI>Mmm dd hh:mm:ss vigil[PID]: MSG` → (PRI, MSG), or a panic naming the datagram.
pub fn parse_frame(datagram: &str) -> (u16, &str) {
    let (pri, rest) = datagram
        .strip_prefix('<')
        .and_then(|d| d.split_once('>'))
        .unwrap_or_else(|| panic!("no <PRI>: {datagram}"));
    let pri = pri.parse().unwrap_or_else(|_| panic!("PRI: {datagram}"));
    // The timestamp is 15 characters, then one space, then the tag.
    let tag_and_message = rest
        .get(16..)
        .unwrap_or_else(|| panic!("short: {datagram}"));
    let (tag, message) = tag_and_message
        .split_once(": ")
        .unwrap_or_else(|| panic!("no TAG[PID]: {datagram}"));
    assert!(
        tag.starts_with("vigil[") && tag.ends_with(']'),
        "tag: {datagram}"
    );
    (pri, message)
}

pub fn ticking_config(dir: &Path) -> String {
    let path = dir.join("vigil.conf");
    let config = json!({"schedule": {"tick": {
        "query": "SELECT CAST(strftime('%s','now') AS INTEGER) AS second",
        "interval": 1, "snapshot": true,
    }}});
    std::fs::write(&path, config.to_string()).expect("config");
    format!("--config_path={}", path.display())
}

/// The daemon's own copy of its tick lines (the filesystem logger's file).
pub fn ticks_in_file(daemon: &Daemon) -> Vec<String> {
    daemon
        .log("vigil.snapshots.log")
        .lines()
        .filter(|l| l.contains("\"tick\""))
        .map(str::to_owned)
        .collect()
}

fn syslog_row(daemon: &Daemon) -> Value {
    query_json(
        &daemon.db(),
        "SELECT buffered, sent, dropped, failed_attempts, last_error FROM vigil_logger \
         WHERE name = 'syslog'",
    )
    .into_iter()
    .next()
    .expect("a syslog row")
}

#[test]
fn syslog_gets_every_line_with_facility_severity_and_cee_also_after_the_socket_appears() {
    let work = tempfile::tempdir().expect("work");
    let socket = work.path().join("log.sock");
    let socket_flag = format!("--logger_syslog_path={}", socket.display());
    let mut daemon = Daemon::start(&[
        "--disable_events",
        "--schedule_splay_percent=0",
        &ticking_config(work.path()),
        "--logger_plugin=filesystem,syslog",
        &socket_flag,
        "--logger_syslog_facility=17",
        "--logger_syslog_prepend_cee",
    ]);
    // No socket yet: reported, retried, and the lines wait.
    let row = poll("the missing socket in vigil_logger", WAIT, || {
        let row = syslog_row(&daemon);
        (field(&row, "failed_attempts") != "0" && ticks_in_file(&daemon).len() >= 3).then_some(row)
    });
    assert!(
        field(&row, "last_error").contains(&socket.display().to_string()),
        "the error names the socket: {row}"
    );
    assert_ne!(field(&row, "buffered"), "0", "lines wait: {row}");
    assert!(
        daemon.log("vigil.status.log").contains("syslog socket"),
        "the status log says so"
    );

    let listener = SyslogListener::bind(&socket);
    poll("the waiting lines to arrive", WAIT, || {
        let messages = listener.received();
        ticks_in_file(&daemon)
            .iter()
            .take(3)
            .all(|tick| messages.iter().any(|m| m.ends_with(tick.as_str())))
            .then_some(())
    });
    daemon.stop();

    let received = listener.received();
    let mut results = Vec::new();
    let mut statuses = Vec::new();
    for datagram in &received {
        let (pri, message) = parse_frame(datagram);
        assert_eq!(pri / 8, 17, "facility local1: {datagram}");
        match message.strip_prefix("@cee:") {
            Some(json) => {
                assert_eq!(pri % 8, 6, "results are LOG_INFO: {datagram}");
                results.push(json.to_owned());
            }
            None => statuses.push((pri % 8, message.to_owned())),
        }
    }
    // Every tick written to the file also reached syslog, each once.
    let ticks = ticks_in_file(&daemon);
    assert!(ticks.len() >= 3, "{ticks:?}");
    for tick in &ticks {
        let copies = results.iter().filter(|r| *r == tick).count();
        assert_eq!(copies, 1, "{tick} reached syslog {copies} times");
    }
    // The error about the missing socket is itself a status line: LOG_ERR, osquery's layout.
    assert!(
        statuses.iter().any(|(severity, message)| *severity == 3
            && message.starts_with("severity=2 location=")
            && message.contains("syslog socket")),
        "{statuses:?}"
    );
    let row = syslog_row(&daemon);
    assert_eq!(field(&row, "buffered"), "0", "{row}");
    assert_eq!(field(&row, "dropped"), "0", "{row}");
    assert_eq!(field(&row, "last_error"), "", "{row}");
}

#[test]
fn a_facility_syslog_does_not_have_is_refused_with_the_range() {
    let out = crate::support::vigil()
        .args(["daemon", "--disable_events", "--logger_plugin=syslog"])
        .arg("--logger_syslog_facility=24")
        .output()
        .expect("vigil runs");
    assert!(!out.status.success());
    let stderr = crate::support::text(&out.stderr);
    assert!(
        stderr.contains("logger_syslog_facility") && stderr.contains("0..=23"),
        "{stderr}"
    );
}

/// `name, buffered, sent, failed_attempts` of each logger's row.
pub fn logger_rows(daemon: &Daemon) -> Vec<(String, u64, u64, u64)> {
    query_json(
        &daemon.db(),
        "SELECT name, buffered, sent, failed_attempts FROM vigil_logger ORDER BY name",
    )
    .iter()
    .map(|r| {
        let number = |name: &str| field(r, name).parse::<u64>().expect("a number");
        (
            field(r, "name").to_owned(),
            number("buffered"),
            number("sent"),
            number("failed_attempts"),
        )
    })
    .collect()
}

/// Whether the file's `tick` line reached syslog (`messages`) and the TLS server.
pub fn reached_all(messages: &[String], server: &crate::tls_server::TlsServer, tick: &str) -> bool {
    let tick: Value = serde_json::from_str(tick).expect("JSON");
    messages.iter().any(|m| m.ends_with(&tick.to_string()))
        && server.log_lines("result").contains(&tick)
}

#[test]
fn filesystem_tls_and_syslog_at_once_each_keep_their_own_place_in_the_buffer() {
    use crate::tls_server::{Pki, TlsServer, remote_args};

    let pki = Pki::new();
    let server = TlsServer::start(&pki, None, false);
    let work = tempfile::tempdir().expect("work");
    let socket = work.path().join("log.sock");
    let listener = SyslogListener::bind(&socket);
    let ca = pki.ca_file();
    let mut args = remote_args(&server, &pki, &ca);
    args.extend([
        "--disable_events".to_owned(),
        "--schedule_splay_percent=0".to_owned(),
        ticking_config(work.path()),
        "--logger_plugin=filesystem,tls,syslog".to_owned(),
        "--logger_tls_endpoint=/log".to_owned(),
        "--logger_tls_period=1".to_owned(),
        format!("--logger_syslog_path={}", socket.display()),
    ]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut daemon = Daemon::start(&args);
    poll(
        "ticks in the file, at the TLS server and in syslog",
        WAIT,
        || {
            let ticks = ticks_in_file(&daemon);
            let messages = listener.received();
            (ticks.len() >= 2 && ticks.iter().all(|t| reached_all(&messages, &server, t)))
                .then_some(())
        },
    );

    // syslog goes away: its lines wait while the other two loggers go on.
    let mut messages = listener.received();
    drop(listener);
    std::fs::remove_file(&socket).expect("remove the socket");
    let waiting_for_syslog = poll("lines waiting for syslog alone", WAIT, || {
        let rows = logger_rows(&daemon);
        let row = |name: &str| rows.iter().find(|r| r.0 == name).cloned().expect(name);
        let (syslog, tls, files) = (row("syslog"), row("tls"), row("filesystem"));
        (syslog.1 >= 3 && syslog.3 > 0 && tls.1 < syslog.1 && files.1 < syslog.1)
            .then_some(syslog.1)
    });
    assert!(waiting_for_syslog >= 3);
    let listener = SyslogListener::bind(&socket);
    daemon.stop();

    messages.extend(listener.received());
    let ticks = ticks_in_file(&daemon);
    for tick in &ticks {
        assert!(
            reached_all(&messages, &server, tick),
            "{tick} reached every logger"
        );
    }
    let rows = logger_rows(&daemon);
    let names: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "distributed",
            "filesystem",
            "kafka_producer",
            "syslog",
            "tls"
        ]
    );
    // What the stop itself logs after the loggers' last round waits for the next start, the
    // same for each of them.
    for (name, buffered, sent, _) in &rows {
        if ["filesystem", "syslog", "tls"].contains(&name.as_str()) {
            assert!(*buffered <= 2, "{name}: no backlog left: {rows:?}");
            assert_eq!(
                *buffered, rows[1].1,
                "{name}: as much left as the others: {rows:?}"
            );
            assert!(
                *sent >= ticks.len() as u64,
                "{name} sent every tick: {rows:?}"
            );
        }
    }
    drop(listener);
}
