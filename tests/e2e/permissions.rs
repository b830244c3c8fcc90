//! Without root (or CAP_BPF and CAP_PERFMON) the publishers cannot start: one clear sentence, and
//! the tables that need no kernel events still work.

use std::{os::unix::process::CommandExt as _, process::Stdio};

use crate::support::{text, vigil};

const NOBODY: u32 = 65534;

#[test]
fn without_bpf_privileges_events_fail_clearly_and_agent_tables_still_work() {
    let home = tempfile::tempdir().expect("home");
    let out = vigil()
        .args(["shell", "--disable_events=false"])
        .env("HOME", home.path())
        .env("TMPDIR", "/tmp")
        .current_dir("/")
        .uid(NOBODY)
        .gid(NOBODY)
        .stdin(Stdio::null())
        .output()
        .expect("vigil runs as nobody");
    let stderr = text(&out.stderr);
    assert!(
        !out.status.success(),
        "starting publishers without privileges fails"
    );
    assert!(
        stderr.contains("needs root (or the CAP_BPF and CAP_PERFMON capabilities)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("--disable_events"),
        "the way out is named: {stderr}"
    );

    let out = vigil()
        .args([
            "query",
            "SELECT count(*) AS n FROM vigil_events WHERE name = 'bpf_process_events'",
        ])
        .current_dir("/")
        .uid(NOBODY)
        .gid(NOBODY)
        .output()
        .expect("vigil query runs as nobody");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("| 1 |"), "{}", text(&out.stdout));
}
