//! SQL over the `bpf_*` event tables allocates nothing per row: a scan writes each row into one
//! buffer it reuses, its text borrowed from the store page. Counted with a counting allocator
//! over real scans of a real store: twice the rows must not cost (nearly) twice the allocations.
//! Rows built as owned values cost about ten allocations each.

use std::{
    alloc::{GlobalAlloc, Layout, System},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use rusqlite::Connection;
use vigil_events::{
    Actor, Counters, Event, EventStore, EventTable, FileEvent, FileOperation, ProcessAction,
    ProcessEvent, SocketEvent, Syscall, Task,
};
use vigil_tables::{
    Table,
    evented::{bpf_file_events, bpf_process_events, bpf_socket_events},
};

struct CountingAllocator;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is passed to the system allocator unchanged; only a counter is added.
unsafe impl GlobalAlloc for CountingAllocator {
    // SAFETY: GlobalAlloc's contract, kept by handing the call to `System`.
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's layout is handed on as GlobalAlloc requires.
        unsafe { System.alloc(layout) }
    }

    // SAFETY: GlobalAlloc's contract, kept by handing the call to `System`.
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    // SAFETY: GlobalAlloc's contract, kept by handing the call to `System`.
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

const BASE_NS: u64 = 1_700_000_000_000_000_000;

fn task(i: u64) -> Task {
    Task {
        pid: 1000 + i as u32,
        tid: 1000 + i as u32,
        parent: 1,
        uid: 1000,
        gid: 1000,
        euid: 1000,
        egid: 1000,
        cgroup_id: 9,
        comm: format!("worker-{}", i % 7),
    }
}

fn actor(i: u64) -> Actor {
    Actor {
        task: task(i),
        path: "/usr/bin/cc".into(),
        cmdline: format!("cc -c module_{i}.c"),
    }
}

/// One event of each `bpf_*` table, its text different from row to row.
fn events(i: u64) -> [Event; 3] {
    let time_ns = BASE_NS + i * 1_000;
    [
        Event::Process(ProcessEvent {
            action: ProcessAction::Exec,
            syscall: Syscall::Execve,
            time_ns,
            task: task(i),
            path: "/usr/bin/cc".into(),
            filename: "/usr/bin/cc".into(),
            cwd: format!("/home/user/project-{}", i % 13),
            argv: vec!["cc".into(), "-c".into(), format!("module_{i}.c")],
            argv_truncated: false,
            exit_code: -(i as i64 % 3),
            exit_signal: 0,
            child_pid: 0,
            duration_ns: 10,
            probe_error: 0,
            parent_path: "/usr/bin/make".into(),
        }),
        Event::File(FileEvent {
            operation: FileOperation::Open,
            syscall: Syscall::Openat,
            time_ns,
            actor: actor(i),
            path: format!("/tmp/build/module_{i}.o"),
            path_resolved: true,
            dest_path: String::new(),
            mode: 0o644,
            flags: 0,
            inode: i,
            device: 2049,
            fd: 3,
            result: 0,
            new_uid: u32::MAX,
            new_gid: u32::MAX,
            size: 4096,
            duration_ns: 30,
            probe_error: 0,
        }),
        Event::Socket(SocketEvent {
            syscall: Syscall::Connect,
            time_ns,
            actor: actor(i),
            fd: 3,
            result: 0,
            family: 2,
            sock_type: 1,
            protocol: 6,
            local_address: "10.0.0.2".into(),
            local_port: 40000 + (i % 1000) as u16,
            remote_address: format!("10.1.{}.{}", i / 256 % 256, i % 256),
            remote_port: 443,
            socket_path: String::new(),
            duration_ns: 20,
            probe_error: 0,
        }),
    ]
}

/// Allocations made while `sql` runs and every column of every row is read; and the rows.
fn allocations_of(conn: &Connection, sql: &str) -> (u64, usize) {
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    let mut statement = conn.prepare(sql).expect("prepare");
    let width = statement.column_count();
    let mut rows = statement.query([]).expect("query");
    let mut n = 0;
    while let Some(row) = rows.next().expect("step") {
        for i in 0..width {
            std::hint::black_box(row.get_ref(i).expect("column"));
        }
        n += 1;
    }
    drop(rows);
    drop(statement);
    (ALLOCATIONS.load(Ordering::Relaxed) - before, n)
}

#[test]
fn reading_every_column_of_more_rows_costs_no_more_allocations_per_row() {
    const ROWS: u64 = 3_000;
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(EventStore::open_primary(dir.path()).expect("open store"));
    for i in 0..2 * ROWS {
        for event in events(i) {
            store
                .append(event.table(), &[(event.time_ns(), event.encode())])
                .expect("append");
        }
    }
    store.flush().expect("flush");
    let counters = Counters::new(&EventTable::names());
    let tables: Vec<Arc<dyn Table>> = vec![
        Arc::new(bpf_process_events::table(Some(store.clone()), &counters)),
        Arc::new(bpf_file_events::table(Some(store.clone()), &counters)),
        Arc::new(bpf_socket_events::table(Some(store.clone()), &counters)),
    ];
    let conn = Connection::open_in_memory().expect("sqlite");
    vigil_tables::register(&conn, &tables).expect("register");
    let half_ntime = BASE_NS + ROWS * 1_000;
    for table in ["bpf_process_events", "bpf_file_events", "bpf_socket_events"] {
        // Hidden columns too, read by name; but `json_cmdline`, which serde_json builds as a
        // string of its own for each row that reads it.
        let columns = tables
            .iter()
            .find(|t| t.name() == table)
            .expect("registered")
            .columns()
            .iter()
            .map(|c| c.name)
            .filter(|&name| name != "json_cmdline")
            .collect::<Vec<_>>()
            .join(", ");
        // Warm up: the statement cache, the store's first iterator.
        allocations_of(&conn, &format!("SELECT {columns} FROM {table} LIMIT 1"));
        let (half, half_rows) = allocations_of(
            &conn,
            &format!("SELECT {columns} FROM {table} WHERE ntime < '{half_ntime}'"),
        );
        let (all, all_rows) = allocations_of(&conn, &format!("SELECT {columns} FROM {table}"));
        assert_eq!((half_rows, all_rows), (ROWS as usize, 2 * ROWS as usize));
        let extra = all.saturating_sub(half);
        assert!(
            extra < ROWS / 20,
            "{table}: {half} allocations for {half_rows} rows, {all} for {all_rows}: {extra} \
             more for {ROWS} more rows"
        );
    }
}
