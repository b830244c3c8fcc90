//! The daemon's scheduler through the real binary: differential, evented and snapshot queries,
//! packs, decorations, and exactly-once event results across a SIGKILL.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{Daemon, marker, poll, run_in};

const WAIT: Duration = Duration::from_secs(30);

fn lines(daemon: &Daemon, file: &str) -> Vec<Value> {
    daemon
        .log(file)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn named<'a>(lines: &'a [Value], name: &str) -> Vec<&'a Value> {
    lines.iter().filter(|l| l["name"] == name).collect()
}

fn config_args(dir: &std::path::Path, config: &Value) -> Vec<String> {
    let path = dir.join("vigil.conf");
    std::fs::write(&path, config.to_string()).expect("config");
    vec![
        format!("--config_path={}", path.display()),
        "--schedule_splay_percent=0".into(),
        "--host_identifier=specified".into(),
        "--specified_identifier=test-host".into(),
    ]
}

#[test]
fn differential_evented_snapshot_and_pack_queries_write_osquery_lines() {
    let work = tempfile::tempdir().expect("work");
    let watched = work.path().join("watched");
    std::fs::create_dir(&watched).expect("watched");
    std::fs::write(
        work.path().join("pack.conf"),
        json!({"queries": {"one": {"query": "SELECT 1 AS one", "interval": 1, "snapshot": true}}})
            .to_string(),
    )
    .expect("pack");
    let mark = marker("sched");
    let config = json!({
        "schedule": {
            "files": {"query": format!("SELECT path, size FROM file WHERE directory = '{}'",
                                      watched.display()), "interval": 1},
            "execs": {"query": format!("SELECT pid, cmdline FROM bpf_process_events \
                                        WHERE syscall = 'execve' AND cmdline LIKE '%{mark}%'"),
                      "interval": 1},
        },
        "packs": {"p": work.path().join("pack.conf").to_string_lossy()},
        "decorators": {"always": ["SELECT 'on' AS decorated"]}
    });
    let args = config_args(work.path(), &config);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let daemon = Daemon::start(&args);

    // Differential: a new file is added; a changed file is removed then added.
    let file = watched.join("a.txt");
    std::fs::write(&file, "1").expect("write");
    let added = poll("the added line", WAIT, || {
        let all = lines(&daemon, "vigil.results.log");
        named(&all, "files")
            .iter()
            .find(|l| {
                l["action"] == "added" && l["columns"]["path"] == file.to_string_lossy().as_ref()
            })
            .map(|l| (*l).clone())
    });
    assert_eq!(added["columns"]["size"], "1");
    assert_eq!(added["hostIdentifier"], "test-host");
    assert_eq!(added["decorations"]["decorated"], "on");
    assert_eq!(added["epoch"], 0);
    assert_eq!(added["numerics"], false);
    assert!(
        added["calendarTime"]
            .as_str()
            .is_some_and(|t| t.ends_with(" UTC"))
    );
    std::fs::write(&file, "22").expect("rewrite");
    poll("removed then added", WAIT, || {
        let all = lines(&daemon, "vigil.results.log");
        let files = named(&all, "files");
        let removed = files
            .iter()
            .position(|l| l["action"] == "removed" && l["columns"]["size"] == "1")?;
        let readded = files
            .iter()
            .position(|l| l["action"] == "added" && l["columns"]["size"] == "2")?;
        assert!(removed < readded, "removed rows come first");
        assert_eq!(files[removed]["counter"], files[readded]["counter"]);
        assert!(files[removed]["counter"].as_u64() > added["counter"].as_u64());
        Some(())
    });

    // Evented: each exec reported once, as added.
    run_in(work.path(), "/bin/sh", &["-c", "true", &mark]);
    let exec = poll("the evented line", WAIT, || {
        let all = lines(&daemon, "vigil.results.log");
        named(&all, "execs").first().map(|l| (*l).clone())
    });
    assert_eq!(exec["action"], "added");
    assert_eq!(
        exec["columns"]["cmdline"],
        format!("/bin/sh -c true {mark}")
    );

    // Snapshot, from a pack file.
    poll("the snapshot line", WAIT, || {
        let snaps = lines(&daemon, "vigil.snapshots.log");
        named(&snaps, "pack_p_one")
            .first()
            .filter(|l| l["action"] == "snapshot" && l["snapshot"][0]["one"] == "1")
            .map(|_| ())
    });
    // Some runs later, the exec was still reported once.
    std::thread::sleep(Duration::from_secs(3));
    let all = lines(&daemon, "vigil.results.log");
    assert_eq!(named(&all, "execs").len(), 1, "{:#?}", named(&all, "execs"));

    // The daemon's own messages, as osquery status lines.
    let status = lines(&daemon, "vigil.status.log");
    let running = status
        .iter()
        .find(|l| {
            l["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("vigil daemon running"))
        })
        .unwrap_or_else(|| panic!("a status line for the start: {status:#?}"));
    assert_eq!(running["severity"], 0);
    assert_eq!(running["hostIdentifier"], "test-host");
    assert!(
        running["filename"]
            .as_str()
            .is_some_and(|f| f.starts_with("agent/src/daemon/") && f.ends_with(".rs"))
    );

    // Run statistics, read from the running daemon.
    let stats = crate::support::query_json(
        &daemon.db(),
        "SELECT name, interval, executions, last_executed, output_size FROM osquery_schedule",
    );
    let names: Vec<&str> = stats.iter().filter_map(|r| r["name"].as_str()).collect();
    for name in ["files", "execs", "pack_p_one"] {
        assert!(names.contains(&name), "{name} in {stats:#?}");
    }
    let files = stats
        .iter()
        .find(|r| r["name"] == "files")
        .expect("files stats");
    assert!(
        files["executions"]
            .as_str()
            .and_then(|e| e.parse::<u64>().ok())
            >= Some(3)
    );
    assert_ne!(files["output_size"], "0");
}

#[test]
fn evented_results_are_exactly_once_across_a_sigkill() {
    let work = tempfile::tempdir().expect("work");
    let mark = marker("once");
    let config = json!({"schedule": {"execs": {
        "query": format!("SELECT cmdline FROM bpf_process_events \
                          WHERE syscall = 'execve' AND cmdline LIKE '%{mark}%'"),
        "interval": 1
    }}});
    let args = config_args(work.path(), &config);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let count = |daemon: &Daemon, batch: &str| {
        let all = lines(daemon, "vigil.results.log");
        named(&all, "execs")
            .iter()
            .filter(|l| {
                l["columns"]["cmdline"]
                    .as_str()
                    .is_some_and(|c| c.contains(batch))
            })
            .count()
    };
    let daemon = Daemon::start(&args);
    for i in 0..3 {
        run_in(
            work.path(),
            "/bin/sh",
            &["-c", "true", &format!("{mark}-before-{i}")],
        );
    }
    poll("three lines before the kill", WAIT, || {
        (count(&daemon, "before") == 3).then_some(())
    });
    let dir = daemon.kill();
    let daemon = Daemon::start_in(dir, &args);
    for i in 0..3 {
        run_in(
            work.path(),
            "/bin/sh",
            &["-c", "true", &format!("{mark}-after-{i}")],
        );
    }
    poll("three lines after the restart", WAIT, || {
        (count(&daemon, "after") == 3).then_some(())
    });
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        count(&daemon, "before"),
        3,
        "nothing repeated after the restart"
    );
    assert_eq!(count(&daemon, "after"), 3);
}

#[test]
fn events_wait_for_the_scheduled_query_that_reads_them_before_they_expire() {
    let work = tempfile::tempdir().expect("work");
    let mark = marker("floor");
    // Events expire after a second, but this query reads them only every 20 seconds.
    let config = json!({"schedule": {
        "slow": {"query": format!("SELECT cmdline FROM bpf_process_events \
                                   WHERE syscall = 'execve' AND cmdline LIKE '%{mark}%'"),
                 "interval": 20},
        "tick": {"query": "SELECT 1 AS ran", "interval": 20, "snapshot": true}
    }});
    let mut args = config_args(work.path(), &config);
    args.push("--events_expiry=1".into());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let daemon = Daemon::start(&args);
    // Once both queries have run, expiry is held back only as far as they still need.
    poll("the first run", Duration::from_secs(40), || {
        named(&lines(&daemon, "vigil.snapshots.log"), "tick")
            .first()
            .map(|_| ())
    });
    run_in(work.path(), "/bin/sh", &["-c", "true", &mark]);
    let seen = poll("the slow query's line", Duration::from_secs(40), || {
        let all = lines(&daemon, "vigil.results.log");
        named(&all, "slow").first().map(|l| (*l).clone())
    });
    assert_eq!(
        seen["columns"]["cmdline"],
        format!("/bin/sh -c true {mark}")
    );
}

#[test]
fn a_changed_config_reloads_and_a_bad_one_is_rejected_keeping_the_last_good() {
    let work = tempfile::tempdir().expect("work");
    let snapshot = |name: &str| {
        json!({"schedule": {name: {"query": format!("SELECT '{name}' AS q"), "interval": 1,
                                   "snapshot": true}}})
    };
    let args = config_args(work.path(), &snapshot("first"));
    let config_path = work.path().join("vigil.conf");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let daemon = Daemon::start(&args);
    let count = |name: &str| named(&lines(&daemon, "vigil.snapshots.log"), name).len();
    poll("the first query", WAIT, || {
        (count("first") > 0).then_some(())
    });

    std::fs::write(&config_path, "{ not json").expect("break the config");
    poll("the rejection", WAIT, || {
        daemon
            .stderr()
            .contains("config reload rejected, the previous config keeps running")
            .then_some(())
    });
    let before = count("first");
    poll("the last good config still running", WAIT, || {
        (count("first") > before).then_some(())
    });

    let mut second = snapshot("second");
    second["options"] = json!({"logger_tls_period": 9});
    std::fs::write(&config_path, second.to_string()).expect("new config");
    poll("the new query", WAIT, || {
        (count("second") > 0).then_some(())
    });
    poll(
        "a warning that new options wait for a restart",
        WAIT,
        || {
            daemon
                .stderr()
                .contains("config options changed (logger_tls_period)")
                .then_some(())
        },
    );
    let first_after_reload = count("first");
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(
        count("first"),
        first_after_reload,
        "the old schedule stopped"
    );

    // SIGHUP reloads without a change.
    let pid = std::fs::read_to_string(daemon.pidfile()).expect("pidfile");
    let pid: i32 = pid.trim().parse().expect("pid");
    // SAFETY: signalling the daemon this test started.
    unsafe { libc::kill(pid, libc::SIGHUP) };
    poll("the SIGHUP reload", WAIT, || {
        daemon.stderr().contains("reason=\"SIGHUP\"").then_some(())
    });
}

#[test]
fn a_pack_runs_only_where_its_discovery_queries_return_rows() {
    let work = tempfile::tempdir().expect("work");
    let snapshot = |sql: &str| json!({"query": sql, "interval": 1, "snapshot": true});
    let config = json!({"packs": {
        "here": {"discovery": ["SELECT 1 FROM processes WHERE pid = 1"],
                 "queries": {"q": snapshot("SELECT 'here' AS pack")}},
        "elsewhere": {"discovery": ["SELECT 1 FROM processes WHERE pid = -1"],
                      "queries": {"q": snapshot("SELECT 'elsewhere' AS pack")}}
    }});
    let args = config_args(work.path(), &config);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let daemon = Daemon::start(&args);
    poll("the discovered pack", WAIT, || {
        (!named(&lines(&daemon, "vigil.snapshots.log"), "pack_here_q").is_empty()).then_some(())
    });
    std::thread::sleep(Duration::from_secs(2));
    assert!(named(&lines(&daemon, "vigil.snapshots.log"), "pack_elsewhere_q").is_empty());
}

/// A small tmpfs: a real full disk for the logger, unmounted when dropped.
struct TinyDisk(std::path::PathBuf);

impl TinyDisk {
    fn mount(path: &std::path::Path) -> Self {
        std::fs::create_dir_all(path).expect("mount point");
        let status = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
            .arg(path)
            .status()
            .expect("mount runs");
        assert!(status.success(), "mounting a tmpfs needs root");
        Self(path.to_owned())
    }
}

impl Drop for TinyDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_full_disk_delays_result_lines_and_loses_none() {
    let work = tempfile::tempdir().expect("work");
    let daemon_dir = tempfile::tempdir().expect("daemon dir");
    let disk = TinyDisk::mount(&daemon_dir.path().join("log"));
    // Fill the disk.
    let filler = disk.0.join("filler");
    let _ = std::fs::write(&filler, vec![0u8; 128 * 1024]);
    let config = json!({"schedule": {"tick": {
        "query": "SELECT 1 AS one", "interval": 1, "snapshot": true}}});
    let args = config_args(work.path(), &config);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let daemon = Daemon::start_in(daemon_dir, &args);
    poll("the daemon to report the full disk", WAIT, || {
        daemon
            .stderr()
            .contains("result logs cannot be written; they stay buffered")
            .then_some(())
    });
    std::thread::sleep(Duration::from_secs(4));
    let freed_at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    std::fs::remove_file(&filler).expect("free the disk");
    poll("the lines after the disk has room", WAIT, || {
        daemon
            .stderr()
            .contains("result logs are being written again")
            .then_some(())
    });
    let snapshots = lines(&daemon, "vigil.snapshots.log");
    let mut seconds: Vec<i64> = named(&snapshots, "tick")
        .iter()
        .filter_map(|l| l["unixTime"].as_i64())
        .collect();
    seconds.sort_unstable();
    seconds.dedup();
    assert!(
        seconds.len() >= 3 && seconds[0] < freed_at - 1,
        "runs while the disk was full were kept: {seconds:?} (disk freed at {freed_at})"
    );
    let first = seconds[0];
    let expected: Vec<i64> = (first..first + seconds.len() as i64).collect();
    assert_eq!(seconds, expected, "one line per second, none missing");
    drop(daemon);
    drop(disk);
}

#[test]
fn batch_format_lines_carry_diff_results() {
    let work = tempfile::tempdir().expect("work");
    let watched = work.path().join("watched");
    std::fs::create_dir(&watched).expect("watched");
    std::fs::write(watched.join("one"), "1").expect("file");
    let config = json!({"schedule": {"files": {
        "query": format!("SELECT path FROM file WHERE directory = '{}'", watched.display()),
        "interval": 1}}});
    let mut args = config_args(work.path(), &config);
    args.push("--logger_event_type=false".into());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let daemon = Daemon::start(&args);
    let first = poll("the first batch", WAIT, || {
        named(&lines(&daemon, "vigil.results.log"), "files")
            .first()
            .map(|l| (*l).clone())
    });
    assert_eq!(
        first["counter"], 0,
        "the first run reports everything with counter 0"
    );
    assert_eq!(
        first["diffResults"]["added"][0]["path"],
        watched.join("one").to_string_lossy().as_ref()
    );
    assert_eq!(first["diffResults"]["removed"], json!([]));
    std::fs::remove_file(watched.join("one")).expect("remove");
    poll("the removal batch", WAIT, || {
        let all = lines(&daemon, "vigil.results.log");
        named(&all, "files")
            .iter()
            .find(|l| {
                l["diffResults"]["removed"]
                    .as_array()
                    .is_some_and(|r| !r.is_empty())
            })
            .map(|l| assert_eq!(l["counter"], 1))
    });
}
