//! `es_process_events`: execs, forks and exits from Endpoint Security (macOS), with osquery's
//! columns in osquery's order. The rows are built and checked on every platform; the table
//! exists where its publisher does.

use vigil_events::es::EsProcessEvent;

use crate::{row::table_row, table::Row};

table_row! {
    pub struct EsProcessEventRow {
        version: Integer,
        seq_num: BigInt,
        global_seq_num: BigInt,
        pid: BigInt,
        pidversion: BigInt,
        path: Text,
        parent: BigInt,
        original_parent: BigInt,
        session_id: BigInt,
        responsible_pid: BigInt,
        responsible_pidversion: BigInt,
        parent_pidversion: BigInt,
        cmdline: Text,
        cmdline_count: BigInt,
        env: Text,
        env_count: BigInt,
        cwd: Text,
        uid: BigInt,
        euid: BigInt,
        gid: BigInt,
        egid: BigInt,
        username: Text,
        signing_id: Text,
        team_id: Text,
        cdhash: Text,
        platform_binary: Integer,
        exit_code: Integer,
        child_pid: BigInt,
        time: BigInt,
        event_type: Text,
        #[hidden]
        eid: Text,
        codesigning_flags: Text,
    }
}

#[cfg(target_os = "macos")]
/// The table over `store` (empty without one).
pub fn table(
    store: Option<std::sync::Arc<vigil_events::EventStore>>,
    counters: &vigil_events::Counters,
) -> super::StoredTable {
    super::StoredTable::new(
        vigil_events::EventTable::EsProcessEvents,
        EsProcessEventRow::COLUMNS,
        |bytes, seq, _used, buffer| {
            vigil_events::es::stored::decode_process(bytes).map(|e| buffer.set_row(row(&e, seq)))
        },
        store,
        counters,
    )
}

pub fn row(event: &EsProcessEvent, seq: u64) -> Row {
    // As osquery: `child_pid` for forks and `exit_code` for exits only, NULL otherwise.
    let child_pid = if event.event_type == "fork" {
        event.child_pid.into()
    } else {
        crate::table::Value::Null
    };
    let exit_code = if event.event_type == "exit" {
        event.exit_code.into()
    } else {
        crate::table::Value::Null
    };
    EsProcessEventRow {
        version: event.version.into(),
        seq_num: event.seq_num.into(),
        global_seq_num: event.global_seq_num.into(),
        pid: event.pid.into(),
        pidversion: event.pidversion.into(),
        path: event.path.as_str().into(),
        parent: event.parent.into(),
        original_parent: event.original_parent.into(),
        session_id: event.session_id.into(),
        responsible_pid: event.responsible_pid.into(),
        responsible_pidversion: event.responsible_pidversion.into(),
        parent_pidversion: event.parent_pidversion.into(),
        cmdline: event.cmdline.as_str().into(),
        cmdline_count: event.cmdline_count.into(),
        env: event.env.as_str().into(),
        env_count: event.env_count.into(),
        cwd: event.cwd.as_str().into(),
        uid: event.uid.into(),
        euid: event.euid.into(),
        gid: event.gid.into(),
        egid: event.egid.into(),
        username: event.username.as_str().into(),
        signing_id: event.signing_id.as_str().into(),
        team_id: event.team_id.as_str().into(),
        cdhash: event.cdhash.as_str().into(),
        platform_binary: event.platform_binary.into(),
        exit_code,
        child_pid,
        time: (event.time_ns / 1_000_000_000).into(),
        event_type: event.event_type.as_str().into(),
        eid: seq.to_string().into(),
        codesigning_flags: event.codesigning_flags.as_str().into(),
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::{Value, row_mismatch};

    #[test]
    fn osquerys_columns_in_osquerys_order_and_type_specific_cells() {
        let names: Vec<&str> = EsProcessEventRow::COLUMNS.iter().map(|c| c.name).collect();
        assert_eq!(
            names,
            [
                "version",
                "seq_num",
                "global_seq_num",
                "pid",
                "pidversion",
                "path",
                "parent",
                "original_parent",
                "session_id",
                "responsible_pid",
                "responsible_pidversion",
                "parent_pidversion",
                "cmdline",
                "cmdline_count",
                "env",
                "env_count",
                "cwd",
                "uid",
                "euid",
                "gid",
                "egid",
                "username",
                "signing_id",
                "team_id",
                "cdhash",
                "platform_binary",
                "exit_code",
                "child_pid",
                "time",
                "event_type",
                "eid",
                "codesigning_flags",
            ]
        );
        let fork = EsProcessEvent {
            version: 7,
            event_type: "fork".into(),
            time_ns: 1_700_000_000_240_000_000,
            pid: 48_200,
            child_pid: 48_213,
            cdhash: "0b6f1e739d22c45a813f47e092d6180c6ba5732e".into(),
            platform_binary: true,
            ..EsProcessEvent::default()
        };
        let row = row(&fork, 4);
        assert_eq!(row_mismatch(EsProcessEventRow::COLUMNS, &row), None);
        assert_eq!(row[EsProcessEventRow::child_pid], Value::Int(48_213));
        assert_eq!(row[EsProcessEventRow::exit_code], Value::Null);
        assert_eq!(row[EsProcessEventRow::platform_binary], Value::Int(1));
        assert_eq!(row[EsProcessEventRow::time], Value::Int(1_700_000_000));
        let exit = EsProcessEvent {
            event_type: "exit".into(),
            exit_code: 256,
            ..EsProcessEvent::default()
        };
        let row = super::row(&exit, 5);
        assert_eq!(row[EsProcessEventRow::exit_code], Value::Int(256));
        assert_eq!(row[EsProcessEventRow::child_pid], Value::Null);
    }
}
