//! The watchdog through the real binary: a watcher process supervises the worker, stops it over
//! its limits, blames and denylists the query that was running, restarts it after crashes, and
//! gives up on a worker that cannot start.

use std::{
    path::Path,
    process::Stdio,
    time::{Duration, Instant},
};

use serde_json::{Value, json};

use crate::support::{Daemon, cmdline_has, field, marker, poll, query_json, run_in, vigil};

const WAIT: Duration = Duration::from_secs(60);

/// Memory grows by 2 MB per step and each step copies the whole string: the worker's resident
/// size passes a few hundred MB within seconds and keeps growing for about a minute.
pub const MEMORY_HOG: &str = "WITH RECURSIVE s(i, x) AS (SELECT 0, '' UNION ALL \
     SELECT i + 1, x || hex(randomblob(1000000)) FROM s WHERE i < 480) \
     SELECT max(length(x)) AS size FROM s";

/// Pure CPU for far longer than any test runs.
pub const CPU_HOG: &str = "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c \
     WHERE i < 100000000000) SELECT count(*) AS n FROM c";

fn config_args(dir: &Path, schedule: Value) -> Vec<String> {
    let path = dir.join("vigil.conf");
    std::fs::write(&path, json!({ "schedule": schedule }).to_string()).expect("config");
    vec![
        format!("--config_path={}", path.display()),
        "--schedule_splay_percent=0".into(),
        "--watchdog_delay=1".into(),
    ]
}

fn status_lines(daemon: &Daemon) -> Vec<Value> {
    daemon
        .log("vigil.status.log")
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

fn status_message(daemon: &Daemon, needle: &str) -> Option<String> {
    status_lines(daemon)
        .iter()
        .filter_map(|l| l["message"].as_str())
        .find(|m| m.contains(needle))
        .map(str::to_owned)
}

/// Result lines of `name` written at or after `since` (Unix seconds).
fn results_since(daemon: &Daemon, name: &str, since: i64) -> usize {
    daemon
        .log("vigil.results.log")
        .lines()
        .chain(daemon.log("vigil.snapshots.log").lines())
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|l| l["name"] == name && l["unixTime"].as_i64().unwrap_or(0) >= since)
        .count()
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// A runaway query stopped for `limit`: the worker is replaced, the query denylisted (also in
/// `vigil_schedule`), the status log says which query and which limit, and the other query
/// keeps producing results.
fn runaway_is_stopped_and_denylisted(hog: &str, limit_args: &[&str], limit: &str) {
    let work = tempfile::tempdir().expect("work");
    let schedule = json!({
        "hog": {"query": hog, "interval": 2},
        "alive": {"query": "SELECT watcher FROM osquery_info", "interval": 1, "snapshot": true},
    });
    let mut args = config_args(work.path(), schedule);
    args.extend(limit_args.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let daemon = Daemon::start(&args);
    let first_worker = daemon.worker_pid().expect("a worker");

    let denylisted = poll("the runaway query to be denylisted", WAIT, || {
        status_message(&daemon, "hog is denylisted")
    });
    assert!(denylisted.contains(limit), "{denylisted}");
    assert!(
        denylisted.contains("the watchdog stopped the worker"),
        "{denylisted}"
    );
    let stderr = daemon.stderr();
    assert!(
        stderr.contains(&format!(
            "the watchdog stopped the worker (pid {first_worker})"
        )),
        "{stderr}"
    );
    let second_worker = daemon.worker_pid().expect("a new worker");
    assert_ne!(first_worker, second_worker);

    let row = poll("vigil_schedule to show the denylisting", WAIT, || {
        query_json(
            &daemon.db(),
            "SELECT name, denylisted, blacklisted FROM osquery_schedule WHERE name = 'hog'",
        )
        .into_iter()
        .next()
    });
    assert_eq!(field(&row, "denylisted"), "1");
    assert_eq!(
        field(&row, "blacklisted"),
        "1",
        "osquery's older column name"
    );

    // The other query runs again under the new worker; the hog does not.
    let restarted = unix_now();
    poll("results of the other query after the restart", WAIT, || {
        (results_since(&daemon, "alive", restarted) >= 2).then_some(())
    });
    assert_eq!(
        results_since(&daemon, "hog", 0),
        0,
        "the hog never finished"
    );
    assert_eq!(
        daemon.worker_pid(),
        Some(second_worker),
        "the denylisted query did not run again"
    );
}

#[test]
fn a_query_that_eats_memory_is_stopped_and_denylisted() {
    runaway_is_stopped_and_denylisted(
        MEMORY_HOG,
        &[
            "--watchdog_memory_limit=300",
            "--watchdog_utilization_limit=100",
        ],
        "memory limit exceeded",
    );
}

#[test]
fn a_query_that_spins_is_stopped_and_denylisted() {
    // 20 % of all CPUs for 6 s: one core spinning is 50 % on two, 100 % on one; well above the
    // limit even when other tests take half of its core.
    runaway_is_stopped_and_denylisted(
        CPU_HOG,
        &[
            "--watchdog_utilization_limit=20",
            "--watchdog_latency_limit=6",
        ],
        "cpu limit exceeded",
    );
}

fn exec_marker(mark: &str) {
    let dir = tempfile::tempdir().expect("dir");
    let (_, out) = run_in(dir.path(), "/bin/true", &[mark]);
    assert!(out.status.success());
}

fn wait_for_exec(daemon: &Daemon, mark: &str) {
    let sql = format!(
        "SELECT pid FROM bpf_process_events WHERE syscall = 'execve' AND {}",
        cmdline_has(mark)
    );
    poll(&format!("the exec of {mark}"), WAIT, || {
        (!query_json(&daemon.db(), &sql).is_empty()).then_some(())
    });
}

#[test]
fn a_killed_worker_is_replaced_and_no_buffered_event_is_lost() {
    let daemon = Daemon::start(&[]);
    let before = marker("before-kill");
    exec_marker(&before);
    wait_for_exec(&daemon, &before);

    // The watcher holds no database file: only the worker does.
    let db = daemon.db();
    let open_in_db = |pid: u32| {
        std::fs::read_dir(format!("/proc/{pid}/fd"))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|fd| std::fs::read_link(fd.path()).ok())
            .filter(|target| target.starts_with(&db))
            .count()
    };
    let first = daemon.worker_pid().expect("a worker");
    assert_eq!(
        open_in_db(daemon.pid()),
        0,
        "the watcher opened the database"
    );
    assert!(open_in_db(first) > 0, "the worker has the database open");
    // SAFETY: SIGKILL to the worker of the daemon this test started.
    unsafe { libc::kill(first as i32, libc::SIGKILL) };
    let second = poll("a new worker", WAIT, || {
        daemon
            .worker_pid()
            .filter(|&pid| pid != first)
            .filter(|_| daemon.stderr().matches("vigil daemon running").count() >= 2)
    });
    let stderr = daemon.stderr();
    assert!(
        stderr.contains(&format!(
            "the worker (pid {first}) was killed by signal 9 (SIGKILL)"
        )),
        "{stderr}"
    );
    let replaced = poll("the status line about the crash", WAIT, || {
        status_message(&daemon, "this worker replaces it")
    });
    assert!(replaced.contains("SIGKILL"), "{replaced}");

    let after = marker("after-kill");
    exec_marker(&after);
    wait_for_exec(&daemon, &after);
    wait_for_exec(&daemon, &before);
    assert_eq!(daemon.worker_pid(), Some(second));
}

#[test]
fn a_killed_watcher_takes_its_worker_down() {
    let daemon = Daemon::start(&[]);
    let watcher = daemon.pid();
    let worker = daemon.worker_pid().expect("a worker");
    // SAFETY: SIGKILL to the watcher this test started.
    unsafe { libc::kill(watcher as i32, libc::SIGKILL) };
    poll(
        "the orphaned worker to exit",
        Duration::from_secs(30),
        || {
            // Gone, or a zombie waiting for init to reap it: either way it no longer runs.
            let state = std::fs::read_to_string(format!("/proc/{worker}/stat")).unwrap_or_default();
            let running = state
                .rsplit_once(") ")
                .is_some_and(|(_, rest)| !rest.starts_with('Z'));
            (!running).then_some(())
        },
    );
    poll(
        "the worker's status line saying why it stopped",
        WAIT,
        || {
            daemon
                .log("vigil.status.log")
                .contains("the watcher is gone")
                .then_some(())
        },
    );
}

#[test]
fn a_worker_that_fails_at_once_ends_the_daemon_after_the_restart_limit() {
    let dir = tempfile::tempdir().expect("dir");
    // A file where the database directory should be: every worker fails as it opens it. The
    // start's safety check would refuse it before any worker (`safe_start::`): skipped here.
    let not_a_dir = dir.path().join("db");
    std::fs::write(&not_a_dir, "not a database").expect("file");
    let mut child = daemon_in(vigil(), dir.path(), &not_a_dir)
        .args([
            "--watchdog_restart_limit=3",
            "--watchdog_max_delay=1",
            "--allow_unsafe",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("vigil daemon starts");
    let started = Instant::now();
    let status = poll("the daemon to give up", WAIT, || {
        child.try_wait().ok().flatten()
    });
    let mut stderr = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        use std::io::Read as _;
        let _ = pipe.read_to_string(&mut stderr);
    }
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert_eq!(
        stderr.matches("worker started").count(),
        3,
        "three workers, then no more: {stderr}"
    );
    assert!(
        stderr.contains("3 workers in a row that failed within 10 s of starting"),
        "{stderr}"
    );
    assert!(stderr.contains("--watchdog_restart_limit"), "{stderr}");
    assert!(
        stderr.contains(&not_a_dir.display().to_string()),
        "the worker's own error: {stderr}"
    );
    // Backoff between the three starts: at most --watchdog_max_delay each.
    assert!(
        started.elapsed() >= Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}

/// `<program> daemon` with its database, logs and pid file in `dir`.
fn daemon_in(mut program: std::process::Command, dir: &Path, db: &Path) -> std::process::Command {
    program
        .arg("daemon")
        .arg(format!("--database_path={}", db.display()))
        .arg(format!("--logger_path={}", dir.join("log").display()))
        .arg(format!("--pidfile={}", dir.join("vigil.pid").display()));
    program
}

fn ring_buffer_drops(daemon: &Daemon) -> u64 {
    query_json(
        &daemon.db(),
        "SELECT dropped_ring_buffer FROM vigil_events WHERE name = 'bpf_process_events'",
    )
    .first()
    .and_then(|row| field(row, "dropped_ring_buffer").parse().ok())
    .unwrap_or(0)
}

#[test]
fn events_while_the_worker_restarts_are_kept_and_ring_losses_counted() {
    // A small ring buffer: a storm while no worker reads it must overflow it.
    let daemon = Daemon::start(&["--bpf_ringbuf_size=65536"]);
    let before = marker("before-gap");
    exec_marker(&before);
    wait_for_exec(&daemon, &before);
    let dropped_before = ring_buffer_drops(&daemon);

    // Killed within seconds of its start, the worker is replaced only after a backoff: the
    // kernel programs it pinned keep recording meanwhile, with nobody reading.
    let first = daemon.worker_pid().expect("a worker");
    // SAFETY: SIGKILL to the worker of the daemon this test started.
    unsafe { libc::kill(first as i32, libc::SIGKILL) };
    let gap = marker("in-the-gap");
    exec_marker(&gap);
    // 120 execs of 2 KB command lines: several times the 64 KiB ring, quick even on a busy machine.
    let storm = r#"i=0; while [ $i -lt 40 ]; do /bin/true "$1" & /bin/true "$1" & /bin/true "$1" & wait; i=$((i+1)); done"#;
    let dir = tempfile::tempdir().expect("dir");
    let long_arg = "z".repeat(2000);
    let (_, out) = run_in(dir.path(), "/bin/sh", &["-c", storm, "storm", &long_arg]);
    assert!(out.status.success());
    assert!(
        !daemon
            .stderr()
            .contains("took over the previous worker's kernel ring buffer"),
        "the storm must happen before the next worker starts: {}",
        daemon.stderr()
    );

    poll("a new worker that took the kernel side over", WAIT, || {
        daemon
            .stderr()
            .contains("took over the previous worker's kernel ring buffer")
            .then_some(())
    });
    wait_for_exec(&daemon, &gap);
    wait_for_exec(&daemon, &before);
    let dropped_after = poll("the gap's ring buffer losses in vigil_events", WAIT, || {
        let dropped = ring_buffer_drops(&daemon);
        (dropped > dropped_before).then_some(dropped)
    });
    assert!(dropped_after > dropped_before);
    let after = marker("after-gap");
    exec_marker(&after);
    wait_for_exec(&daemon, &after);
}

#[test]
fn a_stopped_daemon_leaves_no_kernel_program_behind() {
    let mut daemon = Daemon::start(&[]);
    let pinned = || {
        std::fs::read_dir("/sys/fs/bpf/vigil")
            .map(|entries| entries.count())
            .unwrap_or(0)
    };
    let worker = daemon.worker_pid().expect("a worker");
    let links = || links_of(worker);
    assert!(pinned() >= 1);
    assert!(links() > 0, "the worker pinned its links");
    assert!(daemon.stop().success());
    assert_eq!(links(), 0, "the worker's links are gone");
}

#[test]
fn an_executable_others_can_write_is_not_run_as_the_worker() {
    let dir = tempfile::tempdir().expect("dir");
    let copy = copy_of_vigil(dir.path(), 0o757);
    let stderr = refused_copy(&copy, dir.path(), &[]);
    assert!(stderr.contains("other users can write it"), "{stderr}");
}

/// The daemon started from a copy of the binary at `copy` (in `dir`, with `extra` flags):
/// its stderr, once it has exited, having refused to start a worker. One that keeps running
/// is stopped, and the test fails.
fn refused_copy(copy: &Path, dir: &Path, extra: &[String]) -> String {
    let db = dir.join("db");
    let stderr_path = dir.join("refused.stderr");
    let stderr_file = std::fs::File::create(&stderr_path).expect("stderr file");
    let mut child = daemon_in(std::process::Command::new(copy), dir, &db)
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr_file)
        .spawn()
        .expect("runs");
    let deadline = Instant::now() + WAIT;
    let status = loop {
        if let Ok(Some(status)) = child.try_wait() {
            break status;
        }
        if Instant::now() > deadline {
            // SAFETY: signalling our own child; it stops its worker.
            unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
            let _ = child.wait();
            panic!(
                "the daemon ran from an unsafe copy: {}",
                std::fs::read_to_string(&stderr_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("has unsafe permissions"), "{stderr}");
    assert!(!stderr.contains("worker started"), "{stderr}");
    assert!(!db.exists(), "nothing ran: {stderr}");
    stderr
}

fn copy_of_vigil(dir: &Path, mode: u32) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt as _;
    let copy = dir.join("vigil");
    std::fs::copy(crate::support::VIGIL, &copy).expect("copy the binary");
    std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(mode)).expect("chmod");
    copy
}

#[test]
fn an_executable_its_group_or_an_acl_lets_write_or_in_a_writable_directory_is_not_run() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().expect("dir");
    let group = copy_of_vigil(dir.path(), 0o775);
    let stderr = refused_copy(&group, dir.path(), &[]);
    assert!(stderr.contains("can write it (mode 775)"), "{stderr}");

    // 0755 by its mode, but an ACL lets uid 65534 write it.
    let acl = copy_of_vigil(dir.path(), 0o755);
    // The attribute as `setfacl -m u:65534:rwx` writes it: version 2, then (tag, permissions,
    // id) entries for the owner, uid 65534, the group, the mask and others.
    let mut value = 2u32.to_le_bytes().to_vec();
    for (tag, perm, id) in [
        (1u16, 7u16, u32::MAX),
        (2, 7, 65534),
        (4, 5, u32::MAX),
        (0x10, 7, u32::MAX),
        (0x20, 5, u32::MAX),
    ] {
        value.extend_from_slice(&tag.to_le_bytes());
        value.extend_from_slice(&perm.to_le_bytes());
        value.extend_from_slice(&id.to_le_bytes());
    }
    let path = std::ffi::CString::new(acl.to_string_lossy().as_bytes()).expect("path");
    // SAFETY: NUL-terminated path and name, a value valid for its length.
    let rc = unsafe {
        libc::setxattr(
            path.as_ptr(),
            c"system.posix_acl_access".as_ptr(),
            value.as_ptr().cast(),
            value.len(),
            0,
        )
    };
    assert_eq!(rc, 0, "setxattr: {}", std::io::Error::last_os_error());
    let stderr = refused_copy(&acl, dir.path(), &[]);
    assert!(
        stderr.contains("its ACL (system.posix_acl_access) lets uid 65534 write it"),
        "{stderr}"
    );

    // A safe file in a directory its group can change.
    let shared = dir.path().join("shared");
    std::fs::create_dir(&shared).expect("shared");
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o775)).expect("chmod");
    let inside = copy_of_vigil(&shared, 0o755);
    let stderr = refused_copy(&inside, dir.path(), &[]);
    assert!(
        stderr.contains(&format!("its directory {} is unsafe", shared.display())),
        "{stderr}"
    );
}

#[test]
fn allow_unsafe_in_a_configs_options_is_ignored_with_a_warning() {
    let dir = tempfile::tempdir().expect("dir");
    let copy = copy_of_vigil(dir.path(), 0o757);
    let config = dir.path().join("vigil.conf");
    std::fs::write(
        &config,
        json!({"options": {"allow_unsafe": true}}).to_string(),
    )
    .expect("config");
    let stderr = refused_copy(
        &copy,
        dir.path(),
        &[format!("--config_path={}", config.display())],
    );
    assert!(stderr.contains("other users can write it"), "{stderr}");
    assert!(
        stderr.contains(
            "options.allow_unsafe: ignored: --allow_unsafe is honoured only on the \
                         command line"
        ),
        "{stderr}"
    );
}

#[test]
fn without_the_watchdog_the_daemon_is_one_process() {
    let daemon = Daemon::start(&["--disable_watchdog"]);
    assert_eq!(daemon.worker_pid(), None, "no worker process");
    let pid = std::fs::read_to_string(daemon.pidfile()).expect("pidfile");
    assert_eq!(pid.trim(), daemon.pid().to_string());
    let mark = marker("single");
    exec_marker(&mark);
    wait_for_exec(&daemon, &mark);
    assert!(!daemon.stderr().contains("watchdog running"));
}

/// Links pinned by `worker` (any database).
fn links_of(worker: u32) -> usize {
    std::fs::read_dir("/sys/fs/bpf/vigil")
        .into_iter()
        .flatten()
        .flatten()
        .flat_map(|db| std::fs::read_dir(db.path()).into_iter().flatten().flatten())
        .flat_map(|layout| {
            std::fs::read_dir(layout.path().join("links"))
                .into_iter()
                .flatten()
                .flatten()
        })
        .filter(|link| {
            link.file_name()
                .to_string_lossy()
                .contains(&format!("-{worker}-"))
        })
        .count()
}

#[test]
fn probes_left_for_a_database_that_is_gone_are_swept() {
    let crashed = Daemon::start(&[]);
    let worker = crashed.worker_pid().expect("a worker");
    // Both processes killed: the pinned probes keep recording for a successor...
    let dir = crashed.kill();
    assert!(
        links_of(worker) > 0,
        "the killed worker's probes stay pinned"
    );
    // ...that never comes: the database is removed.
    drop(dir);
    let _other = Daemon::start(&[]);
    poll("the abandoned probes to be swept", WAIT, || {
        (links_of(worker) == 0).then_some(())
    });
}

#[test]
fn a_worker_that_does_not_stop_is_killed_after_the_forced_shutdown_delay() {
    // Every worker is over a 1 MB limit once the grace ends; this one is frozen (SIGSTOP), so it
    // cannot act on SIGTERM and only SIGKILL ends it. The grace is long enough for a worker to
    // start on a busy machine (with 3 s, four workers in a row were stopped before they said they
    // were running, and the daemon gave up).
    let daemon = Daemon::start(&[
        "--watchdog_memory_limit=1",
        "--watchdog_delay=10",
        "--watchdog_forced_shutdown_delay=1",
    ]);
    let frozen = daemon.worker_pid().expect("a worker");
    // SAFETY: SIGSTOP to the worker of the daemon this test started.
    unsafe { libc::kill(frozen as i32, libc::SIGSTOP) };
    let stderr = poll("the frozen worker to be killed", WAIT, || {
        let stderr = daemon.stderr();
        stderr
            .contains(&format!("the worker (pid {frozen}): memory limit exceeded"))
            .then_some(stderr)
    });
    assert!(
        stderr.contains("--watchdog_forced_shutdown_delay); killing it"),
        "{stderr}"
    );
    assert!(
        stderr.contains("was killed by signal 9 (SIGKILL)"),
        "{stderr}"
    );
}
