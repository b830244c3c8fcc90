//! File activity in a running daemon's `bpf_file_events`, with exact absolute paths.

use std::{path::Path, time::Duration};

use crate::support::{Daemon, field, poll, query_json, run_in};

const WAIT: Duration = Duration::from_secs(30);
const COLUMNS: &str = "operation, syscall, path, dest_path, mode, success, errno, resolved, \
                       executable, new_uid, new_gid, inode";

/// File rows whose path or destination starts with `root`, oldest first, once `want` are stored.
fn rows_under(daemon: &Daemon, root: &Path, want: usize) -> Vec<serde_json::Value> {
    let root = root.to_string_lossy();
    let sql = format!(
        "SELECT {COLUMNS} FROM bpf_file_events \
         WHERE substr(path, 1, {len}) = '{root}' OR substr(dest_path, 1, {len}) = '{root}' \
         ORDER BY ntime",
        len = root.len()
    );
    poll(&format!("{want} file rows under {root}"), WAIT, || {
        let rows = query_json(&daemon.db(), &sql);
        (rows.len() >= want).then_some(rows)
    })
}

fn find<'a>(rows: &'a [serde_json::Value], operation: &str, path: &Path) -> &'a serde_json::Value {
    let path = path.to_string_lossy();
    rows.iter()
        .find(|r| field(r, "operation") == operation && field(r, "path") == path)
        .unwrap_or_else(|| panic!("a {operation} of {path}: {rows:#?}"))
}

fn canonical_tempdir() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().canonicalize().expect("canonical");
    (dir, path)
}

#[test]
fn relative_paths_from_a_chdired_process_come_out_absolute() {
    let daemon = Daemon::start(&[]);
    let (_dir, root) = canonical_tempdir();
    let work = root.join("work");
    let other = root.join("other");
    std::fs::create_dir_all(&work).expect("work");
    std::fs::create_dir_all(&other).expect("other");
    let script = "echo data > rel.txt \
        && mv rel.txt ../other/moved.txt \
        && chmod 600 ../other/moved.txt \
        && mkdir newdir \
        && ln -s ../other/moved.txt newdir/sym \
        && ln ../other/moved.txt hard \
        && truncate -s 0 hard \
        && chown 1:2 hard \
        && rm hard ../other/moved.txt newdir/sym \
        && rmdir newdir \
        && rm missing-file 2>/dev/null; true";
    let (_, out) = run_in(&work, "/bin/sh", &["-c", script]);
    assert!(out.status.success());

    let rows = rows_under(&daemon, &root, 13);
    let created = find(&rows, "open", &work.join("rel.txt"));
    assert_eq!(field(created, "success"), "1");
    assert_eq!(field(created, "resolved"), "1");
    assert_ne!(field(created, "inode"), "0", "an opened file has its inode");
    assert_eq!(field(created, "executable"), "/usr/bin/dash");

    let renamed = find(&rows, "rename", &work.join("rel.txt"));
    assert_eq!(
        field(renamed, "dest_path"),
        other.join("moved.txt").to_string_lossy(),
        "a rename across directories, through `..`"
    );
    let chmod = find(&rows, "chmod", &other.join("moved.txt"));
    assert_eq!(field(chmod, "mode"), "0600");
    find(&rows, "mkdir", &work.join("newdir"));
    let symlink = find(&rows, "symlink", &work.join("newdir/sym"));
    assert_eq!(
        field(symlink, "dest_path"),
        "../other/moved.txt",
        "a symlink's target as written"
    );
    let link = find(&rows, "link", &other.join("moved.txt"));
    assert_eq!(
        field(link, "dest_path"),
        work.join("hard").to_string_lossy()
    );
    find(&rows, "truncate", &work.join("hard"));
    let chown = find(&rows, "chown", &work.join("hard"));
    assert_eq!(
        (field(chown, "new_uid"), field(chown, "new_gid")),
        ("1", "2")
    );
    find(&rows, "unlink", &work.join("hard"));
    find(&rows, "unlink", &other.join("moved.txt"));
    find(&rows, "rmdir", &work.join("newdir"));
    let failed = find(&rows, "unlink", &work.join("missing-file"));
    assert_eq!(field(failed, "success"), "0");
    assert_eq!(field(failed, "errno"), "2", "ENOENT");
}

#[test]
fn paths_longer_than_255_bytes_are_kept_whole() {
    let daemon = Daemon::start(&[]);
    let (_dir, root) = canonical_tempdir();
    let deep = root
        .join("a".repeat(120))
        .join("b".repeat(120))
        .join("c".repeat(120));
    std::fs::create_dir_all(&deep).expect("deep dirs");
    let (_, out) = run_in(&deep, "/bin/sh", &["-c", "echo x > f1 && echo y > ../f2"]);
    assert!(out.status.success());
    let file = deep.join("f1");
    assert!(file.to_string_lossy().len() > 255);
    let rows = rows_under(&daemon, &root, 2);
    let row = find(&rows, "open", &file);
    assert_eq!(field(row, "resolved"), "1");
    find(&rows, "open", &deep.parent().expect("parent").join("f2"));
}

#[test]
fn excluded_prefixes_and_the_agents_own_writes_produce_no_rows() {
    let (_dir, root) = canonical_tempdir();
    let excluded = root.join("excluded");
    let kept = root.join("kept");
    std::fs::create_dir_all(&excluded).expect("excluded");
    std::fs::create_dir_all(&kept).expect("kept");
    let config = root.join("vigil.conf");
    std::fs::write(
        &config,
        serde_json::json!({
            "exclude_paths": {"noise": [format!("{}/%%", excluded.display())]}
        })
        .to_string(),
    )
    .expect("config");
    let config_arg = format!("--config_path={}", config.display());
    let daemon = Daemon::start(&[&config_arg]);

    // Written by absolute path, by relative path (from inside), and by fd: all excluded.
    let script = format!(
        "echo 1 > {ex}/abs.txt && cd {ex} && echo 2 > rel.txt && touch fd.txt \
         && chmod 600 fd.txt && echo 3 > {kept}/kept.txt",
        ex = excluded.display(),
        kept = kept.display()
    );
    let (_, out) = run_in(&root, "/bin/sh", &["-c", &script]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The file written last is reported: the daemon saw this activity.
    let rows = rows_under(&daemon, &kept, 1);
    find(&rows, "open", &kept.join("kept.txt"));
    let excluded_rows = query_json(
        &daemon.db(),
        &format!(
            "SELECT path FROM bpf_file_events WHERE path LIKE '{}%'",
            excluded.display()
        ),
    );
    assert!(excluded_rows.is_empty(), "{excluded_rows:#?}");
    let filtered = query_json(
        &daemon.db(),
        "SELECT filtered FROM vigil_events WHERE name = 'bpf_file_events'",
    );
    assert_ne!(field(&filtered[0], "filtered"), "0");

    // The daemon writes its own database all along (it stored the rows above): none of its
    // activity is reported.
    let worker = daemon.worker_pid().expect("the daemon's worker");
    let own = query_json(
        &daemon.db(),
        &format!("SELECT operation, path FROM bpf_file_events WHERE pid = {worker}"),
    );
    assert!(own.is_empty(), "the agent's own writes: {own:#?}");
}

#[test]
fn file_paths_limit_reports_and_file_accesses_adds_reads() {
    let (_dir, root) = canonical_tempdir();
    let watched = root.join("watched");
    let elsewhere = root.join("elsewhere");
    std::fs::create_dir_all(&watched).expect("watched");
    std::fs::create_dir_all(&elsewhere).expect("elsewhere");
    std::fs::write(watched.join("secret"), "s").expect("secret");
    std::fs::write(elsewhere.join("public"), "p").expect("public");
    let config = root.join("vigil.conf");
    std::fs::write(
        &config,
        serde_json::json!({
            "file_paths": {"watched": [format!("{}/%%", watched.display())]},
            "file_accesses": ["watched"]
        })
        .to_string(),
    )
    .expect("config");
    let config_arg = format!("--config_path={}", config.display());
    let daemon = Daemon::start(&[&config_arg]);

    let script = format!(
        "cat {w}/secret > /dev/null && cat {e}/public > /dev/null && echo x > {e}/new \
         && echo y > {w}/new",
        w = watched.display(),
        e = elsewhere.display()
    );
    let (_, out) = run_in(&root, "/bin/sh", &["-c", &script]);
    assert!(out.status.success());
    let rows = rows_under(&daemon, &watched, 2);
    let read = find(&rows, "read", &watched.join("secret"));
    assert_eq!(field(read, "executable"), "/usr/bin/cat");
    find(&rows, "open", &watched.join("new"));
    let outside = query_json(
        &daemon.db(),
        &format!(
            "SELECT operation, path FROM bpf_file_events WHERE path LIKE '{}%'",
            elsewhere.display()
        ),
    );
    assert!(
        outside.is_empty(),
        "only file_paths are reported: {outside:#?}"
    );
}

fn c_path(path: &str) -> std::ffi::CString {
    std::ffi::CString::new(path).expect("no NUL in test paths")
}

#[test]
fn dirfd_relative_calls_resolve_against_the_directory_not_the_cwd() {
    let daemon = Daemon::start(&[]);
    let (_dir, root) = canonical_tempdir();
    let base = root.join("base");
    let elsewhere = root.join("elsewhere");
    std::fs::create_dir_all(base.join("sub")).expect("base/sub");
    std::fs::create_dir_all(&elsewhere).expect("elsewhere");
    let base_c = c_path(&base.to_string_lossy());
    let elsewhere_c = c_path(&elsewhere.to_string_lossy());
    // SAFETY: plain *at() calls on descriptors this test opens and closes.
    unsafe {
        let dfd = libc::open(base_c.as_ptr(), libc::O_DIRECTORY | libc::O_RDONLY);
        let other = libc::open(elsewhere_c.as_ptr(), libc::O_DIRECTORY | libc::O_RDONLY);
        assert!(dfd >= 0 && other >= 0);
        let fd = libc::openat(
            dfd,
            c_path("sub/../created.txt").as_ptr(),
            libc::O_CREAT | libc::O_WRONLY,
            0o640,
        );
        assert!(fd >= 0);
        libc::close(fd);
        assert_eq!(libc::mkdirat(dfd, c_path("made").as_ptr(), 0o750), 0);
        assert_eq!(
            libc::renameat(
                dfd,
                c_path("created.txt").as_ptr(),
                other,
                c_path("moved.txt").as_ptr()
            ),
            0
        );
        assert_eq!(
            libc::unlinkat(dfd, c_path("made").as_ptr(), libc::AT_REMOVEDIR),
            0
        );
        // A failed open by dirfd: the name is resolved against the directory all the same.
        let missing = libc::openat(dfd, c_path("no/such/file").as_ptr(), libc::O_WRONLY);
        assert!(missing < 0);
        libc::close(dfd);
        libc::close(other);
    }
    let rows = rows_under(&daemon, &root, 5);
    let created = find(&rows, "open", &base.join("created.txt"));
    assert_eq!(field(created, "mode"), "0640");
    let made = find(&rows, "mkdir", &base.join("made"));
    assert_eq!(field(made, "mode"), "0750");
    let moved = find(&rows, "rename", &base.join("created.txt"));
    assert_eq!(
        field(moved, "dest_path"),
        elsewhere.join("moved.txt").to_string_lossy()
    );
    find(&rows, "rmdir", &base.join("made"));
    let failed = find(&rows, "open", &base.join("no/such/file"));
    assert_eq!(field(failed, "errno"), "2");
    assert_eq!(field(failed, "resolved"), "1");
}

#[test]
fn a_reloaded_config_moves_the_file_watch_without_a_restart() {
    reload_moves_the_file_watch(&[]);
}

#[test]
fn without_a_watcher_too_a_reloaded_config_moves_the_file_watch() {
    // No pinned probes here: the new probes start before the old ones stop.
    reload_moves_the_file_watch(&["--disable_watchdog"]);
}

fn reload_moves_the_file_watch(extra: &[&str]) {
    let (_dir, root) = canonical_tempdir();
    let first = root.join("first");
    let second = root.join("second");
    std::fs::create_dir_all(&first).expect("first");
    std::fs::create_dir_all(&second).expect("second");
    let config = root.join("vigil.conf");
    let watch = |dir: &Path| {
        serde_json::json!({"file_paths": {"here": [format!("{}/%%", dir.display())]}}).to_string()
    };
    std::fs::write(&config, watch(&first)).expect("config");
    let config_arg = format!("--config_path={}", config.display());
    let mut args = vec![config_arg.as_str()];
    args.extend_from_slice(extra);
    let daemon = Daemon::start(&args);
    std::fs::write(first.join("before"), "1").expect("write");
    rows_under(&daemon, &first, 1);

    std::fs::write(&config, watch(&second)).expect("new config");
    poll("the new file paths to apply", WAIT, || {
        daemon
            .stderr()
            .contains("file paths and event switches of the new config apply")
            .then_some(())
    });
    std::fs::write(first.join("after"), "2").expect("write");
    std::fs::write(second.join("after"), "3").expect("write");
    let rows = rows_under(&daemon, &second, 1);
    find(&rows, "open", &second.join("after"));
    let old_watch = query_json(
        &daemon.db(),
        &format!(
            "SELECT path FROM bpf_file_events WHERE path = '{}'",
            first.join("after").display()
        ),
    );
    assert!(
        old_watch.is_empty(),
        "the old watch is gone: {old_watch:#?}"
    );
}

#[test]
fn a_name_through_a_symlink_and_dotdot_is_kept_unresolved_and_cannot_dodge_the_filters() {
    let (_dir, root) = canonical_tempdir();
    let dir = root.join("dir");
    let other = root.join("other");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::create_dir_all(other.join("sub")).expect("other/sub");
    // dir/link/.. is `other`, not `dir`: the link leads to other/sub.
    std::os::unix::fs::symlink(other.join("sub"), dir.join("link")).expect("symlink");
    for name in ["x", "y", "watched"] {
        std::fs::write(other.join(name), name).expect("file in other");
    }
    std::fs::write(dir.join("x"), "decoy").expect("dir/x");
    std::fs::write(dir.join("plain"), "plain").expect("dir/plain");
    // Only `other` is watched, and `dir` is excluded: read as text, `dir/link/../x` is
    // `dir/x`, excluded and not watched, so it would be dropped.
    let config = root.join("vigil.conf");
    std::fs::write(
        &config,
        serde_json::json!({
            "file_paths": {"other": [format!("{}/%%", other.display())]},
            "exclude_paths": {"dir": [format!("{}/%%", dir.display())]}
        })
        .to_string(),
    )
    .expect("config");
    let config_arg = format!("--config_path={}", config.display());
    let daemon = Daemon::start(&[&config_arg]);

    let absolute = format!("{}/link/../x", dir.display());
    let dir_c = c_path(&dir.to_string_lossy());
    // SAFETY: plain unlink calls on paths this test made, and a descriptor it closes.
    unsafe {
        assert_eq!(libc::unlink(c_path(&absolute).as_ptr()), 0);
        let dfd = libc::open(dir_c.as_ptr(), libc::O_DIRECTORY | libc::O_RDONLY);
        assert!(dfd >= 0);
        assert_eq!(libc::unlinkat(dfd, c_path("link/../y").as_ptr(), 0), 0);
        libc::close(dfd);
        assert_eq!(
            libc::unlink(c_path(&dir.join("plain").to_string_lossy()).as_ptr()),
            0
        );
        assert_eq!(
            libc::unlink(c_path(&other.join("watched").to_string_lossy()).as_ptr()),
            0
        );
    }
    assert!(
        dir.join("x").exists(),
        "the unlink removed other/x, not dir/x"
    );
    assert!(!other.join("x").exists());

    // The exact unlink in `other` came last; the ones before it are stored by then.
    let rows = poll("the unlink of other/watched", WAIT, || {
        let rows = rows_under(&daemon, &root, 1);
        rows.iter()
            .any(|r| field(r, "path") == other.join("watched").to_string_lossy())
            .then_some(rows)
    });
    let through = find(&rows, "unlink", Path::new(&absolute));
    assert_eq!(field(through, "resolved"), "0", "not guessed: {through}");
    assert_eq!(field(through, "success"), "1");
    let relative = find(&rows, "unlink", &dir.join("link/../y"));
    assert_eq!(field(relative, "resolved"), "0", "{relative}");
    let exact = find(&rows, "unlink", &other.join("watched"));
    assert_eq!(field(exact, "resolved"), "1");
    for guessed in [dir.join("x"), dir.join("y"), dir.join("plain")] {
        assert!(
            !rows
                .iter()
                .any(|r| field(r, "path") == guessed.to_string_lossy()),
            "no row for {}: {rows:#?}",
            guessed.display()
        );
    }
}
