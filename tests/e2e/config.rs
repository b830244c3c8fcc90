//! The osquery-format config through the real binary: `--config_check`, `--config_dump`, and
//! per-table switches.

use std::{path::Path, time::Duration};

use serde_json::json;

use crate::support::{Daemon, cmdline_has, field, marker, poll, query_json, run_in, text, vigil};

fn write_config(dir: &Path, name: &str, config: &serde_json::Value) -> String {
    let path = dir.join(name);
    std::fs::write(&path, config.to_string()).expect("config written");
    path.to_string_lossy().into_owned()
}

fn daemon_with(config: &str, flag: &str) -> std::process::Output {
    vigil()
        .args(["daemon", &format!("--config_path={config}"), flag])
        .output()
        .expect("vigil daemon runs")
}

#[test]
fn config_check_accepts_a_valid_config_with_packs_and_warns_about_unknown_keys() {
    let dir = tempfile::tempdir().expect("dir");
    write_config(
        dir.path(),
        "pack.conf",
        &json!({"queries": {"users": {"query": "SELECT uid FROM users", "interval": 60}}}),
    );
    let config = write_config(
        dir.path(),
        "vigil.conf",
        &json!({
            "options": {"schedule_splay_percent": 10},
            "schedule": {
                "procs": {"query": "SELECT pid FROM processes", "interval": 60},
                "execs": {"query": "SELECT pid, cmdline FROM bpf_process_events", "interval": 10}
            },
            "packs": {"p": "pack.conf"},
            "decorators": {"load": ["SELECT uuid AS host_uuid FROM system_info"]},
            "a_key_from_the_future": true
        }),
    );
    let out = daemon_with(&config, "--config_check");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("valid (3 scheduled queries"),
        "{}",
        text(&out.stdout)
    );
    assert!(
        text(&out.stderr).contains("warning: a_key_from_the_future: unknown key, ignored"),
        "{}",
        text(&out.stderr)
    );

    let dump = daemon_with(&config, "--config_dump");
    assert!(dump.status.success());
    let effective: serde_json::Value = serde_json::from_slice(&dump.stdout).expect("json");
    assert_eq!(effective["schedule"]["pack_p_users"]["interval"], json!(60));
    assert_eq!(
        effective["schedule"]["procs"]["query"],
        json!("SELECT pid FROM processes")
    );
}

#[test]
fn config_check_names_every_problem_by_its_json_path() {
    let dir = tempfile::tempdir().expect("dir");
    let broken = write_config(
        dir.path(),
        "broken.conf",
        &json!({"schedule": {
            "procs": {"query": "SELECT 1", "interval": 0},
            "other": {"query": "SELECT 1", "interval": 10, "snapshot": "perhaps"}
        }}),
    );
    let out = daemon_with(&broken, "--config_check");
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("error: schedule.procs.interval: expected a number from 1 to 604800"),
        "{stderr}"
    );
    assert!(
        stderr.contains("error: schedule.other.snapshot: expected true or false"),
        "{stderr}"
    );

    let bad_sql = write_config(
        dir.path(),
        "sql.conf",
        &json!({"schedule": {"typo": {"query": "SELECT * FROM nope", "interval": 10}}}),
    );
    let out = daemon_with(&bad_sql, "--config_check");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("error: schedule.typo.query: no such table: nope"),
        "{}",
        text(&out.stderr)
    );

    let not_json = dir.path().join("not.conf");
    std::fs::write(&not_json, "{ schedule: ").expect("write");
    let out = daemon_with(&not_json.to_string_lossy(), "--config_check");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("is not valid JSON"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_disabled_subscriber_records_nothing_while_the_others_run() {
    let dir = tempfile::tempdir().expect("dir");
    let root = dir.path().canonicalize().expect("canonical");
    let config = write_config(
        &root,
        "vigil.conf",
        &json!({"events": {"disable_subscribers": ["bpf_file_events"]}}),
    );
    let daemon = Daemon::start(&[&format!("--config_path={config}")]);
    let mark = marker("disabled");
    let target = root.join("written.txt");
    let script = format!("echo x > {}", target.display());
    run_in(&root, "/bin/sh", &["-c", &script, &mark]);
    poll("the process event", Duration::from_secs(30), || {
        let rows = query_json(
            &daemon.db(),
            &format!(
                "SELECT pid FROM bpf_process_events WHERE {}",
                cmdline_has(&mark)
            ),
        );
        (!rows.is_empty()).then_some(())
    });
    let files = query_json(&daemon.db(), "SELECT path FROM bpf_file_events");
    assert!(files.is_empty(), "bpf_file_events is off: {files:#?}");
}

#[test]
fn flags_come_from_a_flagfile_and_the_configs_options_under_the_command_line() {
    let dir = tempfile::tempdir().expect("dir");
    let root = dir.path();
    let config = write_config(
        root,
        "vigil.conf",
        &json!({"options": {"disable_events": true}}),
    );
    let flagfile = root.join("vigil.flags");
    std::fs::write(
        &flagfile,
        format!(
            "# where this daemon keeps things\n--database_path={db}\n--logger_path {log}\n\
             --pidfile={pid}\n--config_path={config}\n",
            db = root.join("db").display(),
            log = root.join("log").display(),
            pid = root.join("vigil.pid").display(),
        ),
    )
    .expect("flagfile");
    let stderr_path = root.join("stderr");
    let mut child = vigil()
        .args(["daemon", &format!("--flagfile={}", flagfile.display())])
        .stderr(std::fs::File::create(&stderr_path).expect("stderr file"))
        .spawn()
        .expect("daemon starts");
    let stderr = poll("the daemon to start", Duration::from_secs(30), || {
        let text = std::fs::read_to_string(&stderr_path).unwrap_or_default();
        text.contains("vigil daemon running").then_some(text)
    });
    // SAFETY: signalling our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().expect("daemon stops");
    assert!(status.success());
    assert!(
        stderr.contains("events are disabled"),
        "options.disable_events applied: {stderr}"
    );
    assert!(
        root.join("db/CURRENT").exists(),
        "--database_path from the flagfile"
    );
}

#[test]
fn each_kind_of_bad_config_gets_its_own_message() {
    let dir = tempfile::tempdir().expect("dir");
    let q = |extra: serde_json::Value| {
        let mut query = json!({"query": "SELECT 1", "interval": 10});
        if let (Some(q), Some(e)) = (query.as_object_mut(), extra.as_object()) {
            q.extend(e.clone());
        }
        json!({"schedule": {"q": query}})
    };
    let cases: Vec<(serde_json::Value, &str)> = vec![
        (json!([1, 2]), "the config must be a JSON object"),
        (json!({"schedule": [1]}), "schedule: expected an object"),
        (
            q(json!({"interval": 0})),
            "schedule.q.interval: expected a number from 1 to 604800",
        ),
        (
            q(json!({"interval": 604_801})),
            "schedule.q.interval: expected a number from 1 to 604800",
        ),
        (
            q(json!({"query": ""})),
            "schedule.q.query: expected the query's SQL text",
        ),
        (
            q(json!({"snapshot": "maybe"})),
            "schedule.q.snapshot: expected true or false",
        ),
        (
            q(json!({"shard": 0})),
            "schedule.q.shard: expected a number from 1 to 100",
        ),
        (
            q(json!({"platform": 5})),
            "schedule.q.platform: expected a platform name",
        ),
        (
            json!({"packs": {"p": {"platform": "linux"}}}),
            "packs.p: a pack needs `queries`",
        ),
        (
            json!({"packs": {"p": "missing.conf"}}),
            "packs.p: cannot read pack file",
        ),
        (
            json!({"packs": {"p": 7}}),
            "packs.p: expected a pack object or the path of a pack file",
        ),
        (
            json!({"decorators": {"interval": {"45": ["SELECT 1"]}}}),
            "decorators.interval.45: expected an interval in seconds that is a multiple of 60",
        ),
        (
            json!({"options": {"x": {"y": 1}}}),
            "options.x: expected a string, number or boolean",
        ),
        (
            json!({"file_paths": {"etc": "/etc"}}),
            "file_paths.etc: expected a list of path patterns",
        ),
        (
            json!({"events": {"disable_subscribers": "bpf_file_events"}}),
            "events.disable_subscribers: expected a list of strings",
        ),
        (
            q(json!({"query": "SELECT * FROM nope"})),
            "schedule.q.query: no such table: nope",
        ),
    ];
    for (i, (config, expected)) in cases.iter().enumerate() {
        let path = write_config(dir.path(), &format!("bad-{i}.conf"), config);
        let out = daemon_with(&path, "--config_check");
        assert_eq!(out.status.code(), Some(1), "case {i} must fail: {config}");
        assert!(
            text(&out.stderr).contains(expected),
            "case {i} ({config}): expected `{expected}` in:\n{}",
            text(&out.stderr)
        );
    }
}

/// osquery's config hash of a one-source config: SHA-1 (hex) of the SHA-1 (hex) of its text.
fn osquery_config_hash(text: &str) -> String {
    use sha1::Digest as _;
    let hex = |bytes: &[u8]| -> String {
        sha1::Sha1::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    hex(hex(text.as_bytes()).as_bytes())
}

#[test]
fn osquery_info_keeps_its_instance_id_and_names_the_running_config() {
    let config_dir = tempfile::tempdir().expect("dir");
    let first = json!({"schedule": {"one": {"query": "SELECT 1", "interval": 60}}});
    let path = write_config(config_dir.path(), "vigil.conf", &first);
    let args = [
        "--disable_events".to_owned(),
        format!("--config_path={path}"),
    ];
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let daemon = Daemon::start(&args);
    let sql = "SELECT instance_id, config_hash, config_valid FROM osquery_info";
    let info = |db: &Path| query_json(db, sql).into_iter().next().expect("one row");
    let row = info(&daemon.db());
    let instance_id = row["instance_id"].as_str().unwrap_or_default().to_owned();
    assert_eq!(instance_id.len(), 36, "a UUID: {row}");
    assert_eq!(
        row["config_hash"],
        osquery_config_hash(&first.to_string()),
        "{row}"
    );
    assert_eq!(row["config_valid"], "1", "{row}");

    let second = json!({"schedule": {"two": {"query": "SELECT 2", "interval": 60}}});
    // Same length, other text: the reload is noticed by the file's modification time.
    std::thread::sleep(Duration::from_millis(1100));
    write_config(config_dir.path(), "vigil.conf", &second);
    poll(
        "the reloaded config's hash",
        Duration::from_secs(30),
        || {
            (info(&daemon.db())["config_hash"] == osquery_config_hash(&second.to_string()))
                .then_some(())
        },
    );

    let dir = daemon.kill();
    let again = Daemon::start_in(dir, &args);
    assert_eq!(
        info(&again.db())["instance_id"],
        instance_id.as_str(),
        "the instance id is kept across restarts"
    );
}

#[test]
fn probes_that_cannot_start_on_a_reload_are_said_so_marked_and_retried() {
    let config_dir = tempfile::tempdir().expect("dir");
    let path = write_config(config_dir.path(), "vigil.conf", &json!({}));
    let failures = config_dir.path().join("probe-failures");
    let fault = failures.to_string_lossy().into_owned();
    let daemon = Daemon::start_with_env(
        tempfile::tempdir().expect("dir"),
        &[&format!("--config_path={path}")],
        &[("VIGIL_FAULT_PROBE_FAILURES", &fault)],
    );
    // The eBPF tables this kernel can feed, once the probes started: a table none of whose
    // syscalls the kernel has (module calls, on a kernel built without modules) is never
    // active, and stays out of what follows; so do the audit tables, off unless asked for.
    let fed: Vec<String> = poll(
        "every event table this kernel can feed active",
        Duration::from_secs(30),
        || {
            let rows = query_json(
                &daemon.db(),
                "SELECT name, active, available FROM vigil_events WHERE publisher = 'bpf'",
            );
            // `available` is NULL (shown as "") until the probes started.
            let judged = rows.iter().all(|r| r["available"] != "");
            let fed: Vec<&serde_json::Value> = rows
                .iter()
                .filter(|r| r["available"].as_str() == Some("1"))
                .collect();
            (judged && !fed.is_empty() && fed.iter().all(|r| r["active"] == "1"))
                .then(|| fed.iter().map(|r| field(r, "name").to_owned()).collect())
        },
    );
    let active = |db: &Path| -> Vec<String> {
        query_json(db, "SELECT name, active FROM vigil_events")
            .iter()
            .filter(|r| fed.iter().any(|name| r["name"] == name.as_str()))
            .map(|r| r["active"].as_str().unwrap_or_default().to_owned())
            .collect()
    };

    // The new probes fail, and so do the previous ones when started again.
    std::fs::write(&failures, "2").expect("fault");
    write_config(
        config_dir.path(),
        "vigil.conf",
        &json!({"events": {"disable_subscribers": ["bpf_socket_events"]}}),
    );
    let status = poll(
        "a status line saying collection stopped",
        Duration::from_secs(30),
        || {
            let log = daemon.log("vigil.status.log");
            log.contains("event collection stopped").then_some(log)
        },
    );
    assert!(
        !status.contains("the previous ones stay"),
        "it does not claim the previous probes run: {status}"
    );
    assert!(
        active(&daemon.db()).iter().all(|a| a == "0"),
        "vigil_events says nothing is collected"
    );
    let workdir = tempfile::tempdir().expect("workdir");
    let during = marker("stalled");
    let (_, out) = run_in(
        workdir.path(),
        "/bin/sh",
        &["-c", &format!("/bin/true {during}")],
    );
    assert!(out.status.success());

    poll("collection resumed", Duration::from_secs(60), || {
        daemon
            .log("vigil.status.log")
            .contains("event collection resumed with the new config's probes")
            .then_some(())
    });
    assert!(active(&daemon.db()).iter().all(|a| a == "1"));
    let after = marker("resumed");
    let (_, out) = run_in(
        workdir.path(),
        "/bin/sh",
        &["-c", &format!("/bin/true {after}")],
    );
    assert!(out.status.success());
    for mark in [&after, &during] {
        let sql = format!(
            "SELECT cmdline FROM bpf_process_events WHERE syscall = 'execve' AND {}",
            cmdline_has(mark)
        );
        poll(
            &format!("the exec marked {mark}"),
            Duration::from_secs(30),
            || (!query_json(&daemon.db(), &sql).is_empty()).then_some(()),
        );
    }
}
