//! A running daemon's history, read by `vigil query` while it keeps running.

use std::time::Duration;

use crate::support::{Daemon, cmdline_has, field, marker, poll, query_json, run_in, text, vigil};

const WAIT: Duration = Duration::from_secs(30);

fn rows_with(
    db: &std::path::Path,
    mark: &str,
    columns: &str,
    want: usize,
) -> Vec<serde_json::Value> {
    let sql = format!(
        "SELECT {columns} FROM bpf_process_events \
         WHERE {} AND time > strftime('%s','now') - 300 ORDER BY ntime",
        cmdline_has(mark)
    );
    poll(&format!("{want} rows mentioning {mark}"), WAIT, || {
        let rows = query_json(db, &sql);
        (rows.len() >= want).then_some(rows)
    })
}

#[test]
fn exec_fork_and_exit_of_a_command_are_in_the_daemons_history() {
    let daemon = Daemon::start(&[]);
    let workdir = tempfile::tempdir().expect("workdir");
    let cwd = workdir.path().canonicalize().expect("canonical workdir");
    let mark = marker("exec");
    let script = format!("exec /usr/bin/env VAR=1 /bin/true {mark}");
    let (sh_pid, out) = run_in(&cwd, "/bin/sh", &["-c", &script]);
    assert!(out.status.success());
    let me = std::process::id().to_string();
    let sh_pid_text = sh_pid.to_string();

    let columns = "pid, parent, path, cmdline, uid, cwd, syscall, exit_code, parent_path, \
                   json_cmdline, truncated";
    // sh's exec, env's exec, true's exec, and the exit.
    let rows = rows_with(&daemon.db(), &mark, columns, 4);
    let execs: Vec<_> = rows
        .iter()
        .filter(|r| field(r, "syscall") == "execve")
        .collect();
    assert_eq!(execs.len(), 3, "three execs: {rows:#?}");
    for exec in &execs {
        assert_eq!(
            field(exec, "pid"),
            sh_pid_text,
            "exec keeps the pid: {exec}"
        );
        assert_eq!(
            field(exec, "parent"),
            me,
            "the test process is the parent: {exec}"
        );
        assert_eq!(field(exec, "uid"), "0");
        assert_eq!(field(exec, "cwd"), cwd.to_string_lossy(), "{exec}");
        assert_eq!(field(exec, "exit_code"), "0");
        assert_eq!(field(exec, "truncated"), "0");
    }
    let env = execs
        .iter()
        .find(|r| field(r, "path") == "/usr/bin/env")
        .unwrap_or_else(|| panic!("an exec of /usr/bin/env: {execs:#?}"));
    assert_eq!(
        field(env, "cmdline"),
        format!("/usr/bin/env VAR=1 /bin/true {mark}")
    );
    assert_eq!(
        field(env, "json_cmdline"),
        serde_json::json!(["/usr/bin/env", "VAR=1", "/bin/true", mark]).to_string()
    );
    let parent_exe = std::env::current_exe().expect("exe");
    assert_eq!(field(env, "parent_path"), parent_exe.to_string_lossy());
    // /bin/true resolves through the /bin symlink to the file the kernel actually ran.
    let true_exe = std::fs::canonicalize("/bin/true").expect("canonical /bin/true");
    assert!(
        execs
            .iter()
            .any(|r| field(r, "path") == true_exe.to_string_lossy()
                && field(r, "cmdline") == format!("/bin/true {mark}")),
        "an exec of {} with its argv: {execs:#?}",
        true_exe.display()
    );

    let exit = rows
        .iter()
        .find(|r| field(r, "syscall") == "exit")
        .unwrap_or_else(|| panic!("an exit row: {rows:#?}"));
    assert_eq!(field(exit, "pid"), sh_pid_text);
    assert_eq!(field(exit, "exit_code"), "0");

    // The fork: this test process created sh.
    let forks = poll("the fork row of sh", WAIT, || {
        let rows = query_json(
            &daemon.db(),
            &format!(
                "SELECT pid, child_pid, syscall, exit_code FROM bpf_process_events \
                 WHERE child_pid = {sh_pid} AND syscall IN ('fork','vfork','clone','clone3')"
            ),
        );
        (!rows.is_empty()).then_some(rows)
    });
    assert_eq!(field(&forks[0], "pid"), me);
    assert_eq!(field(&forks[0], "exit_code"), sh_pid_text);
}

#[test]
fn exit_codes_and_signals_are_reported() {
    let daemon = Daemon::start(&[]);
    let dir = tempfile::tempdir().expect("dir");
    let mark = marker("exit");
    let (pid, out) = run_in(dir.path(), "/bin/sh", &["-c", "exit 3", &mark]);
    assert_eq!(out.status.code(), Some(3));
    let killed_mark = marker("killed");
    let (killed_pid, _) = run_in(dir.path(), "/bin/sh", &["-c", "kill -9 $$", &killed_mark]);

    let expect_exit = |mark: &str, pid: u32, code: &str, signal: &str| {
        let rows = rows_with(
            &daemon.db(),
            mark,
            "pid, syscall, exit_code, exit_signal",
            2,
        );
        let exit = rows
            .iter()
            .find(|r| field(r, "syscall") == "exit")
            .unwrap_or_else(|| panic!("exit row: {rows:#?}"));
        assert_eq!(field(exit, "pid"), pid.to_string());
        assert_eq!(field(exit, "exit_code"), code);
        assert_eq!(field(exit, "exit_signal"), signal);
    };
    expect_exit(&mark, pid, "3", "0");
    expect_exit(&killed_mark, killed_pid, "137", "9");
}

#[test]
fn a_failed_exec_is_reported_with_its_error() {
    let daemon = Daemon::start(&[]);
    let dir = tempfile::tempdir().expect("dir");
    let missing = dir.path().join(marker("missing"));
    // A shell tries to exec a file that does not exist: execve fails with ENOENT (-2).
    let (pid, _) = run_in(
        dir.path(),
        "/bin/sh",
        &[
            "-c",
            &format!("exec {} --flag 'two words'", missing.display()),
        ],
    );
    let rows = poll("the failed exec", WAIT, || {
        let rows = query_json(
            &daemon.db(),
            &format!(
                "SELECT pid, path, exit_code, syscall, cmdline, json_cmdline FROM \
                 bpf_process_events WHERE path = '{}'",
                missing.display()
            ),
        );
        (!rows.is_empty()).then_some(rows)
    });
    assert_eq!(field(&rows[0], "pid"), pid.to_string());
    assert_eq!(field(&rows[0], "exit_code"), "-2");
    assert_eq!(field(&rows[0], "syscall"), "execve");
    // The arguments of the attempt, read from the caller's memory at the failed exit.
    let argv: Vec<String> =
        serde_json::from_str(field(&rows[0], "json_cmdline")).expect("a JSON array");
    assert_eq!(
        argv,
        vec![
            missing.display().to_string(),
            "--flag".into(),
            "two words".into()
        ],
        "{rows:#?}"
    );
}

#[test]
fn a_full_ring_buffer_is_counted_and_queryable() {
    let daemon = Daemon::start(&["--bpf_ringbuf_size=4096"]);
    // Execs with 2000-byte command lines, three at a time: a 4 KiB ring buffer holds less than
    // two such records, so the kernel side finds it full and must count it.
    let storm = r#"i=0; while [ $i -lt 200 ]; do /bin/true "$1" & /bin/true "$1" & /bin/true "$1" & wait; i=$((i+1)); done"#;
    let dir = tempfile::tempdir().expect("dir");
    let long_arg = "y".repeat(2000);
    let (_, out) = run_in(dir.path(), "/bin/sh", &["-c", storm, "storm", &long_arg]);
    assert!(out.status.success());
    let dropped = poll("ring buffer drops in vigil_events", WAIT, || {
        let rows = query_json(
            &daemon.db(),
            "SELECT dropped_ring_buffer, dropped, stored, source FROM vigil_events \
             WHERE name = 'bpf_process_events'",
        );
        let row = rows.first()?;
        let dropped: u64 = field(row, "dropped_ring_buffer").parse().ok()?;
        (dropped > 0).then(|| (dropped, row.clone()))
    });
    assert_eq!(field(&dropped.1, "source"), "daemon");
    let total: u64 = field(&dropped.1, "dropped").parse().expect("number");
    assert!(total >= dropped.0);
}

/// The `max_entries` (bytes) of the ring buffer map (`map_type` 27) the process `pid` holds,
/// from its descriptors' fdinfo.
fn ring_buffer_bytes(pid: u32) -> Option<u64> {
    let fds = std::fs::read_dir(format!("/proc/{pid}/fdinfo")).ok()?;
    fds.filter_map(|fd| std::fs::read_to_string(fd.ok()?.path()).ok())
        .find(|info| {
            info.lines()
                .any(|l| l.split_whitespace().eq(["map_type:", "27"]))
        })
        .and_then(|info| {
            info.lines()
                .find_map(|l| l.strip_prefix("max_entries:"))
                .and_then(|v| v.trim().parse().ok())
        })
}

#[test]
fn the_ring_buffer_is_2_mib_unless_the_flag_says_otherwise() {
    for (args, want) in [
        (&[][..], 2 * 1024 * 1024),
        (&["--bpf_ringbuf_size=1048576"][..], 1024 * 1024),
    ] {
        let daemon = Daemon::start(args);
        let bytes = poll("the worker's ring buffer map", WAIT, || {
            ring_buffer_bytes(daemon.worker_pid()?)
        });
        assert_eq!(bytes, want, "with {args:?}");
    }
}

#[test]
fn output_modes_and_bad_sql() {
    let daemon = Daemon::start(&[]);
    let dir = tempfile::tempdir().expect("dir");
    let mark = marker("modes");
    run_in(dir.path(), "/bin/sh", &["-c", "true", &mark]);
    rows_with(&daemon.db(), &mark, "pid", 1);
    let sql = format!(
        "SELECT syscall, cmdline FROM bpf_process_events WHERE {} \
         AND syscall = 'execve'",
        cmdline_has(&mark)
    );
    let run = |mode: Option<&str>| {
        let mut cmd = vigil();
        cmd.args(["query", "--database_path"]).arg(daemon.db());
        if let Some(mode) = mode {
            cmd.arg(mode);
        }
        let out = cmd.arg(&sql).output().expect("query runs");
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    let cmdline = format!("/bin/sh -c true {mark}");
    let table = run(None);
    assert!(table.starts_with("+---"), "{table}");
    assert!(
        table.contains(&format!("| execve  | {cmdline} |")),
        "{table}"
    );
    assert_eq!(
        run(Some("--csv")),
        format!("syscall,cmdline\nexecve,{cmdline}\n")
    );
    assert_eq!(
        run(Some("--line")),
        format!("syscall = execve\ncmdline = {cmdline}\n")
    );

    let bad = vigil()
        .args(["query", "--database_path"])
        .arg(daemon.db())
        .arg("SELEC nothing")
        .output()
        .expect("query runs");
    assert!(!bad.status.success(), "bad SQL exits non-zero");
    assert!(
        text(&bad.stderr).contains("near \"SELEC\": syntax error"),
        "{}",
        text(&bad.stderr)
    );
}

#[test]
fn a_second_daemon_with_the_same_pidfile_refuses_to_start() {
    let mut daemon = Daemon::start(&[]);
    let other = tempfile::tempdir().expect("dir");
    let out = vigil()
        .arg("daemon")
        .arg("--database_path")
        .arg(other.path().join("db"))
        .arg("--logger_path")
        .arg(other.path().join("log"))
        .arg("--pidfile")
        .arg(daemon.pidfile())
        .output()
        .expect("second daemon runs");
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("another vigil daemon"),
        "{}",
        text(&out.stderr)
    );
    let status = daemon.stop();
    assert!(
        status.success(),
        "SIGTERM stops the daemon cleanly: {status}"
    );
    assert!(!daemon.pidfile().exists(), "the pidfile is removed at exit");
}

#[test]
fn argv_past_the_limit_is_cut_and_marked_not_silently() {
    let daemon = Daemon::start(&["--bpf_argv_limit=64"]);
    let dir = tempfile::tempdir().expect("dir");
    let mark = marker("argv");
    let long = "x".repeat(200);
    // The marker comes first so the kept prefix still contains it.
    run_in(dir.path(), "/bin/sh", &["-c", "true", &mark, &long]);
    let rows = rows_with(&daemon.db(), &mark, "cmdline, truncated, argc, syscall", 1);
    let exec = rows
        .iter()
        .find(|r| field(r, "syscall") == "execve")
        .unwrap_or_else(|| panic!("the exec: {rows:#?}"));
    assert_eq!(field(exec, "truncated"), "1");
    let cmdline = field(exec, "cmdline");
    assert!(cmdline.len() <= 64, "at most the limit is kept: {cmdline}");
    assert!(
        cmdline.starts_with(&format!("/bin/sh -c true {mark}")),
        "{cmdline}"
    );
    poll("argv_truncated to be counted", WAIT, || {
        let rows = query_json(
            &daemon.db(),
            "SELECT argv_truncated FROM vigil_events WHERE name = 'bpf_process_events'",
        );
        (field(&rows[0], "argv_truncated") != "0").then_some(())
    });
}
