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
