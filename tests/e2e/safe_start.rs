//! Safe permissions at start: the daemon refuses files others could change (with the file and
//! the fix named), unless `--allow_unsafe` is on the command line itself; its database is
//! owner-only and its log files are `--logger_mode`, never written through a symbolic link.
//! (Each kind of refusal is tested in `agent/src/safe_files/`.)

use std::{
    os::unix::fs::PermissionsExt as _,
    path::Path,
    process::Stdio,
    time::{Duration, Instant},
};

use serde_json::json;

use crate::support::{Daemon, poll, text, vigil};

const WAIT: Duration = Duration::from_secs(60);

fn mode_of(path: &Path) -> u32 {
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o7777
}

/// `vigil daemon` in `dir` with `extra`, expected to refuse at once: its stderr.
pub fn refused(dir: &Path, extra: &[String]) -> String {
    let mut child = vigil()
        .arg("daemon")
        .arg(format!("--database_path={}", dir.join("db").display()))
        .arg(format!("--logger_path={}", dir.join("log").display()))
        .arg(format!("--pidfile={}", dir.join("vigil.pid").display()))
        .arg("--disable_events")
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("vigil runs");
    let deadline = Instant::now() + WAIT;
    while child.try_wait().ok().flatten().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the daemon did not refuse to start");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("output");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(!dir.join("db").exists(), "nothing started: {stderr}");
    stderr
}

#[test]
fn files_others_can_change_are_refused_unless_the_command_line_allows_it() {
    let dir = tempfile::tempdir().expect("dir");
    let config = dir.path().join("vigil.conf");
    std::fs::write(&config, "{}").expect("config");
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o664)).expect("chmod");
    let config_arg = format!("--config_path={}", config.display());

    let stderr = refused(dir.path(), std::slice::from_ref(&config_arg));
    assert!(
        stderr.contains(&format!(
            "--config_path {} has unsafe permissions: its group",
            config.display()
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("`chmod go-w {}`", config.display())),
        "the fix is named: {stderr}"
    );

    // A flagfile cannot switch the check off (whoever could write it would): warned, refused.
    let flagfile = dir.path().join("vigil.flags");
    std::fs::write(&flagfile, "--allow_unsafe\n").expect("flagfile");
    let stderr = refused(
        dir.path(),
        &[
            config_arg.clone(),
            format!("--flagfile={}", flagfile.display()),
        ],
    );
    assert!(
        stderr.contains("--allow_unsafe in a --flagfile is ignored"),
        "{stderr}"
    );
    assert!(stderr.contains("has unsafe permissions"), "{stderr}");

    let daemon = Daemon::start(&["--disable_events", "--allow_unsafe", &config_arg]);
    assert!(daemon.stderr().contains("vigil daemon running"));
}

#[test]
fn the_database_is_owner_only_and_log_files_are_logger_mode_never_through_a_link() {
    let dir = tempfile::tempdir().expect("dir");
    let log = dir.path().join("log");
    std::fs::create_dir(&log).expect("log dir");
    // A status log left readable by everyone, and a results log that is a link elsewhere.
    let status = log.join("vigil.status.log");
    std::fs::write(&status, "").expect("status log");
    std::fs::set_permissions(&status, std::fs::Permissions::from_mode(0o666)).expect("chmod");
    let elsewhere = dir.path().join("elsewhere");
    std::fs::write(&elsewhere, "").expect("elsewhere");
    std::os::unix::fs::symlink(&elsewhere, log.join("vigil.results.log")).expect("symlink");
    let config = dir.path().join("vigil.conf");
    let schedule = json!({"schedule": {"one": {"query": "SELECT 1 AS one", "interval": 1}}});
    std::fs::write(&config, schedule.to_string()).expect("config");

    let config_arg = format!("--config_path={}", config.display());
    let daemon = Daemon::start_in(dir, &["--disable_events", &config_arg]);
    assert_eq!(mode_of(&daemon.db()), 0o700, "the database directory");
    poll("status lines in the old status log", WAIT, || {
        daemon
            .log("vigil.status.log")
            .contains("vigil daemon running")
            .then_some(())
    });
    // The results log cannot be opened: the lines wait in the database, and stderr says why.
    poll("a refusal to write through the link", WAIT, || {
        daemon
            .stderr()
            .contains("writing vigil.results.log")
            .then_some(())
    });
    assert_eq!(
        mode_of(&status),
        0o640,
        "the old status log gets --logger_mode"
    );
    assert_eq!(
        std::fs::read_to_string(&elsewhere).expect("elsewhere"),
        "",
        "nothing written through the link"
    );
}
