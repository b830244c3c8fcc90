//! `systemd_units`: systemd's units, from their unit files (see [`super::systemd`] for what is
//! read and what is left to systemd).

use crate::row::table_row;
use crate::snapshot::linux::systemd::{self, Roots, Unit};
use crate::snapshot::util::rows;
use crate::table::{Column, Row, Rows, ScanRequest, Table, TableError, Value};

const NAME: &str = "systemd_units";

table_row! {
    struct SystemdUnitRow {
        id: Text,
        description: Text,
        load_state: Text,
        active_state: Text,
        sub_state: Text,
        unit_file_state: Text,
        following: Text,
        object_path: Text,
        job_id: BigInt,
        job_type: Text,
        job_path: Text,
        fragment_path: Text,
        user: Text,
        source_path: Text,
    }
}

pub struct SystemdUnits;

impl Table for SystemdUnits {
    fn name(&self) -> &'static str {
        NAME
    }

    fn columns(&self) -> &'static [Column] {
        SystemdUnitRow::COLUMNS
    }

    fn scan(&self, _request: &ScanRequest) -> Result<Rows, TableError> {
        Ok(rows(
            systemd::units(&Roots::default(), NAME)
                .into_iter()
                .map(row)
                .collect(),
        ))
    }
}

fn row(unit: Unit) -> Row {
    SystemdUnitRow {
        object_path: systemd::object_path(&unit.id).into(),
        id: unit.id.into(),
        description: unit.description.into(),
        load_state: unit.load_state.into(),
        active_state: unit.active_state.into(),
        sub_state: unit.sub_state.into(),
        unit_file_state: unit.unit_file_state.into(),
        following: "".into(),
        // No job is queued that vigil could know of: systemd's answer for no job.
        job_id: Value::Int(0),
        job_type: "".into(),
        job_path: "/".into(),
        fragment_path: unit.fragment_path.into(),
        user: unit.user.into(),
        source_path: "".into(),
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_of_a_unit_search_path() {
        let (_dir, roots) = systemd::fixture::machine();
        let rows: Vec<Row> = systemd::units(&roots, "t").into_iter().map(row).collect();
        let ssh = rows
            .iter()
            .find(|r| r[SystemdUnitRow::id] == Value::from("ssh.service"))
            .expect("ssh");
        assert_eq!(
            ssh[SystemdUnitRow::object_path],
            Value::from("/org/freedesktop/systemd1/unit/ssh_2eservice")
        );
        assert_eq!(ssh[SystemdUnitRow::load_state], Value::from("loaded"));
        assert_eq!(ssh[SystemdUnitRow::unit_file_state], Value::from("enabled"));
        assert_eq!(ssh[SystemdUnitRow::job_id], Value::Int(0));
    }

    #[test]
    fn the_host_units_are_its_unit_files() {
        let rows: Vec<Row> = SystemdUnits
            .scan(&ScanRequest::default())
            .expect("scan")
            .collect::<Result<_, _>>()
            .expect("rows");
        // Debian ships systemd's unit files even where systemd does not run.
        if std::path::Path::new("/lib/systemd/system/sysinit.target").exists() {
            assert!(
                rows.iter()
                    .any(|r| r[SystemdUnitRow::id] == Value::from("sysinit.target"))
            );
        }
        for row in &rows {
            let id = row[SystemdUnitRow::id].as_text().expect("id");
            assert!(id.contains('.'), "{id}");
            assert!(matches!(
                row[SystemdUnitRow::load_state].as_text(),
                Some("loaded" | "masked")
            ));
        }
    }
}
