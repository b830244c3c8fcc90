//! ptrace requests that take hold of another process or write into it, in a running daemon's
//! `bpf_ptrace_events`: this test process attaches to a child of its own, reads a word of the
//! child's memory and writes it back unchanged (so the child is not harmed), detaches, and pokes
//! once more, which the kernel now refuses.

use std::{
    ffi::c_void,
    process::{Child, Command},
    time::Duration,
};

use serde_json::Value;

use crate::support::{Daemon, field, poll, query_json};

const WAIT: Duration = Duration::from_secs(30);
const TABLE: &str = "bpf_ptrace_events";

/// `ptrace(2)`'s result: what it returned, or -errno.
fn ptrace(request: libc::c_uint, pid: libc::pid_t, addr: u64, data: u64) -> i64 {
    // SAFETY: a request on another process's memory, at an address only read from its maps;
    // errno is cleared first so a peeked word equal to -1 is told from an error.
    unsafe {
        *libc::__errno_location() = 0;
        let rc = libc::ptrace(request, pid, addr as *mut c_void, data as *mut c_void);
        let errno = *libc::__errno_location();
        if rc == -1 && errno != 0 {
            -i64::from(errno)
        } else {
            rc
        }
    }
}

/// The start of the child's first private writable mapping.
fn writable_address(pid: u32) -> u64 {
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).expect("maps");
    maps.lines()
        .find(|line| line.split_whitespace().nth(1) == Some("rw-p"))
        .and_then(|line| line.split('-').next())
        .and_then(|start| u64::from_str_radix(start, 16).ok())
        .unwrap_or_else(|| panic!("a writable mapping in {maps}"))
}

/// What the calls returned.
struct Calls {
    child: Child,
    attach: i64,
    poke: i64,
    /// The poke made after detaching.
    late_poke: i64,
    address: u64,
    word: u64,
}

/// Attaches to a sleeping child, pokes a word of it back unchanged, detaches, pokes again.
fn attach_and_poke() -> Calls {
    let child = Command::new("/bin/sleep").arg("60").spawn().expect("sleep");
    let pid = child.id() as libc::pid_t;
    let attach = ptrace(libc::PTRACE_ATTACH, pid, 0, 0);
    assert_eq!(attach, 0, "PTRACE_ATTACH of the child");
    let mut status = 0;
    // SAFETY: waits for this process's own child, which the attach stops.
    let waited = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert!(
        waited == pid && libc::WIFSTOPPED(status),
        "the child stops: {status}"
    );
    let address = writable_address(child.id());
    let word = ptrace(libc::PTRACE_PEEKDATA, pid, address, 0) as u64;
    let poke = ptrace(libc::PTRACE_POKEDATA, pid, address, word);
    assert_eq!(poke, 0, "PTRACE_POKEDATA of the stopped child");
    assert_eq!(ptrace(libc::PTRACE_DETACH, pid, 0, 0), 0, "PTRACE_DETACH");
    let late_poke = ptrace(libc::PTRACE_POKEDATA, pid, address, word);
    assert_eq!(
        late_poke,
        -i64::from(libc::ESRCH),
        "a poke of an untraced child"
    );
    Calls {
        child,
        attach,
        poke,
        late_poke,
        address,
        word,
    }
}

#[test]
fn attaching_to_a_process_and_poking_its_memory_are_reported_with_target_and_result() {
    let daemon = Daemon::start(&[]);
    // The probes are attached once the table is judged available.
    poll("the ptrace table's availability", WAIT, || {
        let rows = query_json(
            &daemon.db(),
            &format!("SELECT available FROM vigil_events WHERE name = '{TABLE}'"),
        );
        rows.into_iter()
            .next()
            .filter(|row| field(row, "available") == "1")
    });
    let mut calls = attach_and_poke();
    let target = calls.child.id();
    let me = std::process::id();

    let rows = poll("the attach and the two pokes", WAIT, || {
        let rows = query_json(
            &daemon.db(),
            &format!(
                "SELECT syscall, request, pid, path, exit_code, target_pid, addr, data \
                 FROM {TABLE} WHERE pid = {me} AND target_pid = {target} ORDER BY ntime"
            ),
        );
        (rows.len() >= 3).then_some(rows)
    });
    let _ = calls.child.kill();
    let _ = calls.child.wait();

    let exe = std::env::current_exe().expect("exe");
    for row in &rows {
        assert_eq!(field(row, "syscall"), "ptrace", "{row}");
        assert_eq!(field(row, "path"), exe.to_string_lossy(), "{row}");
    }
    let requests: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (field(r, "request"), field(r, "exit_code")))
        .collect();
    let attach = calls.attach.to_string();
    let poke = calls.poke.to_string();
    let late_poke = calls.late_poke.to_string();
    // The peek and the detach only read and let go: not reported.
    assert_eq!(
        requests,
        [
            ("PTRACE_ATTACH", attach.as_str()),
            ("PTRACE_POKEDATA", poke.as_str()),
            ("PTRACE_POKEDATA", late_poke.as_str()),
        ],
        "{rows:#?}"
    );
    let poked: &Value = &rows[1];
    assert_eq!(field(poked, "addr"), (calls.address as i64).to_string());
    assert_eq!(field(poked, "data"), (calls.word as i64).to_string());
}
