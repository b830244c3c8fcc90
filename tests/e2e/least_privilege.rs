//! vigil as an unprivileged user with exactly the capabilities SECURITY.md names (CAP_BPF,
//! CAP_PERFMON, CAP_DAC_READ_SEARCH for tracefs, CAP_SYS_PTRACE for other users' `/proc`
//! entries), granted by `setpriv` as a service manager would: the exec, file and socket
//! scenario passes; with one of them missing, vigil says which.

use std::{
    net::{TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::Duration,
};

use crate::support::{Daemon, VIGIL, cmdline_has, field, marker, poll, query_json, run_in, text};

const NOBODY: u32 = 65534;
const WAIT: Duration = Duration::from_secs(30);
/// setpriv's names of the capabilities vigil needs, and their bits in `CapEff`.
const NEEDED: [(&str, u32); 4] = [
    ("bpf", 39),
    ("perfmon", 38),
    ("dac_read_search", 2),
    ("sys_ptrace", 19),
];

/// `vigil` run as nobody with exactly `caps` (setpriv's names): inheritable, ambient (so they
/// survive the exec of vigil and of its worker) and bounding set alike.
fn as_nobody_with(caps: &[&str]) -> Command {
    let list: String = std::iter::once("-all".to_owned())
        .chain(caps.iter().map(|c| format!("+{c}")))
        .collect::<Vec<_>>()
        .join(",");
    let mut command = Command::new("setpriv");
    command
        .arg(format!("--reuid={NOBODY}"))
        .arg(format!("--regid={NOBODY}"))
        .arg("--clear-groups")
        .arg(format!("--inh-caps={list}"))
        .arg(format!("--ambient-caps={list}"))
        .arg(format!("--bounding-set={list}"))
        .arg("--")
        .arg(VIGIL)
        .env("VIGIL_LOG", "info")
        .env("HOME", "/")
        .env("TMPDIR", "/tmp")
        .current_dir("/");
    command
}

/// The pin directory of a daemon on `database`, made nobody's (bpffs's `vigil` directory is
/// root's), removed when dropped.
struct PinDirectory(PathBuf);

impl PinDirectory {
    fn for_database(database: &Path) -> Self {
        let dir = vigil_events::linux::ebpf::pin_directory(database);
        std::fs::create_dir_all(&dir).expect("pin directory");
        std::os::unix::fs::chown(&dir, Some(NOBODY), Some(NOBODY)).expect("chown pins");
        Self(dir)
    }
}

impl Drop for PinDirectory {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn status_field(pid: u32, name: &str) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .map(|v| v.trim().to_owned())
        .unwrap_or_else(|| panic!("no {name} in /proc/{pid}/status"))
}

#[test]
fn exec_file_and_socket_events_come_with_exactly_the_needed_capabilities() {
    let dir = tempfile::tempdir().expect("dir");
    std::os::unix::fs::chown(dir.path(), Some(NOBODY), Some(NOBODY)).expect("chown");
    let _pins = PinDirectory::for_database(&dir.path().join("db"));
    let caps: Vec<&str> = NEEDED.iter().map(|(name, _)| *name).collect();
    let daemon = Daemon::start_command(dir, as_nobody_with(&caps), &[]);
    let worker = poll("the worker", WAIT, || daemon.worker_pid());
    assert_eq!(
        status_field(worker, "Uid"),
        format!("{NOBODY}\t{NOBODY}\t{NOBODY}\t{NOBODY}")
    );
    let exactly: u64 = NEEDED.iter().map(|(_, bit)| 1u64 << bit).sum();
    assert_eq!(
        status_field(worker, "CapEff"),
        format!("{exactly:016x}"),
        "the worker has exactly the needed capabilities"
    );
    assert!(
        !daemon.stderr().contains("lacks"),
        "nothing is missing: {}",
        daemon.stderr()
    );

    // An exec, a file created and renamed, a TCP connect from this (root's, older) process.
    let work = tempfile::tempdir().expect("work");
    let cwd = work.path().canonicalize().expect("cwd");
    let mark = marker("least-privilege");
    let (sh, out) = run_in(&cwd, "/bin/sh", &["-c", &format!("exec /bin/true {mark}")]);
    assert!(out.status.success());
    let file = cwd.join(format!("{mark}.txt"));
    std::fs::write(&file, "x").expect("file");
    let renamed = cwd.join(format!("{mark}.renamed"));
    std::fs::rename(&file, &renamed).expect("rename");
    let listener = TcpListener::bind("127.0.0.1:0").expect("listen");
    let port = listener.local_addr().expect("addr").port();
    let _client = TcpStream::connect(("127.0.0.1", port)).expect("connect");

    let exec = poll("the exec row", WAIT, || {
        query_json(
            &daemon.db(),
            &format!(
                "SELECT pid, path, cwd FROM bpf_process_events \
                 WHERE syscall = 'execve' AND {}",
                cmdline_has(&mark)
            ),
        )
        .into_iter()
        .find(|r| field(r, "pid") == sh.to_string())
    });
    assert_eq!(field(&exec, "cwd"), cwd.to_string_lossy(), "{exec}");
    let rename = poll("the rename row", WAIT, || {
        query_json(
            &daemon.db(),
            &format!(
                "SELECT path, dest_path, executable FROM bpf_file_events \
                 WHERE operation = 'rename' AND path = '{}'",
                file.display()
            ),
        )
        .into_iter()
        .next()
    });
    assert_eq!(field(&rename, "dest_path"), renamed.to_string_lossy());
    let connect = poll("the connect row", WAIT, || {
        query_json(
            &daemon.db(),
            &format!(
                "SELECT path, remote_port FROM bpf_socket_events \
                 WHERE syscall = 'connect' AND pid = {} AND remote_port = {port}",
                std::process::id()
            ),
        )
        .into_iter()
        .next()
    });
    // This process is root's and ran before vigil: its executable comes from /proc, which
    // shows it to another user only with CAP_SYS_PTRACE.
    let me = std::env::current_exe().expect("exe");
    assert_eq!(field(&connect, "path"), me.to_string_lossy(), "{connect}");
}

/// `vigil shell` with events on, as nobody with `caps`: its stderr and whether it succeeded.
fn shell_with(caps: &[&str]) -> (bool, String) {
    let out = as_nobody_with(caps)
        .args(["shell", "--disable_events=false"])
        .stdin(Stdio::null())
        .output()
        .expect("vigil runs");
    (out.status.success(), text(&out.stderr))
}

#[test]
fn each_missing_capability_is_named_at_start() {
    let (ok, stderr) = shell_with(&["dac_read_search", "sys_ptrace"]);
    assert!(!ok);
    assert!(
        stderr.contains("this process lacks CAP_BPF, CAP_PERFMON"),
        "{stderr}"
    );
    let (ok, stderr) = shell_with(&["bpf", "dac_read_search", "sys_ptrace"]);
    assert!(!ok);
    assert!(
        stderr.contains("this process lacks CAP_PERFMON;"),
        "{stderr}"
    );
    let (ok, stderr) = shell_with(&["bpf", "perfmon", "sys_ptrace"]);
    assert!(!ok);
    assert!(
        stderr.contains("tracefs at /sys/kernel/tracing cannot be read by this user")
            && stderr.contains("lacks CAP_DAC_READ_SEARCH"),
        "{stderr}"
    );
    // Without CAP_SYS_PTRACE events come, without what /proc hides: said at start.
    let (ok, stderr) = shell_with(&["bpf", "perfmon", "dac_read_search"]);
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains("this process lacks CAP_SYS_PTRACE"),
        "{stderr}"
    );
}

#[test]
fn audit_without_its_capabilities_is_refused_naming_them() {
    let (ok, stderr) = {
        let out = as_nobody_with(&["bpf", "perfmon", "dac_read_search", "sys_ptrace"])
            .args(["shell", "--disable_events=false", "--disable_audit=false"])
            .stdin(Stdio::null())
            .output()
            .expect("vigil runs");
        (out.status.success(), text(&out.stderr))
    };
    assert!(
        stderr.contains("this process lacks CAP_AUDIT_CONTROL, CAP_AUDIT_READ, which --disable_audit=false needs"),
        "ok={ok} {stderr}"
    );
}
