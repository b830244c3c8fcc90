//! The parser, the assembler and the mapping together, on record sequences as the kernel sends
//! them: the first verbatim as Linux 6.18 sent it to vigil's rule, the others in the same format
//! with values chosen for each case (hex and split arguments, interleaving, sockets, threads).

use std::time::{Duration, Instant};

use super::{
    assemble::{Assembled, Assembler},
    events::{Interest, Mapped, ReadAt, map},
    record::parse,
};
use crate::{
    event_table::Event,
    event_table::audit::{AuditProcessEvent, AuditSocketEvent, UserEvent},
    model::Syscall,
};

fn interest() -> Interest {
    Interest {
        process_events: true,
        socket_events: true,
        accept_events: true,
        failed_socket_events: false,
        unix_socket_events: true,
        user_events: true,
        own_pid: 1,
    }
}

/// Feeds `(type, text)` records through the parser and the assembler, and maps what completes.
fn run(records: &[(u16, &str)]) -> Vec<Mapped> {
    let mut assembler = Assembler::new(Duration::from_secs(2), 64);
    let now = Instant::now();
    let mut events: Vec<Assembled> = Vec::new();
    for (kind, text) in records {
        let record = parse(*kind, text.as_bytes()).expect("a real record parses");
        events.extend(assembler.push(record, now));
    }
    events.extend(assembler.expire(now + Duration::from_secs(3)));
    events
        .iter()
        .map(|e| map(e, &interest(), ReadAt { uptime: 5 }))
        .collect()
}

fn process(mapped: &Mapped) -> &AuditProcessEvent {
    match mapped {
        Mapped::Event(Event::AuditProcess(event)) => event,
        other => panic!("a process event: {other:?}"),
    }
}

fn socket(mapped: &Mapped) -> &AuditSocketEvent {
    match mapped {
        Mapped::Event(Event::AuditSocket(event)) => event,
        other => panic!("a socket event: {other:?}"),
    }
}

#[test]
fn an_exec_recorded_from_linux_6_18() {
    let records: &[(u16, &str)] = &[
        (
            1300,
            "audit(1796057975.537:86159): arch=c000003e syscall=59 success=yes exit=0 \
             a0=7fda73da47d0 a1=7fda738e1430 a2=7ffdbcdea450 a3=8 items=2 ppid=1986 pid=2032 \
             auid=4294967295 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) \
             ses=4294967295 comm=\"true\" exe=\"/usr/bin/true\" key=\"vigil\"",
        ),
        (
            1309,
            "audit(1796057975.537:86159): argc=2 a0=\"/bin/true\" a1=782079",
        ),
        (1307, "audit(1796057975.537:86159): cwd=\"/work/main\""),
        (
            1302,
            "audit(1796057975.537:86159): item=0 name=\"/bin/true\" inode=247857 dev=fe:00 \
             mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 \
             cap_fver=0 cap_frootid=0",
        ),
        (
            1302,
            "audit(1796057975.537:86159): item=1 name=\"/lib64/ld-linux-x86-64.so.2\" \
             inode=325843 dev=fe:00 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL \
             cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0",
        ),
        (
            1327,
            "audit(1796057975.537:86159): proctitle=2F62696E2F7472756500782079",
        ),
        (1320, "audit(1796057975.537:86159): "),
    ];
    let mapped = run(records);
    assert_eq!(mapped.len(), 1);
    let exec = process(&mapped[0]);
    assert_eq!((exec.pid, exec.parent), (2032, 1986));
    assert_eq!(exec.path, "/usr/bin/true");
    assert_eq!(exec.argv, ["/bin/true", "x y"]);
    assert_eq!(exec.cwd, "/work/main");
    assert_eq!((exec.comm.as_str(), exec.tty.as_str()), ("true", "(none)"));
    assert!(!exec.incomplete);
}

const EXEC: &[(u16, &str)] = &[
    (
        1300,
        "audit(1764520001.412:2301): arch=c000003e syscall=59 success=yes exit=0 a0=55d0c1a3e2a0 \
         a1=55d0c1a3e2d0 a2=7ffd4c7b1e68 a3=0 items=2 ppid=4110 pid=4123 auid=4294967295 uid=0 \
         gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=4294967295 comm=\"sh\" \
         exe=\"/usr/bin/dash\" subj=unconfined key=\"vigil\"",
    ),
    (
        1309,
        "audit(1764520001.412:2301): argc=4 a0=\"/bin/sh\" a1=\"-c\" a2=\"true\" \
         a3=6D61726B65722077697468207370616365732DFF",
    ),
    (1307, "audit(1764520001.412:2301): cwd=\"/tmp/vigil audit\""),
    (
        1302,
        "audit(1764520001.412:2301): item=0 name=\"/bin/sh\" inode=1835 dev=fe:01 mode=0100755 \
         ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0",
    ),
    (
        1302,
        "audit(1764520001.412:2301): item=1 name=\"/lib64/ld-linux-x86-64.so.2\" inode=2001 \
         dev=fe:01 mode=0100755 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 \
         cap_fe=0 cap_fver=0 cap_frootid=0",
    ),
    (
        1327,
        "audit(1764520001.412:2301): proctitle=2F62696E2F7368002D630074727565",
    ),
    (1320, "audit(1764520001.412:2301): "),
];

#[test]
fn an_exec_with_a_hex_argument_and_a_non_utf8_byte() {
    let mapped = run(EXEC);
    assert_eq!(mapped.len(), 1);
    let exec = process(&mapped[0]);
    assert_eq!(exec.syscall, Syscall::Execve);
    assert_eq!((exec.pid, exec.parent), (4123, 4110));
    assert_eq!(exec.path, "/usr/bin/dash");
    assert_eq!(exec.cwd, "/tmp/vigil audit");
    assert_eq!(
        exec.cmdline(),
        "/bin/sh -c true marker with spaces-\u{fffd}",
        "the hex argument decoded, its 0xff byte replaced as bpf_process_events does"
    );
    assert_eq!(exec.mode, "0100755");
    assert_eq!((exec.ids.uid, exec.ids.auid), (0, u32::MAX));
    assert_eq!(exec.time_ns, 1_764_520_001_412_000_000);
    assert_eq!(exec.audit_id, 2301);
    assert_eq!(exec.uptime, 5);
    assert!(!exec.incomplete);
}

#[test]
fn a_long_argument_split_over_two_execve_records() {
    // The kernel splits an argument longer than its field limit into `aN[i]` pieces after an
    // `aN_len`, and starts another EXECVE record when one is full (shortened: 3 + 2 bytes).
    let records: &[(u16, &str)] = &[
        (
            1300,
            "audit(1764520002.001:2400): arch=c000003e syscall=322 success=yes exit=0 a0=3 \
             a1=7f a2=0 a3=0 items=2 ppid=1 pid=77 auid=1000 uid=1000 gid=1000 euid=1000 \
             suid=1000 fsuid=1000 egid=1000 sgid=1000 fsgid=1000 tty=pts0 ses=3 comm=\"x\" \
             exe=\"/opt/x\" key=\"vigil\"",
        ),
        (
            1309,
            "audit(1764520002.001:2400): argc=3 a0=\"x\" a1_len=5 a1[0]=616263",
        ),
        (1309, "audit(1764520002.001:2400): a1[1]=\"de\" a2=\"last\""),
        (1307, "audit(1764520002.001:2400): cwd=\"/\""),
        (1320, "audit(1764520002.001:2400): "),
    ];
    let mapped = run(records);
    let exec = process(&mapped[0]);
    assert_eq!(exec.syscall, Syscall::Execveat);
    assert_eq!(exec.argv, ["x", "abcde", "last"]);
    assert_eq!(
        (exec.ids.auid, exec.session, exec.tty.as_str()),
        (1000, 3, "pts0")
    );
}

#[test]
fn interleaved_events_each_get_their_own_records() {
    let connect: &[(u16, &str)] = &[
        (
            1300,
            "audit(1764520003.100:2500): arch=c000003e syscall=42 success=yes exit=0 a0=5 \
             a1=7ffc2d6e5f50 a2=10 a3=0 items=0 ppid=900 pid=901 auid=4294967295 uid=0 gid=0 \
             euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=4294967295 \
             comm=\"curl\" exe=\"/usr/bin/curl\" key=\"vigil\"",
        ),
        (
            1306,
            "audit(1764520003.100:2500): saddr=02001F907F0000010000000000000000",
        ),
        (1320, "audit(1764520003.100:2500): "),
    ];
    // The exec's and the connect's records alternate, as two CPUs send them.
    let mut records = Vec::new();
    for i in 0..EXEC.len().max(connect.len()) {
        records.extend(EXEC.get(i).copied());
        records.extend(connect.get(i).copied());
    }
    let mapped = run(&records);
    assert_eq!(mapped.len(), 2);
    let connect = socket(&mapped[0]);
    assert_eq!(connect.syscall, Syscall::Connect);
    assert_eq!((connect.pid, connect.fd, connect.family), (901, 5, 2));
    assert_eq!(
        (connect.remote_address.as_str(), connect.remote_port),
        ("127.0.0.1", 8080)
    );
    assert_eq!(connect.status, "succeeded");
    assert_eq!(process(&mapped[1]).pid, 4123);
}

#[test]
fn ipv6_unix_and_failed_socket_calls() {
    let call = |syscall: u32, success: &str, exit: i64, saddr: &str| {
        [
            (
                1300,
                format!(
                    "audit(1.000:9): arch=c000003e syscall={syscall} success={success} \
                     exit={exit} a0=3 a1=0 a2=0 a3=0 items=0 ppid=1 pid=2 auid=0 uid=0 gid=0 \
                     euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=1 comm=\"a\" \
                     exe=\"/a\" key=(null)"
                ),
            ),
            (1306, format!("audit(1.000:9): saddr={saddr}")),
            (1320, "audit(1.000:9): ".to_owned()),
        ]
    };
    let owned = call(
        49,
        "yes",
        0,
        "0A001F9000000000000000000000000000000000000000010000000000",
    );
    let borrowed: Vec<(u16, &str)> = owned.iter().map(|(k, t)| (*k, t.as_str())).collect();
    let bind = socket(&run(&borrowed)[0]).clone();
    assert_eq!(
        (bind.local_address.as_str(), bind.local_port),
        ("::1", 8080)
    );
    let owned = call(42, "yes", 0, "01002F746D702F736F636B00");
    let borrowed: Vec<(u16, &str)> = owned.iter().map(|(k, t)| (*k, t.as_str())).collect();
    assert_eq!(socket(&run(&borrowed)[0]).socket_path, "/tmp/sock");
    let owned = call(42, "no", -115, "02001F907F000001");
    let borrowed: Vec<(u16, &str)> = owned.iter().map(|(k, t)| (*k, t.as_str())).collect();
    assert_eq!(socket(&run(&borrowed)[0]).status, "in_progress");
    let owned = call(42, "no", -111, "02001F907F000001");
    let borrowed: Vec<(u16, &str)> = owned.iter().map(|(k, t)| (*k, t.as_str())).collect();
    assert_eq!(
        run(&borrowed)[0],
        Mapped::Skipped,
        "failed calls are off by default"
    );
}

#[test]
fn threads_are_not_processes_and_vigils_own_calls_are_dropped() {
    let clone = |flags: &str, pid: u32| {
        format!(
            "audit(1.000:5): arch=c000003e syscall=56 success=yes exit=99 a0={flags} a1=0 a2=0 \
             a3=0 items=0 ppid=1 pid={pid} auid=0 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 \
             sgid=0 fsgid=0 tty=(none) ses=1 comm=\"a\" exe=\"/a\" key=(null)"
        )
    };
    let thread = clone("3d0f00", 50);
    assert_eq!(
        run(&[(1300, &thread), (1320, "audit(1.000:5): ")])[0],
        Mapped::Skipped
    );
    let fork = clone("1200011", 50);
    let child = run(&[(1300, &fork), (1320, "audit(1.000:5): ")]);
    let child = process(&child[0]);
    assert_eq!(
        (child.pid, child.parent, child.syscall),
        (99, 50, Syscall::Clone)
    );
    let own = clone("1200011", 1);
    assert_eq!(
        run(&[(1300, &own), (1320, "audit(1.000:5): ")])[0],
        Mapped::Skipped
    );
}

#[test]
fn a_thread_started_with_clone3_is_no_process() {
    // glibc's pthread_create calls clone3; a0 is the address of its `struct clone_args`, here one
    // without bit 16, which as clone's flags would say "not CLONE_THREAD".
    let thread = "audit(1.000:6): arch=c000003e syscall=435 success=yes exit=4242 \
                  a0=7ffd4a2c8e50 a1=58 a2=0 a3=0 items=0 ppid=1 pid=50 auid=0 uid=0 gid=0 \
                  euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=1 comm=\"a\" \
                  exe=\"/a\" key=(null)";
    assert_eq!(
        run(&[(1300, thread), (1320, "audit(1.000:6): ")])[0],
        Mapped::Skipped
    );
}

#[test]
fn an_event_whose_end_never_came_is_stored_marked() {
    let mapped = run(&EXEC[..3]);
    let exec = process(&mapped[0]);
    assert!(exec.incomplete);
    assert_eq!(exec.argv.len(), 4);
}

#[test]
fn a_user_message() {
    let mapped = run(&[(
        1112,
        "audit(1764520009.000:2600): pid=3001 uid=0 auid=1000 ses=4 subj=unconfined \
         msg='op=login id=1000 exe=\"/usr/sbin/sshd\" hostname=10.0.0.5 addr=10.0.0.5 \
         terminal=/dev/pts/1 res=success'",
    )]);
    let Mapped::Event(Event::User(user)) = &mapped[0] else {
        panic!("a user event: {mapped:?}");
    };
    let expected = UserEvent {
        time_ns: 1_764_520_009_000_000_000,
        audit_id: 2600,
        message_type: 1112,
        pid: 3001,
        uid: 0,
        auid: 1000,
        session: 4,
        message: "op=login id=1000 exe=\"/usr/sbin/sshd\" hostname=10.0.0.5 addr=10.0.0.5 \
                  terminal=/dev/pts/1 res=success"
            .into(),
        path: "/usr/sbin/sshd".into(),
        address: "10.0.0.5".into(),
        terminal: "/dev/pts/1".into(),
        hostname: "10.0.0.5".into(),
        result: "success".into(),
        uptime: 5,
    };
    assert_eq!(user, &expected);
}

/// The fuzz target's seeds: the record sequences above, in its input format
/// (`VIGIL_WRITE_FUZZ_CORPUS=1 cargo test -p vigil-events audit` writes them); every file of its
/// committed corpus replays cleanly.
#[test]
fn the_audit_fuzz_corpus_holds_the_seeds_and_replays_cleanly() {
    use super::fuzzing;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/audit_records");
    let as_bytes = |records: &[(u16, &str)]| {
        fuzzing::encode(
            &records
                .iter()
                .map(|(kind, text)| (*kind, text.as_bytes()))
                .collect::<Vec<_>>(),
        )
    };
    let seeds = [("seed-exec", as_bytes(EXEC))];
    if std::env::var_os("VIGIL_WRITE_FUZZ_CORPUS").is_some() {
        std::fs::create_dir_all(&dir).expect("corpus directory");
        for (name, bytes) in &seeds {
            std::fs::write(dir.join(name), bytes).expect("write a seed");
        }
    }
    for (name, bytes) in &seeds {
        assert!(
            std::fs::read(dir.join(name)).ok().as_ref() == Some(bytes),
            "fuzz/corpus/audit_records/{name} missing or stale: write it with \
             VIGIL_WRITE_FUZZ_CORPUS=1 cargo test -p vigil-events audit"
        );
    }
    for entry in std::fs::read_dir(&dir).expect("the corpus directory") {
        let path = entry.expect("an entry").path();
        fuzzing::check(&std::fs::read(&path).expect("a corpus file"));
    }
}
