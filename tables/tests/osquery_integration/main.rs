//! osquery's integration checks of its tables (`tests/integration/tables/*.cpp`), re-expressed as
//! data ([`entries`]: one entry per table, column name to check) and run against vigil's tables
//! on this host: snapshot tables read the host, agent tables a daemon's state, event tables a
//! store holding an event of each kind (the end-to-end test `osquery_checks` runs the event
//! tables' checks over real kernel events). Each table's columns are also held against
//! osquery's spec (`specs.tsv`, from `cargo xtask osquery-specs`): every Linux column of the
//! spec, with its type and hiddenness, and nothing more than the entry says vigil adds.
//!
//! A new table needs one entry in `entries.rs`: `every_table_has_an_entry` fails until it has.

#![cfg(target_os = "linux")]

mod checks;
mod entries;
mod specs;

use std::{collections::BTreeMap, sync::Arc};

use rusqlite::{Connection, types::ValueRef};
use vigil_events::{
    Actor, AuditIds, AuditProcessEvent, AuditSocketEvent, Counters, Event, EventStore, EventTable,
    FileEvent, FileOperation, ProcessAction, ProcessEvent, SocketEvent, Syscall, Task, UserEvent,
    event_table::kernel_module::KernelModuleEvent, event_table::ptrace::PtraceEvent,
    store::StateBatch,
};
use vigil_tables::{AgentInfo, CounterSource, FlagInfo, FlagSource, Table, TablesContext};

use checks::{Row, validate_row};
use entries::{ENTRIES, Entry, Rows, Spec};

/// osquery's `hash` test writes this and checks its digests.
const HASH_TEXT: &str = "Lorem ipsum dolor sit amet, consectetur adipiscing elit.";
/// osquery's `file` test's names (`kFileNameList`: one in Japanese, for multibyte names).
const FILE_NAMES: &[&str] = &["辞書.txt", "file-table-test.txt"];

/// What the checks read besides the host: files the filters name, a daemon's database.
struct Fixture {
    dir: tempfile::TempDir,
    _open: std::fs::File,
    _store_dir: tempfile::TempDir,
    tables: Vec<Arc<dyn Table>>,
}

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

/// An event of each kind, as the eBPF publisher would store them.
fn events() -> Vec<Event> {
    let time_ns = 1_700_000_000_123_456_789;
    vec![
        Event::Process(ProcessEvent {
            action: ProcessAction::Exec,
            syscall: Syscall::Execve,
            time_ns,
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
            time_ns: time_ns + 1,
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
        Event::File(FileEvent {
            operation: FileOperation::Chmod,
            syscall: Syscall::Fchmodat,
            time_ns: time_ns + 2,
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
            new_uid: u32::MAX,
            new_gid: u32::MAX,
            size: -1,
            duration_ns: 30,
            probe_error: 0,
        }),
        Event::KernelModule(KernelModuleEvent {
            syscall: Syscall::FinitModule,
            time_ns: time_ns + 3,
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
            time_ns: time_ns + 3,
            actor: actor(),
            request: 5,
            target_pid: 4321,
            addr: 0x5555_5555_4000,
            data: 0xcc,
            result: 0,
            duration_ns: 50,
            probe_error: 0,
        }),
        // As the audit publisher stores them.
        Event::AuditProcess(AuditProcessEvent {
            syscall: Syscall::Execve,
            time_ns: time_ns + 4,
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
            atime: 1_700_000_000,
            mtime: 1_700_000_000,
            ctime: 1_700_000_000,
            incomplete: false,
        }),
        Event::AuditSocket(AuditSocketEvent {
            syscall: Syscall::Connect,
            time_ns: time_ns + 5,
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
            incomplete: false,
        }),
        Event::User(UserEvent {
            time_ns: time_ns + 6,
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

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    for name in FILE_NAMES {
        std::fs::write(dir.path().join(name), "test").expect("file");
    }
    std::fs::write(dir.path().join("hash.txt"), HASH_TEXT).expect("file");
    let open = std::fs::File::create(dir.path().join("open.txt")).expect("open file");

    let store_dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(EventStore::open_primary(store_dir.path()).expect("store"));
    for event in events() {
        store
            .append(event.table(), &[(event.time_ns(), event.encode())])
            .expect("append");
    }
    let stats = serde_json::json!({"query": "SELECT 1", "interval": 60, "executions": 3});
    store
        .commit_state(StateBatch {
            puts: vec![
                (b"stats/one".to_vec(), stats.to_string().into_bytes()),
                (b"logger_stats/tls".to_vec(), br#"{"sent": 5}"#.to_vec()),
            ],
            ..StateBatch::default()
        })
        .expect("state");
    let agent = AgentInfo {
        flags: FlagSource::fixed(vec![FlagInfo {
            name: "logger_plugin".into(),
            kind: "string".into(),
            description: "where lines go".into(),
            default_value: "filesystem".into(),
            value: "filesystem".into(),
            shell_only: false,
        }]),
        ..AgentInfo::default()
    };
    let tables = vigil_tables::all_tables(TablesContext {
        store: Some(store),
        counters: Counters::new(&EventTable::names()),
        counter_source: CounterSource::Live,
        agent,
        scope: None,
    });
    Fixture {
        dir,
        _open: open,
        _store_dir: store_dir,
        tables,
    }
}

impl Fixture {
    fn tmp(&self) -> String {
        self.dir.path().to_string_lossy().into_owned()
    }

    fn fill(&self, sql: &str) -> String {
        let mut sql = sql
            .replace("{tmp}", &self.tmp())
            .replace("{pid}", &std::process::id().to_string());
        while let Some(start) = sql.find("{env:") {
            let Some(length) = sql[start..].find('}') else {
                break;
            };
            let name = &sql[start + "{env:".len()..start + length];
            let value = std::env::var(name).unwrap_or_default().replace('\'', "''");
            sql.replace_range(start..=start + length, &value);
        }
        sql
    }

    fn conn(&self) -> Connection {
        let conn = Connection::open_in_memory().expect("sqlite");
        vigil_tables::register(&conn, &self.tables).expect("register");
        conn
    }
}

/// The rows of `sql`, each value as osquery's text of it (NULL is empty).
fn query(conn: &Connection, sql: &str) -> Result<Vec<Row>, String> {
    let mut statement = conn.prepare(sql).map_err(|e| format!("{sql}: {e}"))?;
    let names: Vec<String> = statement.column_names().map(str::to_owned).collect();
    let mut rows = statement.query([]).map_err(|e| format!("{sql}: {e}"))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(|e| format!("{sql}: {e}"))? {
        let mut cells = BTreeMap::new();
        for (i, name) in names.iter().enumerate() {
            let text = match row.get_ref(i).map_err(|e| e.to_string())? {
                ValueRef::Null => String::new(),
                ValueRef::Integer(v) => v.to_string(),
                ValueRef::Real(v) => v.to_string(),
                ValueRef::Text(t) | ValueRef::Blob(t) => String::from_utf8_lossy(t).into_owned(),
            };
            cells.insert(name.clone(), text);
        }
        out.push(cells);
    }
    Ok(out)
}

fn entry_of(name: &str) -> Option<&'static Entry> {
    ENTRIES.iter().find(|e| e.table == name)
}

#[test]
fn every_table_has_an_entry_and_every_entry_a_table() {
    let fixture = fixture();
    let names: Vec<&str> = fixture.tables.iter().map(|t| t.name()).collect();
    let missing: Vec<&&str> = names.iter().filter(|n| entry_of(n).is_none()).collect();
    assert!(
        missing.is_empty(),
        "tables without an entry in tables/tests/osquery_integration/entries.rs: {missing:?}"
    );
    let stale: Vec<&str> = ENTRIES
        .iter()
        .map(|e| e.table)
        .filter(|t| !names.contains(t))
        .collect();
    assert!(
        stale.is_empty(),
        "entries for tables vigil does not have: {stale:?}"
    );
}

/// What is wrong with `table`'s columns against its spec and its entry.
fn column_problems(table: &dyn Table, entry: &Entry) -> Vec<String> {
    let mut problems = Vec::new();
    let name = table.name();
    let checked: Vec<&str> = entry
        .columns
        .iter()
        .chain(entry.hidden)
        .map(|(c, _)| *c)
        .collect();
    for column in table.columns() {
        if !checked.contains(&column.name) {
            problems.push(format!("{name}.{}: no check in its entry", column.name));
        }
    }
    for (column, _) in entry.columns {
        match table.columns().iter().find(|c| c.name == *column) {
            None => problems.push(format!("{name}.{column}: checked but not a column")),
            Some(c) if c.hidden => problems.push(format!(
                "{name}.{column}: hidden, but checked as a column of SELECT *"
            )),
            Some(_) => {}
        }
    }
    for (column, _) in entry.hidden {
        match table.columns().iter().find(|c| c.name == *column) {
            None => problems.push(format!("{name}.{column}: checked but not a column")),
            Some(c) if !c.hidden => {
                problems.push(format!("{name}.{column}: checked as hidden, but it is not"))
            }
            Some(_) => {}
        }
    }
    let Spec::Osquery(spec_name) = entry.spec else {
        return problems;
    };
    let specs = specs::specs();
    let Some(spec) = specs.get(spec_name) else {
        problems.push(format!(
            "{name}: osquery has no spec '{spec_name}' in specs.tsv"
        ));
        return problems;
    };
    for wanted in spec {
        let Some(column) = table.columns().iter().find(|c| c.name == wanted.name) else {
            problems.push(format!(
                "{name}.{}: osquery's {spec_name} has this {} column, vigil's table does not",
                wanted.name, wanted.ty
            ));
            continue;
        };
        let differs_on_purpose = entry.types_differ.iter().any(|(c, _)| *c == wanted.name);
        if column.ty.sql() != specs::sql_type(&wanted.ty) && !differs_on_purpose {
            problems.push(format!(
                "{name}.{}: {} in vigil, {} in osquery's {spec_name}",
                wanted.name,
                column.ty.sql(),
                wanted.ty
            ));
        }
        if column.hidden != wanted.hidden {
            problems.push(format!(
                "{name}.{}: hidden is {} in vigil, {} in osquery's {spec_name}",
                wanted.name, column.hidden, wanted.hidden
            ));
        }
    }
    for column in table.columns() {
        let in_spec = spec.iter().any(|c| c.name == column.name);
        let declared = entry.vigil_only.contains(&column.name);
        if !in_spec && !declared {
            problems.push(format!(
                "{name}.{}: not in osquery's {spec_name}: list it in the entry's vigil_only",
                column.name
            ));
        }
        if in_spec && declared {
            problems.push(format!(
                "{name}.{}: listed as vigil_only, but osquery's {spec_name} has it",
                column.name
            ));
        }
    }
    problems
}

#[test]
fn columns_match_osquery_specs() {
    let fixture = fixture();
    let mut problems = Vec::new();
    for table in &fixture.tables {
        if let Some(entry) = entry_of(table.name()) {
            problems.extend(column_problems(table.as_ref(), entry));
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

/// The problems of `entry`'s rows on this host.
fn row_problems(fixture: &Fixture, conn: &Connection, entry: &Entry) -> Vec<String> {
    let mut problems = Vec::new();
    let tmp = fixture.tmp();
    let table = entry.table;
    let filter = |clause: &str| {
        if clause.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", fixture.fill(clause))
        }
    };
    let all = format!("SELECT * FROM {table}{}", filter(entry.filter));
    match query(conn, &all) {
        Err(e) => problems.push(e),
        Ok(rows) => {
            let count_ok = match entry.rows {
                Rows::Any => true,
                Rows::AtLeast(n) => rows.len() >= n,
                Rows::Exactly(n) => rows.len() == n,
                Rows::AtLeastWhere(n, path) => {
                    !std::path::Path::new(path).exists() || rows.len() >= n
                }
            };
            if !count_ok {
                problems.push(format!("{all}: {} rows, not {:?}", rows.len(), entry.rows));
            }
            for row in &rows {
                problems.extend(
                    validate_row(row, entry.columns, &tmp)
                        .into_iter()
                        .map(|p| format!("{all}: {p}")),
                );
            }
            if let Some(column) = entry.unique {
                let mut values: Vec<&String> = rows.iter().filter_map(|r| r.get(column)).collect();
                let total = values.len();
                values.sort();
                values.dedup();
                if values.len() != total {
                    problems.push(format!("{all}: values of {column} repeat"));
                }
            }
        }
    }
    if !entry.hidden.is_empty() {
        let names: Vec<&str> = entry.hidden.iter().map(|(c, _)| *c).collect();
        let sql = format!(
            "SELECT *, {} FROM {table}{}",
            names.join(", "),
            filter(entry.filter)
        );
        let checks: Vec<_> = entry.columns.iter().chain(entry.hidden).copied().collect();
        match query(conn, &sql) {
            Err(e) => problems.push(e),
            Ok(rows) => {
                for row in &rows {
                    problems.extend(
                        validate_row(row, &checks, &tmp)
                            .into_iter()
                            .map(|p| format!("{sql}: {p}")),
                    );
                }
            }
        }
    }
    for clause in entry.more {
        let sql = format!("SELECT * FROM {table}{}", filter(clause));
        match query(conn, &sql) {
            Err(e) => problems.push(e),
            Ok(rows) if rows.is_empty() => problems.push(format!("{sql}: no rows")),
            Ok(rows) => {
                for row in &rows {
                    problems.extend(
                        validate_row(row, entry.columns, &tmp)
                            .into_iter()
                            .map(|p| format!("{sql}: {p}")),
                    );
                }
            }
        }
    }
    for clause in entry.violations {
        let sql = format!("SELECT * FROM {table}{}", filter(clause));
        match query(conn, &sql) {
            Err(e) => problems.push(e),
            Ok(rows) if rows.is_empty() => {}
            Ok(rows) => problems.push(format!("{sql}: rows osquery rejects: {rows:?}")),
        }
    }
    problems
}

#[test]
fn every_table_passes_osquerys_checks_on_this_host() {
    let fixture = fixture();
    let conn = fixture.conn();
    let mut problems = Vec::new();
    for entry in ENTRIES {
        problems.extend(row_problems(&fixture, &conn, entry));
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}
