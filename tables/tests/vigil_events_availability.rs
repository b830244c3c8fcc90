//! `vigil_events` says, per table, whether this kernel runs its probes and why not: as the
//! collecting process knows it, and as a reader of a daemon's database sees it.

use std::sync::Arc;

use rusqlite::Connection;
use vigil_events::{Availability, Counters, EventStore, EventTable};
use vigil_tables::{CounterSource, Table, agent::vigil_events::VigilEvents};

fn connection(table: VigilEvents) -> Connection {
    let conn = Connection::open_in_memory().expect("sqlite");
    let tables: Vec<Arc<dyn Table>> = vec![Arc::new(table)];
    vigil_tables::register(&conn, &tables).expect("register");
    conn
}

type Row = (i64, Option<i64>, Option<String>);

fn row(conn: &Connection, table: &str) -> Row {
    conn.query_row(
        "SELECT active, available, unavailable_reason FROM vigil_events WHERE name = ?1",
        [table],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .expect("a row per event table")
}

fn counters_with_limits() -> Counters {
    let counters = Counters::new(&EventTable::names());
    let set = |table: EventTable, available: bool, reason: &str| {
        counters
            .table(table.name())
            .expect("table")
            .set_availability(Availability {
                available,
                reason: reason.to_owned(),
            });
    };
    set(EventTable::BpfProcessEvents, true, "");
    set(
        EventTable::BpfFileEvents,
        true,
        "fchmodat2: this kernel has no tracepoint syscalls:sys_enter_fchmodat2",
    );
    set(
        EventTable::BpfSocketEvents,
        false,
        "connect: program vigil_exit_socket not loaded: the verifier refused it",
    );
    counters
}

#[test]
fn the_collecting_process_reports_what_its_kernel_allows() {
    let conn = connection(VigilEvents::new(
        counters_with_limits(),
        None,
        CounterSource::Live,
    ));
    assert_eq!(
        row(&conn, "bpf_process_events"),
        (1, Some(1), Some(String::new()))
    );
    let (active, available, reason) = row(&conn, "bpf_file_events");
    assert_eq!((active, available), (1, Some(1)));
    assert!(reason.expect("a reason").starts_with("fchmodat2: "));
    let (active, available, reason) = row(&conn, "bpf_socket_events");
    assert_eq!((active, available), (0, Some(0)));
    assert!(reason.expect("a reason").contains("verifier refused"));
}

#[test]
fn a_reader_of_the_daemons_database_sees_the_daemons_kernel() {
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = EventStore::open_primary(dir.path()).expect("primary");
    daemon.save_counters(&counters_with_limits()).expect("save");
    let reader = Arc::new(EventStore::open_secondary(dir.path()).expect("secondary"));
    let conn = connection(VigilEvents::new(
        Counters::new(&EventTable::names()),
        Some(reader),
        CounterSource::Store,
    ));
    let (_, available, reason) = row(&conn, "bpf_socket_events");
    assert_eq!(available, Some(0));
    assert!(reason.expect("a reason").starts_with("connect: "));
    assert_eq!(row(&conn, "bpf_process_events").1, Some(1));
}

#[test]
fn without_a_collector_availability_is_unknown() {
    let conn = connection(VigilEvents::new(
        Counters::new(&EventTable::names()),
        None,
        CounterSource::None,
    ));
    assert_eq!(row(&conn, "bpf_file_events"), (0, None, None));
}
