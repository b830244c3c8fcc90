//! Kernel module calls (init_module, finit_module, delete_module) in a running daemon's
//! `bpf_kernel_module_events`.
//!
//! The calls are made to fail in known ways, so no module is ever loaded into the kernel the
//! tests run on: `init_module` of an image that is not a module, `finit_module` of a file that is
//! not one, `delete_module` of a module nobody has. A kernel built without module support has
//! neither these syscalls (they answer ENOSYS) nor their tracepoints: there the table must say
//! so in `vigil_events`. Real loads and unloads run in the kernel matrix's guests
//! (`cargo xtask kernel-matrix`), which have modules of their own kernel to load.

use std::{ffi::CString, os::fd::AsRawFd, time::Duration};

use serde_json::{Value, json};

use crate::support::{Daemon, cmdline_has, field, marker, poll, query_json, run_in};

const WAIT: Duration = Duration::from_secs(30);
const TABLE: &str = "bpf_kernel_module_events";
const SYSCALLS: [&str; 3] = ["init_module", "finit_module", "delete_module"];
const NO_SUCH_MODULE: &str = "vigil_no_such_module";

/// What the three calls returned: 0 or -errno each.
struct Calls {
    init: i64,
    finit: i64,
    delete: i64,
    /// The `init_module` image's length.
    image_len: usize,
    /// The file given to `finit_module`, and its descriptor.
    not_module: std::path::PathBuf,
    fd: i32,
    params: String,
}

impl Calls {
    fn kernel_has_modules(&self) -> bool {
        let enosys = -i64::from(libc::ENOSYS);
        let answers = [self.init, self.finit, self.delete];
        // A kernel has all three module syscalls or none (CONFIG_MODULES).
        assert!(
            answers.iter().all(|&r| r == enosys) || answers.iter().all(|&r| r != enosys),
            "some module syscalls exist and some do not: {answers:?}"
        );
        answers[0] != enosys
    }
}

fn result(rc: libc::c_long) -> i64 {
    if rc < 0 {
        -i64::from(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    } else {
        rc
    }
}

/// Makes the three failing calls from this process.
fn failing_calls(dir: &std::path::Path) -> Calls {
    let params = marker("module-params");
    let params_c = CString::new(params.as_str()).expect("no NUL");
    let image = b"not a kernel module, only bytes".to_vec();
    // SAFETY: a buffer, its length and a NUL-terminated string that outlive the call.
    let init = result(unsafe {
        libc::syscall(
            libc::SYS_init_module,
            image.as_ptr(),
            image.len(),
            params_c.as_ptr(),
        )
    });

    let not_module = dir.join("not-a-module.ko");
    std::fs::write(&not_module, "not a kernel module\n").expect("write");
    let file = std::fs::File::open(&not_module).expect("open");
    // SAFETY: an fd this test holds open and a NUL-terminated string, both outliving the call.
    let finit = result(unsafe {
        libc::syscall(
            libc::SYS_finit_module,
            file.as_raw_fd(),
            params_c.as_ptr(),
            0,
        )
    });

    let name = CString::new(NO_SUCH_MODULE).expect("no NUL");
    // SAFETY: a NUL-terminated string outliving the call.
    let delete =
        result(unsafe { libc::syscall(libc::SYS_delete_module, name.as_ptr(), libc::O_NONBLOCK) });
    for (syscall, result) in SYSCALLS.iter().zip([init, finit, delete]) {
        assert!(result < 0, "{syscall} was to fail and returned {result}");
    }
    Calls {
        init,
        finit,
        delete,
        image_len: image.len(),
        not_module,
        fd: file.as_raw_fd(),
        params,
    }
}

/// The table's row of `vigil_events`, once the daemon has judged its availability.
fn availability(daemon: &Daemon) -> Value {
    poll("the module table's availability", WAIT, || {
        let rows = query_json(
            &daemon.db(),
            &format!(
                "SELECT active, available, unavailable_reason, seen, stored, dropped \
                 FROM vigil_events WHERE name = '{TABLE}'"
            ),
        );
        // NULL (shown as "") until the probes started.
        rows.into_iter()
            .next()
            .filter(|row| !field(row, "available").is_empty())
    })
}

#[test]
fn failing_module_calls_are_reported_with_what_they_named_and_their_errors() {
    let daemon = Daemon::start(&[]);
    let dir = tempfile::tempdir().expect("dir");
    let dir_path = dir.path().canonicalize().expect("canonical");
    let calls = failing_calls(&dir_path);
    let table = availability(&daemon);

    if !calls.kernel_has_modules() {
        // No syscalls, no tracepoints: the table is there, unavailable, and says why.
        assert_eq!(field(&table, "available"), "0", "{table}");
        assert_eq!(field(&table, "active"), "0", "{table}");
        let reason = field(&table, "unavailable_reason");
        for syscall in SYSCALLS {
            assert!(
                reason.contains(&format!(
                    "{syscall}: this kernel has no tracepoint syscalls:sys_enter_{syscall}"
                )),
                "{reason}"
            );
        }
        // The status log says so too (its lines reach the file a little after they are made).
        poll(
            "the status line saying the table is unavailable",
            WAIT,
            || {
                daemon
                    .log("vigil.status.log")
                    .lines()
                    .any(|l| {
                        l.contains("event table unavailable on this kernel") && l.contains(TABLE)
                    })
                    .then_some(())
            },
        );
        // Its counters are there, and nothing came.
        for counter in ["seen", "stored", "dropped"] {
            assert_eq!(field(&table, counter), "0", "{table}");
        }
        return;
    }

    assert_eq!(field(&table, "available"), "1", "{table}");
    let me = std::process::id();
    let rows = poll("the three module calls", WAIT, || {
        let rows = query_json(
            &daemon.db(),
            &format!(
                "SELECT syscall, pid, exit_code, path, name, module_path, size, params, fd, \
                 flags FROM {TABLE} WHERE pid = {me} ORDER BY ntime"
            ),
        );
        (rows.len() >= 3).then_some(rows)
    });
    let one = |syscall: &str| -> &Value {
        rows.iter()
            .find(|r| field(r, "syscall") == syscall)
            .unwrap_or_else(|| panic!("a {syscall} row: {rows:#?}"))
    };
    let exe = std::env::current_exe().expect("exe");
    for row in &rows {
        assert_eq!(field(row, "pid"), me.to_string());
        assert_eq!(field(row, "path"), exe.to_string_lossy(), "{row}");
    }
    let init = one("init_module");
    assert_eq!(field(init, "exit_code"), calls.init.to_string());
    assert_eq!(field(init, "size"), calls.image_len.to_string());
    assert_eq!(field(init, "params"), calls.params);
    let finit = one("finit_module");
    assert_eq!(field(finit, "exit_code"), calls.finit.to_string());
    assert_eq!(
        field(finit, "module_path"),
        calls.not_module.to_string_lossy()
    );
    assert_eq!(field(finit, "fd"), calls.fd.to_string());
    assert_eq!(field(finit, "params"), calls.params);
    let delete = one("delete_module");
    assert_eq!(field(delete, "exit_code"), calls.delete.to_string());
    assert_eq!(
        field(delete, "exit_code"),
        (-libc::ENOENT).to_string(),
        "no such module"
    );
    assert_eq!(field(delete, "name"), NO_SUCH_MODULE);
    assert_eq!(field(delete, "flags"), libc::O_NONBLOCK.to_string());

    // The table's counters in vigil_events, as the daemon saved them, count the rows.
    poll("the module table's counters", WAIT, || {
        let table = availability(&daemon);
        let stored: u64 = field(&table, "stored").parse().ok()?;
        (stored >= 3).then_some(())
    });
}

#[test]
fn a_config_can_switch_the_module_table_off() {
    let dir = tempfile::tempdir().expect("dir");
    let root = dir.path().canonicalize().expect("canonical");
    let config = root.join("vigil.conf");
    std::fs::write(
        &config,
        json!({"events": {"disable_subscribers": [TABLE]}}).to_string(),
    )
    .expect("config");
    let daemon = Daemon::start(&[&format!("--config_path={}", config.display())]);

    // Collection runs: an exec is stored.
    let mark = marker("modules-off");
    run_in(&root, "/bin/sh", &["-c", "true", &mark]);
    poll("the process event", WAIT, || {
        let sql = format!(
            "SELECT pid FROM bpf_process_events WHERE {}",
            cmdline_has(&mark)
        );
        (!query_json(&daemon.db(), &sql).is_empty()).then_some(())
    });
    let calls = failing_calls(&root);
    // Made after the exec, stored before the next one is.
    let after = marker("modules-off-after");
    run_in(&root, "/bin/sh", &["-c", "true", &after]);
    poll("the later process event", WAIT, || {
        let sql = format!(
            "SELECT pid FROM bpf_process_events WHERE {}",
            cmdline_has(&after)
        );
        (!query_json(&daemon.db(), &sql).is_empty()).then_some(())
    });

    // On a kernel with modules, the calls would have made rows (the test above).
    let rows = query_json(&daemon.db(), &format!("SELECT syscall FROM {TABLE}"));
    assert!(
        rows.is_empty(),
        "{TABLE} is off (kernel with modules: {}): {rows:#?}",
        calls.kernel_has_modules()
    );
    // Switched off, the table is not judged against the kernel: no availability and no reason
    // (where, switched on, it has one or the other: the test above), and no status line calls
    // it unavailable.
    let off = query_json(
        &daemon.db(),
        &format!("SELECT available, unavailable_reason FROM vigil_events WHERE name = '{TABLE}'"),
    );
    assert_eq!(off.len(), 1, "vigil_events still lists the table: {off:#?}");
    // NULL, which `--json` shows as "".
    assert_eq!(field(&off[0], "available"), "", "{off:#?}");
    assert_eq!(field(&off[0], "unavailable_reason"), "", "{off:#?}");
    let status = daemon.log("vigil.status.log");
    assert!(
        !status
            .lines()
            .any(|l| l.contains("event table unavailable") && l.contains(TABLE)),
        "{status}"
    );
    let stderr = daemon.stderr();
    assert!(
        !status.contains("is not an event table of vigil")
            && !stderr.contains("is not an event table of vigil"),
        "the config's table name is known: {status}\n{stderr}"
    );
}
