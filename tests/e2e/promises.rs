//! The promises of SECURITY.md that hold whatever the host does, checked on the real daemon with
//! every feature on (events, a schedule, the TLS config, logger and distributed queries against
//! the test server), through a worker restart: it never listens, it starts no program but its
//! worker, and it talks only to the configured server. A second daemon watches the first with
//! its own eBPF probes (a daemon leaves its own worker out of what it records).

use std::{
    collections::BTreeSet,
    net::{SocketAddr, ToSocketAddrs as _},
    time::{Duration, Instant},
};

use serde_json::{Value, json};

use crate::{
    inet_sockets::inet_sockets_of,
    support::{Daemon, VIGIL, field, poll, query_json, worker_of},
    tls_server::{Pki, TlsServer, remote_args},
};

const WAIT: Duration = Duration::from_secs(60);
/// How long the sockets are watched around each worker.
const WATCH: Duration = Duration::from_secs(10);

fn everything_on(server: &TlsServer, pki: &Pki) -> Vec<String> {
    let ca = pki.ca_file();
    let mut args = remote_args(server, pki, &ca);
    args.extend(
        [
            "--config_plugin=tls",
            "--config_tls_endpoint=/config",
            "--config_refresh=1",
            "--logger_plugin=filesystem,tls",
            "--logger_tls_endpoint=/log",
            "--logger_tls_period=1",
            "--disable_distributed=false",
            "--distributed_tls_read_endpoint=/distributed/read",
            "--distributed_tls_write_endpoint=/distributed/write",
            "--distributed_interval=1",
            "--schedule_splay_percent=0",
        ]
        .map(String::from),
    );
    args
}

/// The sockets of the watcher and its worker, looked at every 100 ms for `WATCH`: what breaks
/// "never listens", and every peer.
struct SocketWatch {
    broken: BTreeSet<String>,
    peers: BTreeSet<SocketAddr>,
}

impl SocketWatch {
    fn look(&mut self, pids: &[u32]) {
        for &pid in pids {
            for socket in inet_sockets_of(pid) {
                if let Some(reason) = socket.listening() {
                    self.broken
                        .insert(format!("pid {pid} {reason}: {socket:?}"));
                }
                if socket.remote.port() != 0 {
                    self.peers.insert(socket.remote);
                }
            }
        }
    }

    fn watch(&mut self, pids: &[u32]) {
        let until = Instant::now() + WATCH;
        while Instant::now() < until {
            self.look(pids);
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// The observer's rows about processes in `pids` (or their children) since `since`.
fn process_rows(observer: &Daemon, pids: &[u32], since: u64) -> Vec<Value> {
    let list = pids
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",");
    query_json(
        &observer.db(),
        &format!(
            "SELECT pid, parent, syscall, path, cmdline, child_pid FROM bpf_process_events \
             WHERE (pid IN ({list}) OR parent IN ({list})) AND syscall != 'exit' \
             AND time >= {since}"
        ),
    )
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[test]
fn the_daemon_never_listens_starts_only_its_worker_and_talks_only_to_its_server() {
    let observer = Daemon::start(&[]);
    let pki = Pki::new();
    let server = TlsServer::start(&pki, None, false);
    server.with(|s| {
        s.config = json!({"schedule": {
            "execs": {"query": "SELECT pid, path FROM bpf_process_events", "interval": 1},
            "procs": {"query": "SELECT pid, name FROM processes", "interval": 2},
        }});
        s.distributed =
            Some(json!({"queries": {"sockets": "SELECT count(*) AS n FROM bpf_socket_events"}}));
    });
    let allowed: BTreeSet<SocketAddr> = ("localhost", server.port)
        .to_socket_addrs()
        .expect("localhost resolves")
        .collect();
    let since = unix_now().saturating_sub(1);
    let args = everything_on(&server, &pki);
    let subject = Daemon::start(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let watcher = subject.pid();
    let first = poll("the first worker", WAIT, || subject.worker_pid());

    let mut sockets = SocketWatch {
        broken: BTreeSet::new(),
        peers: BTreeSet::new(),
    };
    sockets.watch(&[watcher, first]);
    // A worker killed and started again: the watcher's restart path starts nothing else either.
    // SAFETY: signalling the worker of the daemon this test started.
    unsafe { libc::kill(first as i32, libc::SIGKILL) };
    let second = poll("a new worker", WAIT, || {
        subject.worker_pid().filter(|&pid| pid != first)
    });
    sockets.watch(&[watcher, second]);

    assert!(
        sockets.broken.is_empty(),
        "vigil listens: {:#?}",
        sockets.broken
    );
    assert!(
        !sockets.peers.is_empty(),
        "the watch saw no connection to the server at all (is the daemon talking to it?)"
    );
    let strangers: Vec<_> = sockets.peers.difference(&allowed).collect();
    assert!(
        strangers.is_empty(),
        "vigil talked to {strangers:?}, not only to its server {allowed:?}"
    );
    poll(
        "results and distributed answers at the server",
        WAIT,
        || {
            (server
                .log_lines("result")
                .iter()
                .any(|l| l["name"] == "execs")
                && !server.received("/distributed/write").is_empty())
            .then_some(())
        },
    );

    let vigil_pids = [watcher, first, second];
    let workers = [first, second];
    let exe = std::fs::canonicalize(VIGIL).expect("the vigil binary");
    let rows = poll("the observer's record of both worker starts", WAIT, || {
        let rows = process_rows(&observer, &vigil_pids, since);
        let starts = rows
            .iter()
            .filter(|r| field(r, "syscall") == "execve" && workers.contains(&pid_of(r, "pid")))
            .count();
        (starts >= 2).then_some(rows)
    });
    let me = std::process::id();
    for row in &rows {
        let syscall = field(row, "syscall");
        let pid = pid_of(row, "pid");
        if pid == watcher && pid_of(row, "parent") == me {
            continue; // this test starting the daemon
        }
        let started = if syscall.starts_with("exec") {
            pid
        } else {
            pid_of(row, "child_pid")
        };
        assert!(
            workers.contains(&started),
            "vigil started a process that is not its worker: {row}"
        );
        if syscall.starts_with("exec") {
            assert_eq!(field(row, "path"), exe.to_string_lossy(), "{row}");
            assert!(
                field(row, "cmdline").starts_with("vigil daemon "),
                "the worker runs as `vigil`: {row}"
            );
        }
    }

    // The kernel's view of the same: every socket call of the watcher and its workers.
    let list = vigil_pids.map(|p| p.to_string()).join(",");
    let calls = query_json(
        &observer.db(),
        &format!(
            "SELECT pid, syscall, family, remote_address, remote_port, status \
             FROM bpf_socket_events WHERE pid IN ({list}) AND family IN (2, 10) \
             AND time >= {since}"
        ),
    );
    assert!(
        calls.iter().any(|c| field(c, "syscall") == "connect"),
        "the observer saw vigil's connections: {calls:#?}"
    );
    for call in &calls {
        assert_eq!(
            field(call, "syscall"),
            "connect",
            "vigil only ever connects: {call}"
        );
        let peer = SocketAddr::new(
            field(call, "remote_address")
                .parse()
                .unwrap_or_else(|e| panic!("an address ({e}): {call}")),
            field(call, "remote_port").parse().expect("a port"),
        );
        assert!(
            allowed.contains(&peer),
            "vigil connected to {peer}, not to its server {allowed:?}: {call}"
        );
    }
    drop(subject);
    drop(observer);
}

fn pid_of(row: &Value, column: &str) -> u32 {
    field(row, column)
        .parse()
        .unwrap_or_else(|e| panic!("{column} is a pid ({e}): {row}"))
}

#[test]
fn the_worker_is_named_vigil_in_ps() {
    let daemon = Daemon::start(&["--disable_events"]);
    let worker = poll("the worker", WAIT, || worker_of(daemon.pid()));
    let comm = std::fs::read_to_string(format!("/proc/{worker}/comm")).expect("comm");
    assert_eq!(comm.trim_end(), "vigil", "pgrep, ps -C and top show `comm`");
    let cmdline = std::fs::read(format!("/proc/{worker}/cmdline")).expect("cmdline");
    let argv0 = cmdline.split(|&b| b == 0).next().unwrap_or_default();
    assert_eq!(
        String::from_utf8_lossy(argv0),
        "vigil",
        "ps shows the worker's argv"
    );
}
