//! Every table vigil registers returns rows of exactly its declared columns: one cell per column,
//! each of the column's type or NULL. Scanned for real: evented tables over a store holding one
//! event of each kind, agent tables over a daemon's state, snapshot tables over this host.

use std::{os::unix::net::UnixListener, sync::Arc};

use vigil_events::{
    Actor, AuditIds, AuditProcessEvent, AuditSocketEvent, Counters, Event, EventStore, EventTable,
    FileEvent, FileOperation, ProcessAction, ProcessEvent, SocketEvent, Syscall, Task, UserEvent,
    event_table::kernel_module::KernelModuleEvent, event_table::ptrace::PtraceEvent,
    store::StateBatch,
};
use vigil_tables::{
    AgentInfo, Constraint, ConstraintOp, CounterSource, FlagInfo, FlagSource, ScanRequest, Table,
    TablesContext, Value, table::row_mismatch,
};

const TIME_NS: u64 = 1_700_000_000_123_456_789;

fn task() -> Task {
    Task {
        pid: 4242,
        tid: 4243,
        parent: 1,
        uid: 1000,
        gid: 1000,
        euid: 0,
        egid: 0,
        cgroup_id: 9,
        comm: "curl".into(),
    }
}

fn actor() -> Actor {
    Actor {
        task: task(),
        path: "/usr/bin/curl".into(),
        cmdline: "curl example.org".into(),
    }
}

fn events() -> Vec<Event> {
    vec![
        Event::Process(ProcessEvent {
            action: ProcessAction::Exec,
            syscall: Syscall::Execve,
            time_ns: TIME_NS,
            task: task(),
            path: "/usr/bin/curl".into(),
            filename: "/usr/bin/curl".into(),
            cwd: "/tmp".into(),
            argv: vec!["curl".into(), "example.org".into()],
            argv_truncated: false,
            exit_code: 0,
            exit_signal: 0,
            child_pid: 0,
            duration_ns: 10,
            probe_error: 0,
            parent_path: "/usr/bin/sh".into(),
        }),
        Event::Socket(SocketEvent {
            syscall: Syscall::Connect,
            time_ns: TIME_NS + 1,
            actor: actor(),
            fd: 3,
            result: 0,
            family: 2,
            sock_type: 1,
            protocol: 6,
            local_address: "10.0.0.2".into(),
            local_port: 40000,
            remote_address: "93.184.216.34".into(),
            remote_port: 443,
            socket_path: String::new(),
            duration_ns: 20,
            probe_error: 0,
        }),
        // A chown without a group: `new_gid` is NULL.
        Event::File(FileEvent {
            operation: FileOperation::Chown,
            syscall: Syscall::Fchownat,
            time_ns: TIME_NS + 2,
            actor: actor(),
            path: "/etc/hosts".into(),
            path_resolved: true,
            dest_path: String::new(),
            mode: 0o644,
            flags: 0,
            inode: 77,
            device: 2049,
            fd: -100,
            result: 0,
            new_uid: 0,
            new_gid: u32::MAX,
            size: -1,
            duration_ns: 30,
            probe_error: 0,
        }),
        Event::KernelModule(KernelModuleEvent {
            syscall: Syscall::FinitModule,
            time_ns: TIME_NS + 3,
            actor: actor(),
            name: String::new(),
            module_path: "/tmp/rootkit.ko".into(),
            size: 0,
            params: "hide=1".into(),
            flags: 0,
            fd: 3,
            result: -8,
            duration_ns: 40,
            probe_error: 0,
        }),
        Event::Ptrace(PtraceEvent {
            syscall: Syscall::Ptrace,
            time_ns: TIME_NS + 3,
            actor: actor(),
            request: 5,
            target_pid: 4321,
            addr: 0x5555_5555_4000,
            data: 0xcc,
            result: 0,
            duration_ns: 50,
            probe_error: 0,
        }),
        Event::AuditProcess(AuditProcessEvent {
            syscall: Syscall::Execve,
            time_ns: 1_700_000_000_500_000_000,
            audit_id: 42,
            pid: 10,
            parent: 1,
            path: "/usr/bin/true".into(),
            mode: "0100755".into(),
            argv: vec!["true".into(), "an argument".into()],
            cwd: "/tmp".into(),
            ids: audit_ids(),
            owner_uid: 0,
            owner_gid: 0,
            tty: "pts0".into(),
            session: 3,
            comm: "true".into(),
            uptime: 100,
            atime: 1,
            mtime: 2,
            ctime: 3,
            incomplete: false,
        }),
        Event::AuditSocket(AuditSocketEvent {
            syscall: Syscall::Connect,
            time_ns: 1_700_000_000_600_000_000,
            audit_id: 43,
            pid: 10,
            parent: 1,
            ids: audit_ids(),
            path: "/usr/bin/curl".into(),
            comm: "curl".into(),
            fd: 3,
            result: 0,
            status: "succeeded".into(),
            family: 2,
            local_address: String::new(),
            local_port: 0,
            remote_address: "127.0.0.1".into(),
            remote_port: 80,
            socket_path: String::new(),
            uptime: 101,
            incomplete: true,
        }),
        Event::User(UserEvent {
            time_ns: 1_700_000_000_700_000_000,
            audit_id: 44,
            message_type: 1112,
            pid: 11,
            uid: 0,
            auid: 1000,
            session: 3,
            message: "op=login acct=\"root\"".into(),
            path: "/usr/bin/login".into(),
            address: "?".into(),
            terminal: "tty1".into(),
            hostname: "?".into(),
            result: "success".into(),
            uptime: 102,
        }),
    ]
}

fn audit_ids() -> AuditIds {
    AuditIds {
        auid: 1000,
        uid: 0,
        euid: 0,
        suid: 0,
        fsuid: 0,
        gid: 0,
        egid: 0,
        sgid: 0,
        fsgid: 0,
    }
}

/// A daemon's database: one event per event table, a scheduled query's statistics, a logger's.
fn daemon_store(dir: &std::path::Path) -> Arc<EventStore> {
    let store = Arc::new(EventStore::open_primary(dir).expect("open store"));
    for event in events() {
        store
            .append(event.table(), &[(event.time_ns(), event.encode())])
            .expect("append");
    }
    let stats = serde_json::json!({
        "query": "SELECT 1",
        "interval": 60,
        "executions": 3,
        "wall_time_ms": 1500,
    });
    store
        .commit_state(StateBatch {
            puts: vec![
                (b"stats/one".to_vec(), stats.to_string().into_bytes()),
                (
                    b"logger_stats/tls".to_vec(),
                    br#"{"sent": 5, "last_error": "refused"}"#.to_vec(),
                ),
            ],
            ..StateBatch::default()
        })
        .expect("state");
    store
}

/// The request a table is scanned with: `file` and `hash` need a `directory` to read.
fn request(table: &dyn Table, directory: &str) -> ScanRequest {
    let constraints = table
        .pushdown_columns()
        .iter()
        .filter(|&&i| table.columns()[i].name == "directory")
        .map(|&column| Constraint {
            column,
            op: ConstraintOp::Eq,
            value: Value::Text(directory.to_owned()),
        })
        .collect();
    ScanRequest {
        constraints,
        ..ScanRequest::default()
    }
}

/// Tables whose rows depend on what this host has (and that say nothing when it lacks it).
const MAY_BE_EMPTY: &[&str] = &[
    "logged_in_users",
    "kernel_modules",
    "arp_cache",
    "sudoers",
    "yum_sources",
    "rpm_packages",
    "last",
    "authorized_keys",
    "shell_history",
    "usb_devices",
    "portage_packages",
    "docker_containers",
    "chrome_extensions",
    "firefox_addons",
    "opera_extensions",
    // No SMBIOS table in VMs without one (like this project's CI host).
    "smbios_tables",
    "iptables",
    // Scanned here with `directory = <a temporary directory>`, which holds no packages.
    "npm_packages",
    "python_packages",
];

#[test]
fn every_table_returns_rows_of_exactly_its_declared_cells() {
    let store_dir = tempfile::tempdir().expect("tempdir");
    let store = daemon_store(store_dir.path());
    // Something for `file`, `hash`, `listening_ports` and `process_open_sockets` to show.
    let files = tempfile::tempdir().expect("tempdir");
    std::fs::write(files.path().join("data"), "abc").expect("write");
    std::os::unix::fs::symlink("data", files.path().join("link")).expect("symlink");
    std::fs::create_dir(files.path().join("sub")).expect("mkdir");
    let _unix = UnixListener::bind(files.path().join("sock")).expect("unix listener");
    let _tcp = std::net::TcpListener::bind("127.0.0.1:0").expect("tcp listener");

    let counters = Counters::new(&EventTable::names());
    let agent = AgentInfo {
        flags: FlagSource::fixed(vec![FlagInfo {
            name: "events_expiry".into(),
            kind: "int".into(),
            description: "seconds".into(),
            default_value: "3600".into(),
            value: "60".into(),
            shell_only: false,
        }]),
        ..AgentInfo::default()
    };
    let tables = vigil_tables::all_tables(TablesContext {
        store: Some(store),
        counters,
        counter_source: CounterSource::Live,
        agent,
        scope: None,
    });

    let directory = files.path().to_string_lossy().into_owned();
    let mut mismatches = Vec::new();
    let mut empty = Vec::new();
    for table in &tables {
        let rows: Vec<_> = table
            .scan(&request(table.as_ref(), &directory))
            .unwrap_or_else(|e| panic!("scanning {}: {e}", table.name()))
            .collect::<Result<_, _>>()
            .unwrap_or_else(|e| panic!("reading {}: {e}", table.name()));
        if rows.is_empty() {
            empty.push(table.name());
        }
        for (i, row) in rows.iter().enumerate() {
            if let Some(problem) = row_mismatch(table.columns(), row) {
                mismatches.push(format!("{} row {i}: {problem}", table.name()));
            }
        }
    }
    assert!(
        mismatches.is_empty(),
        "rows that do not match their table's columns:\n{}",
        mismatches.join("\n")
    );
    // A table with no rows proves nothing: only what a host may lack can be missing (no utmp in
    // containers, no /proc/modules on a kernel without modules, no sudo or yum on Debian); their
    // rows are checked against the declaration in their own tests.
    empty.retain(|&name| !MAY_BE_EMPTY.contains(&name));
    assert!(empty.is_empty(), "tables with no rows to check: {empty:?}");
}
