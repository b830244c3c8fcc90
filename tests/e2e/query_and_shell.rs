//! The interactive shell and one-shot queries, with events on and off.

use std::{
    io::Write as _,
    process::{Command, Stdio},
    time::Duration,
};

use crate::support::{cmdline_has, field, marker, poll, query_json, run_in, text, vigil};

/// `vigil shell ARGS` with piped stdio and its own HOME (for the history file).
fn spawn_shell(args: &[&std::ffi::OsStr]) -> (std::process::Child, tempfile::TempDir) {
    let home = tempfile::tempdir().expect("home");
    let child = vigil()
        .arg("shell")
        .args(args)
        .env("HOME", home.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("shell starts");
    (child, home)
}

fn shell(args: &[&str], input: &str) -> std::process::Output {
    let args: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
    let (mut child, _home) = spawn_shell(&args);
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write input");
    child.wait_with_output().expect("shell ends")
}

#[test]
fn the_shell_lists_describes_switches_modes_and_survives_bad_sql() {
    let out = shell(
        &[],
        ".tables\n.schema bpf_process_events\n.mode json\nSELECT 1 AS one;\nSELEC bad;\n\
         SELECT 2\n  AS two;\n.mode csv\nSELECT 'a,b' AS x;\n.quit\n",
    );
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("=> bpf_process_events"), "{stdout}");
    assert!(stdout.contains("=> vigil_events"), "{stdout}");
    assert!(stdout.contains("=> osquery_events"), "{stdout}");
    assert!(
        stdout.contains("CREATE TABLE bpf_process_events(`tid` BIGINT"),
        "{stdout}"
    );
    assert!(stdout.contains("`time` BIGINT HIDDEN"), "{stdout}");
    assert!(stdout.contains("\"one\": \"1\""), "{stdout}");
    assert!(
        stdout.contains("\"two\": \"2\""),
        "a statement over two lines: {stdout}"
    );
    assert!(stdout.contains("x\n\"a,b\"\n"), "{stdout}");
    assert!(
        stderr.contains("Error: near \"SELEC\": syntax error"),
        "{stderr}"
    );
}

#[test]
fn the_shell_with_events_on_collects_live_kernel_events() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("db");
    let (mut child, _home) = spawn_shell(&[
        "--disable_events=false".as_ref(),
        "--database_path".as_ref(),
        db.as_os_str(),
    ]);
    let stdin = child.stdin.take().expect("stdin");
    // The shell collects into its database; `vigil query` reads it like a daemon's.
    let mark = marker("shell");
    let rows = poll(
        "the shell to record a command run after it started",
        Duration::from_secs(60),
        || {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("the shell exited early: {status}");
            }
            run_in(dir.path(), "/bin/sh", &["-c", "true", &mark]);
            if !db.join("CURRENT").exists() {
                return None;
            }
            let rows = query_json(
                &db,
                &format!(
                    "SELECT pid, cmdline FROM bpf_process_events WHERE {} \
                 AND syscall = 'execve'",
                    cmdline_has(&mark)
                ),
            );
            (!rows.is_empty()).then_some(rows)
        },
    );
    assert_eq!(
        field(&rows[0], "cmdline"),
        format!("/bin/sh -c true {mark}")
    );
    drop(stdin);
    let out = child.wait_with_output().expect("shell ends");
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn a_query_without_a_database_still_answers_agent_tables() {
    let out = vigil()
        .args(["query", "--json", "SELECT name, active FROM vigil_events"])
        .output()
        .expect("query runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(field(&rows[0], "name"), "bpf_process_events");
    assert_eq!(field(&rows[0], "active"), "0");
}

#[test]
fn querying_a_database_nobody_created_names_the_way_out() {
    let dir = tempfile::tempdir().expect("dir");
    let out = Command::new(crate::support::VIGIL)
        .args(["query", "--database_path"])
        .arg(dir.path().join("nothing"))
        .arg("SELECT 1")
        .output()
        .expect("query runs");
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("start `vigil daemon --database_path"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn vigil_flags_shows_the_values_this_process_runs_with() {
    let out = shell(
        &["--events_expiry=77", "--json"],
        "SELECT name, type, default_value, value FROM osquery_flags \
         WHERE name = 'events_expiry';\n.quit\n",
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let rows: Vec<serde_json::Value> = serde_json::from_str(&stdout).expect("json");
    assert_eq!(field(&rows[0], "value"), "77");
    assert_eq!(field(&rows[0], "default_value"), "3600");
    assert_eq!(field(&rows[0], "type"), "int");
}
