//! The scenario one kernel runs (`xtask kernel-scenario`, inside the guest or on the host): start
//! `vigil daemon`, make the calls vigil reports — each through the exact syscall, so the row's
//! every key column is known — and look for each expected row through `vigil query`.

use std::{
    ffi::CString,
    os::unix::{ffi::OsStrExt as _, fs::PermissionsExt as _},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};

use super::report::{Check, Program, Report, TableState};

/// Starts the report's line on the guest's report port (the rest of the line is JSON).
pub const REPORT_PREFIX: &str = "VIGIL-MATRIX-REPORT ";

/// How long the daemon may take to start: loading and verifying every program under software
/// emulation takes a while.
const STARTUP_DEADLINE: Duration = Duration::from_secs(600);
/// How long the expected rows may take to show up.
const ROWS_DEADLINE: Duration = Duration::from_secs(180);

/// Runs the scenario with `vigil` in `work` (created empty) and returns what it found.
pub fn run(vigil: &Path, work: &Path) -> anyhow::Result<Report> {
    if work.exists() {
        std::fs::remove_dir_all(work).with_context(|| format!("clearing {}", work.display()))?;
    }
    for dir in ["db", "log", "files"] {
        std::fs::create_dir_all(work.join(dir))
            .with_context(|| format!("creating {}", work.join(dir).display()))?;
    }
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .context("reading the kernel release")?
        .trim()
        .to_owned();
    let mut report = Report {
        kernel,
        error: None,
        startup_secs: 0.0,
        programs: Vec::new(),
        tables: Vec::new(),
        checks: Vec::new(),
        absent: Vec::new(),
    };
    let mut daemon = Daemon::start(vigil, work)?;
    let started = Instant::now();
    match daemon.wait_running() {
        Ok(()) => report.startup_secs = started.elapsed().as_secs_f64(),
        Err(error) => {
            report.error = Some(format!("{error:#}"));
            report.programs = daemon.programs();
            return Ok(report);
        }
    }
    eprintln!(
        "scenario: vigil daemon running after {:.1} s",
        report.startup_secs
    );
    match act(work) {
        Ok(acted) => {
            report.checks = look_for(&daemon, &acted.expected);
            report.absent = acted.absent;
        }
        Err(error) => report.error = Some(format!("making the scenario's calls: {error:#}")),
    }
    match daemon.tables() {
        Ok(tables) => report.tables = tables,
        Err(error) => {
            report
                .error
                .get_or_insert(format!("reading vigil_events: {error:#}"));
        }
    }
    report.programs = daemon.programs();
    Ok(report)
}

/// A `vigil daemon` on the work directory, stopped when dropped.
struct Daemon {
    vigil: PathBuf,
    work: PathBuf,
    child: Child,
}

impl Daemon {
    fn start(vigil: &Path, work: &Path) -> anyhow::Result<Self> {
        let stderr = std::fs::File::create(work.join("daemon.stderr"))?;
        let child = Command::new(vigil)
            .arg("daemon")
            .arg("--database_path")
            .arg(work.join("db"))
            .arg("--logger_path")
            .arg(work.join("log"))
            .arg("--pidfile")
            .arg(work.join("vigil.pid"))
            // Restarts only: under emulation a start takes far more CPU than the limits allow.
            .arg("--watchdog_level=-1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("starting {}", vigil.display()))?;
        Ok(Self {
            vigil: vigil.to_owned(),
            work: work.to_owned(),
            child,
        })
    }

    fn status_log(&self) -> String {
        std::fs::read_to_string(self.work.join("log").join("vigil.status.log")).unwrap_or_default()
    }

    fn stderr_tail(&self) -> String {
        let text = std::fs::read_to_string(self.work.join("daemon.stderr")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }

    fn wait_running(&mut self) -> anyhow::Result<()> {
        let deadline = Instant::now() + STARTUP_DEADLINE;
        loop {
            if messages(&self.status_log()).any(|m| m.starts_with("vigil daemon running")) {
                return Ok(());
            }
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "vigil daemon exited with {status} before running; its last words:\n{}",
                    self.stderr_tail()
                );
            }
            if Instant::now() > deadline {
                bail!(
                    "vigil daemon did not say it runs within {STARTUP_DEADLINE:?}; its last \
                     words:\n{}",
                    self.stderr_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// `vigil query --json` on the daemon's database: one object of text values per row.
    fn query(&self, sql: &str) -> anyhow::Result<Vec<serde_json::Map<String, serde_json::Value>>> {
        let output = Command::new(&self.vigil)
            .arg("query")
            .arg("--database_path")
            .arg(self.work.join("db"))
            .arg("--json")
            .arg(sql)
            .output()
            .context("running vigil query")?;
        if !output.status.success() {
            bail!(
                "vigil query failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        let rows: Vec<serde_json::Value> =
            serde_json::from_slice(&output.stdout).context("vigil query's JSON")?;
        Ok(rows
            .into_iter()
            .filter_map(|row| match row {
                serde_json::Value::Object(map) => Some(map),
                _ => None,
            })
            .collect())
    }

    fn tables(&self) -> anyhow::Result<Vec<TableState>> {
        let rows = self.query(
            "SELECT name, available, unavailable_reason FROM vigil_events WHERE name LIKE 'bpf_%'",
        )?;
        Ok(rows
            .iter()
            .map(|row| TableState {
                name: text(row, "name"),
                available: match text(row, "available").as_str() {
                    "1" => Some(true),
                    "0" => Some(false),
                    _ => None,
                },
                unavailable_reason: text(row, "unavailable_reason"),
            })
            .collect())
    }

    /// What the status log says of each eBPF program.
    fn programs(&self) -> Vec<Program> {
        let log = self.status_log();
        let mut programs: Vec<Program> = Vec::new();
        for message in messages(&log) {
            let (loaded, fields) =
                if let Some(rest) = message.strip_prefix("eBPF program loaded and attached ") {
                    (true, rest)
                } else if let Some(rest) =
                    message.strip_prefix("eBPF program not in use on this kernel ")
                {
                    (false, rest)
                } else {
                    continue;
                };
            let field = |key: &str| {
                fields
                    .split(' ')
                    .find_map(|part| part.strip_prefix(key)?.strip_prefix('='))
                    .map(str::to_owned)
            };
            let Some(name) = field("program") else {
                continue;
            };
            let program = Program {
                name,
                verified_insns: field("verified_insns").and_then(|n| n.parse().ok()),
                attached: field("attached")
                    .map(|a| a.split(',').map(str::to_owned).collect())
                    .unwrap_or_default(),
                error: (!loaded).then(|| {
                    fields
                        .split_once("error=")
                        .map_or(fields, |(_, error)| error)
                        .to_owned()
                }),
            };
            match programs.iter_mut().find(|p| p.name == program.name) {
                Some(existing) => *existing = program,
                None => programs.push(program),
            }
        }
        programs
    }
}

impl Drop for Daemon {
    /// SIGTERM (an orderly stop removes its pinned programs), SIGKILL if it does not stop.
    fn drop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        // SAFETY: signals our own child by its pid.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(120);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `message` of each status log line.
fn messages(log: &str) -> impl Iterator<Item = String> + '_ {
    log.lines().filter_map(|line| {
        let value: serde_json::Value = serde_json::from_str(line).ok()?;
        Some(value.get("message")?.as_str()?.to_owned())
    })
}

fn text(row: &serde_json::Map<String, serde_json::Value>, column: &str) -> String {
    match row.get(column) {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

/// A row the scenario must find: in `table`, where `key` columns equal their values, every
/// `expect` column equals its value.
struct Expected {
    name: &'static str,
    programs: &'static [&'static str],
    table: &'static str,
    key: Vec<(&'static str, String)>,
    expect: Vec<(&'static str, String)>,
}

fn c_string(text: &str) -> anyhow::Result<CString> {
    CString::new(text).with_context(|| format!("{text:?} holds a NUL"))
}

fn c_path(path: &Path) -> anyhow::Result<CString> {
    CString::new(path.as_os_str().as_bytes())
        .with_context(|| format!("{} holds a NUL", path.display()))
}

/// Forks; the child runs `child` (async-signal-safe calls only) and ends with `_exit(127)` if
/// `child` returns; the parent waits for it. Returns the child's pid and wait status. `raw_fork`
/// uses the `fork` syscall itself (the C library's fork() is a `clone`).
fn fork_and_wait(raw_fork: bool, child: impl FnOnce()) -> anyhow::Result<(u32, i32)> {
    // SAFETY: the child only calls async-signal-safe functions (execve, _exit) before it ends.
    let pid = unsafe {
        if raw_fork {
            libc::syscall(libc::SYS_fork) as libc::pid_t
        } else {
            libc::fork()
        }
    };
    if pid < 0 {
        bail!("fork failed: {}", std::io::Error::last_os_error());
    }
    if pid == 0 {
        child();
        // SAFETY: ends the child without running the parent's destructors.
        unsafe { libc::_exit(127) }
    }
    let mut status = 0;
    // SAFETY: waits for our own child, writing its status into a local.
    if unsafe { libc::waitpid(pid, &mut status, 0) } != pid {
        bail!("waitpid failed: {}", std::io::Error::last_os_error());
    }
    Ok((pid as u32, status))
}

/// `execve(path, [path, marker], [])`; returns only if it fails.
fn exec_child(path: &CString, marker: &CString) {
    let argv = [path.as_ptr(), marker.as_ptr(), std::ptr::null()];
    let envp = [std::ptr::null()];
    // SAFETY: NUL-terminated strings and NULL-terminated arrays that outlive the call.
    unsafe { libc::execve(path.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
}

fn check_syscall(name: &str, rc: libc::c_long) -> anyhow::Result<libc::c_long> {
    if rc < 0 {
        bail!("{name} failed: {}", std::io::Error::last_os_error());
    }
    Ok(rc)
}

/// What the scenario's calls must have produced.
struct Acted {
    /// The rows.
    expected: Vec<Expected>,
    /// The syscalls this kernel does not have (`ENOSYS`): no row can come of them.
    absent: Vec<String>,
}

/// Makes every call of the scenario; returns the rows they must produce.
fn act(work: &Path) -> anyhow::Result<Acted> {
    let me = std::process::id().to_string();
    let nonce = format!("{}-{}", std::process::id(), wall_nanos());
    let marker = format!("vigil-matrix-marker-{nonce}");
    let marker_c = c_string(&marker)?;
    let mut expected = Vec::new();
    let mut absent = Vec::new();

    // An exec with a marker, from a child the C library forks (a `clone`).
    let true_path = PathBuf::from("/bin/true");
    let true_exe = std::fs::canonicalize(&true_path).context("resolving /bin/true")?;
    let true_c = c_path(&true_path)?;
    let cwd = std::env::current_dir()?;
    let (exec_pid, status) = fork_and_wait(false, || exec_child(&true_c, &marker_c))?;
    if status != 0 {
        bail!("/bin/true {marker} ended with wait status {status}");
    }
    expected.push(Expected {
        name: "exec with a marker",
        programs: &["vigil_enter_execve", "vigil_sched_process_exec"],
        table: "bpf_process_events",
        key: vec![("pid", exec_pid.to_string()), ("syscall", "execve".into())],
        expect: vec![
            ("parent", me.clone()),
            ("path", true_exe.display().to_string()),
            ("filename", "/bin/true".into()),
            ("cmdline", format!("/bin/true {marker}")),
            ("cwd", cwd.display().to_string()),
            ("exit_code", "0".into()),
        ],
    });
    expected.push(Expected {
        name: "clone (the C library's fork)",
        programs: &["vigil_enter_clone", "vigil_exit_clone"],
        table: "bpf_process_events",
        key: vec![("pid", me.clone()), ("syscall", "clone".into())],
        expect: vec![
            ("exit_code", exec_pid.to_string()),
            ("child_pid", exec_pid.to_string()),
        ],
    });
    expected.push(Expected {
        name: "exit of the exec'd process",
        programs: &["vigil_sched_process_exit"],
        table: "bpf_process_events",
        key: vec![("pid", exec_pid.to_string()), ("syscall", "exit".into())],
        expect: vec![("exit_code", "0".into()), ("parent", me.clone())],
    });

    // A failing exec: the child's execve of a path that does not exist.
    let missing = format!("/nonexistent-{nonce}/vigil-matrix");
    let missing_c = c_string(&missing)?;
    let (failed_pid, status) = fork_and_wait(false, || exec_child(&missing_c, &marker_c))?;
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 127 {
        bail!("the failing exec's child ended with wait status {status}");
    }
    expected.push(Expected {
        name: "failing exec",
        programs: &["vigil_enter_execve", "vigil_exit_execve"],
        table: "bpf_process_events",
        key: vec![
            ("pid", failed_pid.to_string()),
            ("syscall", "execve".into()),
        ],
        expect: vec![
            ("exit_code", "-2".into()),
            ("filename", missing.clone()),
            ("cmdline", format!("{missing} {marker}")),
            ("parent", me.clone()),
        ],
    });

    // fork() itself, and an exit with a status.
    let (fork_pid, status) = fork_and_wait(true, || {
        // SAFETY: ends the child at once.
        unsafe { libc::_exit(42) }
    })?;
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 42 {
        bail!("the forked child ended with wait status {status}");
    }
    expected.push(Expected {
        name: "fork",
        programs: &["vigil_enter_fork", "vigil_exit_clone"],
        table: "bpf_process_events",
        key: vec![("pid", me.clone()), ("syscall", "fork".into())],
        expect: vec![
            ("exit_code", fork_pid.to_string()),
            ("child_pid", fork_pid.to_string()),
        ],
    });
    expected.push(Expected {
        name: "exit with status 42",
        programs: &["vigil_sched_process_exit"],
        table: "bpf_process_events",
        key: vec![("pid", fork_pid.to_string()), ("syscall", "exit".into())],
        expect: vec![("exit_code", "42".into()), ("parent", me.clone())],
    });

    // Files: create, rename, chmod, unlink, each through its *at syscall.
    let files = std::fs::canonicalize(work.join("files"))?;
    let created = files.join(format!("created-{nonce}"));
    let renamed = files.join(format!("renamed-{nonce}"));
    let (created_c, renamed_c) = (c_path(&created)?, c_path(&renamed)?);
    // SAFETY: NUL-terminated paths that outlive the calls.
    unsafe {
        let fd = check_syscall(
            "openat",
            libc::syscall(
                libc::SYS_openat,
                libc::AT_FDCWD,
                created_c.as_ptr(),
                libc::O_CREAT | libc::O_WRONLY | libc::O_EXCL | libc::O_CLOEXEC,
                0o644,
            ),
        )?;
        libc::close(fd as libc::c_int);
        check_syscall(
            "renameat",
            libc::syscall(
                libc::SYS_renameat,
                libc::AT_FDCWD,
                created_c.as_ptr(),
                libc::AT_FDCWD,
                renamed_c.as_ptr(),
            ),
        )?;
        check_syscall(
            "fchmodat",
            libc::syscall(
                libc::SYS_fchmodat,
                libc::AT_FDCWD,
                renamed_c.as_ptr(),
                0o600,
            ),
        )?;
        check_syscall(
            "unlinkat",
            libc::syscall(libc::SYS_unlinkat, libc::AT_FDCWD, renamed_c.as_ptr(), 0),
        )?;
    }
    let file = |name, programs, operation: &str, syscall: &str, path: &Path| Expected {
        name,
        programs,
        table: "bpf_file_events",
        key: vec![
            ("pid", me.clone()),
            ("operation", operation.to_owned()),
            ("path", path.display().to_string()),
        ],
        expect: vec![
            ("syscall", syscall.to_owned()),
            ("success", "1".into()),
            ("ppid", parent_pid().to_string()),
        ],
    };
    let mut create = file(
        "file create",
        &["vigil_enter_openat", "vigil_exit_file"],
        "open",
        "openat",
        &created,
    );
    create.expect.push(("mode", "0644".into()));
    let mut rename = file(
        "file rename",
        &["vigil_enter_renameat", "vigil_exit_file"],
        "rename",
        "renameat",
        &created,
    );
    rename
        .expect
        .push(("dest_path", renamed.display().to_string()));
    let mut chmod = file(
        "file chmod",
        &["vigil_enter_fchmodat", "vigil_exit_file"],
        "chmod",
        "fchmodat",
        &renamed,
    );
    chmod.expect.push(("mode", "0600".into()));
    let unlink = file(
        "file unlink",
        &["vigil_enter_unlinkat", "vigil_exit_file"],
        "unlink",
        "unlinkat",
        &renamed,
    );
    expected.extend([create, rename, chmod, unlink]);

    // TCP on loopback: connect and accept.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("binding 127.0.0.1:0")?;
    let server_port = listener.local_addr()?.port();
    let client = std::net::TcpStream::connect(("127.0.0.1", server_port))
        .context("connecting to the scenario's listener")?;
    let client_port = client.local_addr()?.port();
    let (_accepted, _) = listener.accept().context("accepting")?;
    expected.push(Expected {
        name: "TCP connect",
        programs: &["vigil_enter_connect", "vigil_exit_socket"],
        table: "bpf_socket_events",
        key: vec![
            ("pid", me.clone()),
            ("syscall", "connect".into()),
            ("remote_port", server_port.to_string()),
        ],
        expect: vec![
            ("family", "2".into()),
            ("remote_address", "127.0.0.1".into()),
            ("local_address", "127.0.0.1".into()),
            ("local_port", client_port.to_string()),
            ("exit_code", "0".into()),
            ("status", "succeeded".into()),
        ],
    });
    expected.push(Expected {
        name: "TCP accept",
        programs: &["vigil_enter_accept4", "vigil_exit_socket"],
        table: "bpf_socket_events",
        key: vec![
            ("pid", me.clone()),
            ("syscall", "accept4".into()),
            ("remote_port", client_port.to_string()),
        ],
        expect: vec![
            ("family", "2".into()),
            ("remote_address", "127.0.0.1".into()),
            ("local_port", server_port.to_string()),
            ("status", "succeeded".into()),
        ],
    });

    // A UNIX socket connect.
    let socket_path = files.join(format!("unix-{nonce}"));
    let unix_listener =
        std::os::unix::net::UnixListener::bind(&socket_path).context("binding a UNIX socket")?;
    std::fs::set_permissions(&socket_path, std::fs::Permissions::from_mode(0o600))?;
    let _unix_client = std::os::unix::net::UnixStream::connect(&socket_path)
        .context("connecting to the UNIX socket")?;
    drop(unix_listener);
    expected.push(Expected {
        name: "UNIX connect",
        programs: &["vigil_enter_connect", "vigil_exit_socket"],
        table: "bpf_socket_events",
        key: vec![
            ("pid", me.clone()),
            ("syscall", "connect".into()),
            ("socket", socket_path.display().to_string()),
        ],
        expect: vec![
            ("family", "1".into()),
            ("exit_code", "0".into()),
            ("status", "succeeded".into()),
        ],
    });

    module_calls(work, &me, &nonce, &mut expected, &mut absent)?;
    ptrace_calls(&me, &mut expected)?;
    Ok(Acted { expected, absent })
}

/// `ptrace(2)`'s result: what it returned, or -errno (errno cleared first, so a peeked word of
/// -1 is not taken for an error).
fn ptrace(request: libc::c_uint, pid: libc::pid_t, addr: u64, data: u64) -> i64 {
    // SAFETY: requests on this process's own child, at an address read from its maps.
    unsafe {
        *libc::__errno_location() = 0;
        let rc = libc::ptrace(
            request,
            pid,
            addr as *mut libc::c_void,
            data as *mut libc::c_void,
        );
        let errno = *libc::__errno_location();
        if rc == -1 && errno != 0 {
            -i64::from(errno)
        } else {
            rc
        }
    }
}

/// ptrace: this process attaches to a child of its own that waits, writes a word of the child's
/// memory back unchanged, detaches and ends the child. The attach and the poke must be rows with
/// their target and results (the peek and the detach are not reported).
fn ptrace_calls(me: &str, expected: &mut Vec<Expected>) -> anyhow::Result<()> {
    const PROGRAMS: &[&str] = &["vigil_enter_ptrace", "vigil_exit_ptrace"];
    // SAFETY: the child only calls pause and _exit, both async-signal-safe.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        bail!("fork failed: {}", std::io::Error::last_os_error());
    }
    if pid == 0 {
        // SAFETY: waits for the signal that ends it.
        unsafe {
            libc::pause();
            libc::_exit(0)
        }
    }
    let attach = ptrace(libc::PTRACE_ATTACH, pid, 0, 0);
    let mut status = 0;
    // SAFETY: waits for our own child, stopped by the attach.
    unsafe { libc::waitpid(pid, &mut status, 0) };
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps"))?;
    let address = maps
        .lines()
        .find(|line| line.split_whitespace().nth(1) == Some("rw-p"))
        .and_then(|line| line.split('-').next())
        .and_then(|start| u64::from_str_radix(start, 16).ok())
        .context("the child has no writable mapping")?;
    let word = ptrace(libc::PTRACE_PEEKDATA, pid, address, 0) as u64;
    let poke = ptrace(libc::PTRACE_POKEDATA, pid, address, word);
    ptrace(libc::PTRACE_DETACH, pid, 0, 0);
    // SAFETY: ends and reaps our own child.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
        libc::waitpid(pid, &mut status, 0);
    }
    for (name, request, result) in [
        ("ptrace attach", "PTRACE_ATTACH", attach),
        ("ptrace poke", "PTRACE_POKEDATA", poke),
    ] {
        if result != 0 {
            bail!("{request} of the scenario's child failed: {result}");
        }
        expected.push(Expected {
            name,
            programs: PROGRAMS,
            table: "bpf_ptrace_events",
            key: vec![
                ("pid", me.to_owned()),
                ("request", request.to_owned()),
                ("target_pid", pid.to_string()),
            ],
            expect: vec![
                ("syscall", "ptrace".to_owned()),
                ("exit_code", result.to_string()),
            ],
        });
    }
    Ok(())
}

/// A module call's outcome: its return value, or `None` when the kernel does not have the
/// syscall (ENOSYS), noted in `absent`.
fn module_call(
    name: &str,
    absent: &mut Vec<String>,
    call: impl FnOnce() -> libc::c_long,
) -> Option<i64> {
    let rc = call();
    let result = if rc < 0 {
        -i64::from(std::io::Error::last_os_error().raw_os_error().unwrap_or(0))
    } else {
        rc
    };
    if result == -i64::from(libc::ENOSYS) {
        if !absent.iter().any(|a| a == name) {
            absent.push(name.to_owned());
        }
        return None;
    }
    Some(result)
}

/// Kernel module calls. Everywhere: an `init_module` of an image that is not a module, a
/// `finit_module` of a file that is not one, a `delete_module` of a module nobody has; each row
/// must hold the result the call got. In a guest, whose initramfs holds a module of its kernel,
/// also a real load from memory and from the file, each unloaded again. A kernel built without
/// modules answers ENOSYS: those syscalls are absent there, and the table must say so.
fn module_calls(
    work: &Path,
    me: &str,
    nonce: &str,
    expected: &mut Vec<Expected>,
    absent: &mut Vec<String>,
) -> anyhow::Result<()> {
    const INIT: &[&str] = &["vigil_enter_init_module", "vigil_exit_module"];
    const FINIT: &[&str] = &["vigil_enter_finit_module", "vigil_exit_module"];
    const DELETE: &[&str] = &["vigil_enter_delete_module", "vigil_exit_module"];
    let params = format!("vigil_matrix={nonce}");
    let params_c = c_string(&params)?;
    // The caller's executable, as the process table knows this process.
    let exe = std::fs::canonicalize(std::env::current_exe()?)?
        .display()
        .to_string();
    // A row of this process's: its key, its result, its executable; a call without a module
    // file has no descriptor.
    let row = |name: &'static str,
               programs: &'static [&'static str],
               syscall: &str,
               key: (&'static str, String),
               result: i64| {
        let mut expect = vec![("exit_code", result.to_string()), ("path", exe.clone())];
        if syscall != "finit_module" {
            expect.push(("fd", "-1".to_owned()));
        }
        Expected {
            name,
            programs,
            table: "bpf_kernel_module_events",
            key: vec![("pid", me.to_owned()), ("syscall", syscall.to_owned()), key],
            expect,
        }
    };

    let garbage = format!("not a kernel module {nonce}").into_bytes();
    // SAFETY: a buffer, its length and a NUL-terminated string, all outliving the call.
    let init = module_call("init_module", absent, || unsafe {
        libc::syscall(
            libc::SYS_init_module,
            garbage.as_ptr(),
            garbage.len(),
            params_c.as_ptr(),
        )
    });
    if let Some(result) = init {
        let mut init = row(
            "init_module of a non-module (fails)",
            INIT,
            "init_module",
            ("size", garbage.len().to_string()),
            result,
        );
        init.expect.push(("params", params.clone()));
        expected.push(init);
    }

    let not_module =
        std::fs::canonicalize(work.join("files"))?.join(format!("not-module-{nonce}.ko"));
    std::fs::write(&not_module, "not a kernel module\n")?;
    if let Some((fd, result)) = finit(&not_module, &params_c, absent)? {
        let mut finit = row(
            "finit_module of a non-module (fails)",
            FINIT,
            "finit_module",
            ("module_path", not_module.display().to_string()),
            result,
        );
        finit
            .expect
            .extend([("fd", fd.to_string()), ("params", params.clone())]);
        expected.push(finit);
    }

    let missing = "vigil_no_such_module";
    if let Some(result) = delete(missing, absent)? {
        expected.push(row(
            "delete_module of no module (fails)",
            DELETE,
            "delete_module",
            ("name", missing.to_owned()),
            result,
        ));
    }

    // A real load and unload, in a guest only (see `kernels::GUEST_MODULES`).
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease")?;
    let module = Path::new(super::kernels::GUEST_MODULES)
        .join(release.trim())
        .join(format!("{}.ko", super::kernels::GUEST_MODULE));
    if !module.exists() {
        return Ok(());
    }
    let image = std::fs::read(&module).with_context(|| format!("reading {}", module.display()))?;
    // SAFETY: as above.
    let loaded = module_call("init_module", absent, || unsafe {
        libc::syscall(
            libc::SYS_init_module,
            image.as_ptr(),
            image.len(),
            params_c.as_ptr(),
        )
    });
    if let Some(result) = loaded {
        let mut load = row(
            "module load from memory (init_module)",
            INIT,
            "init_module",
            ("size", image.len().to_string()),
            0,
        );
        load.expect.push(("params", params.clone()));
        expected.push(load);
        if result == 0 {
            delete(super::kernels::GUEST_MODULE, absent)?;
        }
    }
    let module_path = std::fs::canonicalize(&module)?;
    if let Some((fd, result)) = finit(&module_path, &params_c, absent)? {
        let mut load = row(
            "module load from a file (finit_module)",
            FINIT,
            "finit_module",
            ("module_path", module_path.display().to_string()),
            0,
        );
        load.expect
            .extend([("fd", fd.to_string()), ("params", params.clone())]);
        expected.push(load);
        if result == 0 {
            delete(super::kernels::GUEST_MODULE, absent)?;
        }
    }
    // Both loads were unloaded: one check for the two (their rows are alike).
    expected.push(row(
        "module unload (delete_module)",
        DELETE,
        "delete_module",
        ("name", super::kernels::GUEST_MODULE.to_owned()),
        0,
    ));
    Ok(())
}

/// `finit_module(fd, params, 0)` on `path` opened read-only: the fd and the result, `None` when
/// the syscall is absent.
fn finit(
    path: &Path,
    params: &CString,
    absent: &mut Vec<String>,
) -> anyhow::Result<Option<(i32, i64)>> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let fd = std::os::fd::AsRawFd::as_raw_fd(&file);
    // SAFETY: an fd this function owns and a NUL-terminated string, both outliving the call.
    let result = module_call("finit_module", absent, || unsafe {
        libc::syscall(libc::SYS_finit_module, fd, params.as_ptr(), 0)
    });
    Ok(result.map(|result| (fd, result)))
}

/// `delete_module(name, O_NONBLOCK)`: the result, `None` when the syscall is absent.
fn delete(name: &str, absent: &mut Vec<String>) -> anyhow::Result<Option<i64>> {
    let name_c = c_string(name)?;
    // SAFETY: a NUL-terminated string outliving the call.
    Ok(module_call("delete_module", absent, || unsafe {
        libc::syscall(libc::SYS_delete_module, name_c.as_ptr(), libc::O_NONBLOCK)
    }))
}

/// Nanoseconds since the epoch, for names no earlier run used.
pub(crate) fn wall_nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

fn parent_pid() -> u32 {
    // SAFETY: a call without arguments.
    unsafe { libc::getppid() as u32 }
}

/// Polls the daemon's tables until every expected row is there, or the deadline passes.
fn look_for(daemon: &Daemon, expected: &[Expected]) -> Vec<Check> {
    let deadline = Instant::now() + ROWS_DEADLINE;
    let mut checks: Vec<Check> = expected
        .iter()
        .map(|e| Check {
            name: e.name.to_owned(),
            programs: e.programs.iter().map(|p| (*p).to_owned()).collect(),
            passed: false,
            detail: "not looked for yet".into(),
        })
        .collect();
    let mut tables: Vec<&str> = Vec::new();
    for e in expected {
        if !tables.contains(&e.table) {
            tables.push(e.table);
        }
    }
    loop {
        for &table in &tables {
            let pending: Vec<usize> = (0..expected.len())
                .filter(|&i| expected[i].table == table && !checks[i].passed)
                .collect();
            if pending.is_empty() {
                continue;
            }
            let pids: Vec<String> = pending
                .iter()
                .filter_map(|&i| expected[i].key.iter().find(|(c, _)| *c == "pid"))
                .map(|(_, pid)| pid.clone())
                .collect();
            let sql = format!("SELECT * FROM {table} WHERE pid IN ({})", pids.join(", "));
            let rows = match daemon.query(&sql) {
                Ok(rows) => rows,
                Err(error) => {
                    for &i in &pending {
                        checks[i].detail = format!("{error:#}");
                    }
                    continue;
                }
            };
            for &i in &pending {
                let (passed, detail) = judge(&expected[i], &rows);
                checks[i].passed = passed;
                checks[i].detail = detail;
            }
        }
        if checks.iter().all(|c| c.passed) || Instant::now() > deadline {
            return checks;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// Whether `rows` hold the expected row; otherwise what was found instead.
fn judge(
    expected: &Expected,
    rows: &[serde_json::Map<String, serde_json::Value>],
) -> (bool, String) {
    let keyed: Vec<_> = rows
        .iter()
        .filter(|row| expected.key.iter().all(|(c, v)| text(row, c) == *v))
        .collect();
    let key = expected
        .key
        .iter()
        .map(|(c, v)| format!("{c}={v}"))
        .collect::<Vec<_>>()
        .join(" ");
    if keyed.is_empty() {
        return (false, format!("no row with {key}"));
    }
    let mut closest = String::new();
    for row in keyed {
        let wrong: Vec<String> = expected
            .expect
            .iter()
            .filter(|(c, v)| text(row, c) != *v)
            .map(|(c, v)| format!("{c}: expected {v:?}, got {:?}", text(row, c)))
            .collect();
        if wrong.is_empty() {
            return (true, String::new());
        }
        closest = format!("row with {key}: {}", wrong.join("; "));
    }
    (false, closest)
}
