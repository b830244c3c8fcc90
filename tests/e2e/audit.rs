//! The audit publisher against the kernel's real audit (root, CONFIG_AUDIT): rows in
//! `process_events` and `socket_events`, and the host's audit status and rules as they were after
//! a clean stop. Audit is host-wide: these tests take a lock file so they run one at a time (the
//! other e2e tests leave audit off), wait with a deadline for no other process (a peer's auditd)
//! to own audit, and put the host back when they end, passed or failed.

use std::{
    ffi::OsStr,
    fs::File,
    net::{TcpListener, TcpStream},
    os::{fd::AsRawFd, unix::ffi::OsStrExt},
    path::Path,
    process::{Command, Stdio},
    time::Duration,
};

use vigil_events::linux::audit::{
    netlink::AuditSocket,
    rules,
    status::{
        AuditStatus, MASK_BACKLOG_LIMIT, MASK_BACKLOG_WAIT_TIME, MASK_ENABLED, MASK_FAILURE,
        MASK_PID,
    },
};

use crate::support::{Daemon, cmdline_has, field, marker, poll, query_json};

pub(crate) const WAIT: Duration = Duration::from_secs(30);
/// How long a test waits for another process (auditd started by a peer) to let go of audit.
const FREE_WITHIN: Duration = Duration::from_secs(600);
const LOCK_FILE: &str = "/run/vigil-e2e-audit.lock";
pub(crate) const AUDIT_FLAGS: &[&str] = &[
    "--disable_audit=false",
    "--audit_allow_config",
    "--audit_allow_sockets",
];

/// What is compared before and after: the configured status fields and every rule.
#[derive(Debug, Clone, PartialEq, Eq)]
struct HostState {
    settings: [u32; 6],
    rules: Vec<Vec<u8>>,
}

fn state(socket: &mut AuditSocket) -> (AuditStatus, HostState) {
    let status = socket.status().expect("AUDIT_GET");
    let rules = socket.rules().expect("AUDIT_LIST_RULES");
    let state = HostState {
        settings: status.settings(),
        rules,
    };
    (status, state)
}

/// Holds the lock while a test runs, and puts the host's audit back as it was when dropped.
pub(crate) struct AuditHost {
    pub(crate) socket: AuditSocket,
    status: AuditStatus,
    before: HostState,
    _lock: File,
}

impl AuditHost {
    pub(crate) fn take() -> Self {
        let lock = File::create(LOCK_FILE).expect("the audit tests' lock file");
        // SAFETY: flock on an fd we own; blocks until the other audit test is done.
        let locked = unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) };
        assert_eq!(locked, 0, "locking {LOCK_FILE}");
        let mut socket = AuditSocket::open().expect(
            "the audit netlink socket opens (this kernel needs CONFIG_AUDIT, the test root)",
        );
        poll(
            "no other process to own audit (an auditd a peer started must stop first)",
            FREE_WITHIN,
            || {
                let pid = socket.status().expect("AUDIT_GET").pid;
                (pid == 0 || !Path::new(&format!("/proc/{pid}")).exists()).then_some(())
            },
        );
        let (status, before) = state(&mut socket);
        assert_ne!(
            status.enabled, 2,
            "audit is locked until reboot (enabled=2): these tests cannot run on this host"
        );
        Self {
            socket,
            status,
            before,
            _lock: lock,
        }
    }

    fn now(&mut self) -> HostState {
        state(&mut self.socket).1
    }
}

impl Drop for AuditHost {
    fn drop(&mut self) {
        let Ok(rules_now) = self.socket.rules() else {
            return;
        };
        for rule in rules_now.iter().filter(|r| !self.before.rules.contains(r)) {
            let _ = self.socket.delete_rule(rule);
        }
        for rule in self.before.rules.iter().filter(|r| !rules_now.contains(r)) {
            let _ = self.socket.add_rule(rule);
        }
        let _ = self.socket.set_status(&AuditStatus {
            mask: MASK_ENABLED | MASK_FAILURE | MASK_BACKLOG_LIMIT | MASK_BACKLOG_WAIT_TIME,
            ..self.status.clone()
        });
    }
}

pub(crate) fn audit_running(daemon: &Daemon, table: &str) {
    poll(&format!("{table} to be collected"), WAIT, || {
        let rows = query_json(
            &daemon.db(),
            &format!(
                "SELECT available, unavailable_reason FROM vigil_events WHERE name = '{table}'"
            ),
        );
        rows.first()
            .is_some_and(|row| field(row, "available") == "1")
            .then_some(())
    });
}

#[test]
fn an_exec_in_process_events_agrees_with_bpf_process_events() {
    let _host = AuditHost::take();
    let daemon = Daemon::start(AUDIT_FLAGS);
    audit_running(&daemon, "process_events");

    let mark = marker("audit-exec");
    let cwd = daemon.dir.path().join("a cwd with spaces");
    std::fs::create_dir(&cwd).expect("cwd");
    let mut not_utf8 = vec![0xff, 0xfe, b'-'];
    not_utf8.extend_from_slice(mark.as_bytes());
    let child = Command::new("/bin/sh")
        .args(["-c", "exit 0"])
        .arg(format!("{mark} has spaces"))
        .arg(OsStr::from_bytes(&not_utf8))
        .current_dir(&cwd)
        .stdout(Stdio::null())
        .spawn()
        .expect("sh starts");
    let pid = child.id();
    let status = child.wait_with_output().expect("sh ends").status;
    assert!(status.success());

    let sql = format!(
        "SELECT pid, parent, path, cmdline, cwd, uid, euid, auid, syscall FROM process_events \
         WHERE {}",
        cmdline_has(&mark)
    );
    let rows = poll("the marker exec in process_events", WAIT, || {
        let rows = query_json(&daemon.db(), &sql);
        (!rows.is_empty()).then_some(rows)
    });
    assert_eq!(rows.len(), 1, "{rows:#?}");
    let row = &rows[0];
    let sh = std::fs::canonicalize("/bin/sh").expect("/bin/sh");
    assert_eq!(field(row, "pid"), pid.to_string());
    assert_eq!(field(row, "parent"), std::process::id().to_string());
    assert_eq!(field(row, "path"), sh.to_string_lossy());
    assert_eq!(
        field(row, "cmdline"),
        format!("/bin/sh -c exit 0 {mark} has spaces \u{fffd}\u{fffd}-{mark}")
    );
    assert_eq!(field(row, "cwd"), cwd.to_string_lossy());
    assert_eq!(field(row, "syscall"), "execve");
    assert_eq!((field(row, "uid"), field(row, "euid")), ("0", "0"));
    let login_uid = std::fs::read_to_string("/proc/self/loginuid").expect("loginuid");
    assert_eq!(field(row, "auid"), login_uid.trim());

    let bpf = poll("the marker exec in bpf_process_events", WAIT, || {
        let rows = query_json(
            &daemon.db(),
            &format!(
                "SELECT pid, path FROM bpf_process_events WHERE syscall = 'execve' AND {}",
                cmdline_has(&mark)
            ),
        );
        (!rows.is_empty()).then_some(rows)
    });
    assert_eq!(field(&bpf[0], "pid"), field(row, "pid"));
    assert_eq!(field(&bpf[0], "path"), field(row, "path"));
}

#[test]
fn a_connect_to_a_local_listener_in_socket_events() {
    let _host = AuditHost::take();
    let daemon = Daemon::start(AUDIT_FLAGS);
    audit_running(&daemon, "socket_events");

    let listener = TcpListener::bind("127.0.0.1:0").expect("listen");
    let port = listener.local_addr().expect("addr").port();
    let client = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    let me = std::process::id();
    let listener_fd = listener.as_raw_fd();
    // A bind names the address asked for: port 0 here (the kernel picks the port after it).
    let sql = format!(
        "SELECT action, pid, fd, family, local_address, local_port, remote_address, \
         remote_port, status, path FROM socket_events WHERE pid = {me} \
         AND ((action = 'connect' AND remote_port = {port}) \
              OR (action = 'bind' AND fd = '{listener_fd}' AND local_address = '127.0.0.1'))"
    );
    let rows = poll("the bind and the connect in socket_events", WAIT, || {
        let rows = query_json(&daemon.db(), &sql);
        let has = |action: &str| rows.iter().any(|r| field(r, "action") == action);
        (has("connect") && has("bind")).then_some(rows)
    });
    let one = |action: &str| {
        rows.iter()
            .rfind(|r| field(r, "action") == action)
            .unwrap_or_else(|| panic!("a {action} row: {rows:#?}"))
    };
    let connect = one("connect");
    assert_eq!(field(connect, "family"), "2");
    assert_eq!(field(connect, "remote_address"), "127.0.0.1");
    assert_eq!(field(connect, "remote_port"), port.to_string());
    assert_eq!(field(connect, "status"), "succeeded");
    assert_eq!(field(connect, "fd"), client.as_raw_fd().to_string());
    let exe = std::env::current_exe().expect("exe");
    assert_eq!(field(connect, "path"), exe.to_string_lossy());
    let bind = one("bind");
    assert_eq!(field(bind, "family"), "2");
    assert_eq!(field(bind, "local_port"), "0");
    assert_eq!(field(bind, "status"), "succeeded");
}

#[test]
fn a_user_message_sent_as_sshd_would_in_user_events() {
    let _host = AuditHost::take();
    let daemon = Daemon::start(AUDIT_FLAGS);
    audit_running(&daemon, "user_events");

    let mark = marker("audit-user");
    let text = format!(
        "op=login acct=\"{mark}\" exe=\"/usr/sbin/sshd\" hostname=? addr=192.0.2.7 \
         terminal=ssh res=success"
    );
    let audit_user_login = 1112;
    AuditSocket::open()
        .expect("a socket to send from")
        .user_message(audit_user_login, &text)
        .expect("the kernel takes the user message");

    let sql = format!(
        "SELECT type, pid, uid, auid, message, path, address, terminal FROM user_events \
         WHERE instr(message, '{mark}') > 0"
    );
    let rows = poll("the user message in user_events", WAIT, || {
        let rows = query_json(&daemon.db(), &sql);
        (!rows.is_empty()).then_some(rows)
    });
    assert_eq!(rows.len(), 1, "{rows:#?}");
    let row = &rows[0];
    assert_eq!(field(row, "type"), audit_user_login.to_string());
    assert_eq!(field(row, "pid"), std::process::id().to_string());
    assert_eq!(field(row, "uid"), "0");
    let login_uid = std::fs::read_to_string("/proc/self/loginuid").expect("loginuid");
    assert_eq!(field(row, "auid"), login_uid.trim());
    assert_eq!(field(row, "message"), text);
    assert_eq!(field(row, "path"), "/usr/sbin/sshd");
    assert_eq!(field(row, "address"), "192.0.2.7");
    assert_eq!(field(row, "terminal"), "ssh");
}

#[test]
fn forks_with_allow_fork_process_events_and_no_thread_as_a_process() {
    let _host = AuditHost::take();
    let mut flags = AUDIT_FLAGS.to_vec();
    flags.push("--audit_allow_fork_process_events");
    let daemon = Daemon::start(&flags);
    audit_running(&daemon, "process_events");

    // SAFETY: gettid has no preconditions.
    let thread = std::thread::spawn(|| unsafe { libc::gettid() })
        .join()
        .expect("a thread");
    let mark = marker("audit-fork");
    // sh forks a child for /bin/true (dash with vfork, other shells with glibc's fork, a clone),
    // which then execs it.
    let sh = Command::new("/bin/sh")
        .args(["-c", "/bin/true \"$0\"; exit 0", &mark])
        .spawn()
        .expect("sh starts");
    let sh_pid = sh.id();
    assert!(sh.wait_with_output().expect("sh ends").status.success());

    let exec = poll("the child's exec in process_events", WAIT, || {
        let sql = format!(
            "SELECT pid, parent FROM process_events WHERE syscall = 'execve' AND path = \
             '{}' AND {}",
            std::fs::canonicalize("/bin/true")
                .expect("/bin/true")
                .to_string_lossy(),
            cmdline_has(&mark)
        );
        query_json(&daemon.db(), &sql).into_iter().next()
    });
    assert_eq!(field(&exec, "parent"), sh_pid.to_string());
    let fork = poll("sh's fork in process_events", WAIT, || {
        let sql = format!(
            "SELECT pid, parent, path, syscall FROM process_events WHERE parent = {sh_pid} \
             AND syscall IN ('fork', 'vfork', 'clone')"
        );
        query_json(&daemon.db(), &sql).into_iter().next()
    });
    assert_eq!(
        field(&fork, "pid"),
        field(&exec, "pid"),
        "the forked child is the one that execs"
    );
    let sh_path = std::fs::canonicalize("/bin/sh").expect("/bin/sh");
    assert_eq!(field(&fork, "path"), sh_path.to_string_lossy());
    let threads = query_json(
        &daemon.db(),
        &format!("SELECT pid, syscall FROM process_events WHERE pid = {thread}"),
    );
    assert!(threads.is_empty(), "a thread is no process: {threads:#?}");
}

#[test]
fn without_allow_config_vigil_changes_nothing_and_reads_the_hosts_own_rule() {
    let mut host = AuditHost::take();
    // The host's own audit: on, with an execve rule that is not vigil's.
    host.socket
        .set_status(&AuditStatus {
            mask: MASK_ENABLED,
            enabled: 1,
            ..AuditStatus::default()
        })
        .expect("AUDIT_SET");
    let execve = 59;
    host.socket
        .add_rule(&rules::syscall_rule(&[execve], "vigil-e2e-host-exec"))
        .expect("the host's rule");
    let before = host.now();

    let mut daemon = Daemon::start(&["--disable_audit=false"]);
    audit_running(&daemon, "process_events");
    let reason = query_json(
        &daemon.db(),
        "SELECT unavailable_reason FROM vigil_events WHERE name = 'process_events'",
    );
    assert!(
        field(&reason[0], "unavailable_reason").contains("vigil adds no audit rule"),
        "{reason:#?}"
    );
    let mark = marker("audit-host-rule");
    let status = Command::new("/bin/sh")
        .args(["-c", "exit 0", &mark])
        .status()
        .expect("sh runs");
    assert!(status.success());
    poll("the exec the host's rule records", WAIT, || {
        let sql = format!(
            "SELECT pid FROM process_events WHERE {}",
            cmdline_has(&mark)
        );
        (!query_json(&daemon.db(), &sql).is_empty()).then_some(())
    });
    let during = host.now();
    // Only the audit pid may change: vigil takes the records when no one else does.
    let but_pid = |state: &HostState| {
        let mut settings = state.settings;
        settings[2] = 0;
        (settings, state.rules.clone())
    };
    assert_eq!(but_pid(&during), but_pid(&before), "vigil changed nothing");
    assert!(daemon.stop().success());
    assert_eq!(host.now(), before, "the host's audit after the stop");
}

#[test]
fn a_backlog_limit_of_0_which_the_kernel_takes_for_none_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let check = |config: &str, flags: &[&str]| {
        let path = dir.path().join("vigil.conf");
        std::fs::write(&path, config).expect("config");
        crate::support::vigil()
            .args(["daemon", "--config_check", "--disable_audit=false"])
            .arg("--config_path")
            .arg(&path)
            .args(flags)
            .output()
            .expect("vigil runs")
    };
    let out = check("{}", &["--audit_backlog_limit=0"]);
    let error = crate::support::text(&out.stderr);
    assert!(
        !out.status.success(),
        "refused on the command line: {error}"
    );
    assert!(
        error.contains("--audit_backlog_limit") && error.contains("without bound"),
        "the error names the flag and why: {error}"
    );
    // From a config's options, it is left out with a warning, as any value its flag refuses.
    let out = check(r#"{"options": {"audit_backlog_limit": 0}}"#, &[]);
    let warning = crate::support::text(&out.stderr);
    assert!(
        warning.contains("options.audit_backlog_limit") && warning.contains("without bound"),
        "{warning}"
    );
}

#[test]
fn a_clean_stop_leaves_the_status_and_the_rules_as_they_were_with_another_owners_rule() {
    let mut host = AuditHost::take();
    // Settings of the host's own, unlike vigil's, and a rule that is not vigil's.
    host.socket
        .set_status(&AuditStatus {
            mask: MASK_FAILURE | MASK_BACKLOG_LIMIT | MASK_BACKLOG_WAIT_TIME,
            failure: 1,
            backlog_limit: 1234,
            backlog_wait_time: 15_000,
            ..AuditStatus::default()
        })
        .expect("AUDIT_SET");
    let getpid = 39;
    host.socket
        .add_rule(&rules::syscall_rule(&[getpid], "vigil-e2e-other-owner"))
        .expect("another owner's rule");
    let before = host.now();

    let mut daemon = Daemon::start(AUDIT_FLAGS);
    audit_running(&daemon, "process_events");
    let during = host.now();
    assert_eq!(during.settings[0], 1, "vigil enabled audit: {during:?}");
    assert_eq!(during.settings[1], 0, "failure mode silent");
    assert_eq!(during.settings[4], 4096, "--audit_backlog_limit");
    assert_eq!(during.settings[5], 0, "the kernel never waits for vigil");
    assert_eq!(
        during.rules.iter().filter(|r| rules::is_vigils(r)).count(),
        1,
        "vigil's rule is in"
    );
    for rule in &before.rules {
        assert!(during.rules.contains(rule), "the other rule stays");
    }
    assert!(daemon.stop().success());

    let after = host.now();
    assert_eq!(after, before, "the host's audit after a clean stop");
}

#[test]
fn what_a_killed_worker_changed_is_put_back_by_the_next_workers_clean_stop() {
    let mut host = AuditHost::take();
    let before = host.now();
    let mut daemon = Daemon::start(AUDIT_FLAGS);
    let first = poll("the worker to own audit", WAIT, || {
        let worker = daemon.worker_pid()?;
        (host.socket.status().expect("AUDIT_GET").pid == worker).then_some(worker)
    });
    // SAFETY: killing the daemon's worker, a process this test started.
    unsafe { libc::kill(first as i32, libc::SIGKILL) };
    poll(
        "the watchdog's next worker to own audit",
        Duration::from_secs(90),
        || {
            let worker = daemon.worker_pid().filter(|w| *w != first)?;
            (host.socket.status().expect("AUDIT_GET").pid == worker).then_some(())
        },
    );
    assert_eq!(
        host.now()
            .rules
            .iter()
            .filter(|r| rules::is_vigils(r))
            .count(),
        1,
        "the next worker took the killed one's rule over rather than add another"
    );
    assert!(daemon.stop().success());
    assert_eq!(host.now(), before, "the host's audit after the clean stop");
}

#[test]
fn another_owner_of_audit_is_left_in_charge_and_vigil_reads_the_copy() {
    let mut host = AuditHost::take();
    // This test process is the other owner (as auditd would be), and reads what it is sent.
    let me = std::process::id();
    let _owner = TestOwner::take();
    let mut daemon = Daemon::start(AUDIT_FLAGS);
    audit_running(&daemon, "process_events");
    let mark = marker("audit-copy");
    let status = Command::new("/bin/sh")
        .args(["-c", "exit 0", &mark])
        .status()
        .expect("sh runs");
    assert!(status.success());
    poll("the exec, read from the multicast copy", WAIT, || {
        let sql = format!(
            "SELECT pid FROM process_events WHERE {}",
            cmdline_has(&mark)
        );
        (!query_json(&daemon.db(), &sql).is_empty()).then_some(())
    });
    assert_eq!(
        host.socket.status().expect("AUDIT_GET").pid,
        me,
        "vigil did not take audit over"
    );
    let log = daemon.stderr();
    assert!(
        log.contains(&format!("audit is owned by another process (pid {me})")),
        "vigil says who owns audit: {log}"
    );
    assert!(daemon.stop().success());
}

/// This test process as the audit daemon: it owns the audit pid and reads (and drops) what it is
/// sent, until dropped, when it lets go of the pid, passed or failed.
struct TestOwner {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    reading: Option<std::thread::JoinHandle<AuditSocket>>,
}

impl TestOwner {
    fn take() -> Self {
        let mut socket = AuditSocket::open().expect("the owner's socket");
        socket
            .set_status(&AuditStatus {
                mask: MASK_PID,
                pid: std::process::id(),
                ..AuditStatus::default()
            })
            .expect("the test takes the audit pid");
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let reading = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let _ = socket.receive(Duration::from_millis(100));
                }
                socket
            })
        };
        Self {
            stop,
            reading: Some(reading),
        }
    }
}

impl Drop for TestOwner {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(Ok(mut socket)) = self.reading.take().map(|t| t.join()) {
            let _ = socket.set_status(&AuditStatus {
                mask: MASK_PID,
                pid: 0,
                ..AuditStatus::default()
            });
        }
    }
}
