//! `vigil_flags` (alias `osquery_flags`): the flags this process runs with, their defaults and
//! where they differ.

use crate::{
    snapshot::util::rows,
    table::{
        Column,
        ColumnType::{Integer, Text},
        Rows, ScanRequest, Table, TableError, Value,
    },
};

const COLUMNS: &[Column] = &[
    Column::new("name", Text),
    Column::new("type", Text),
    Column::new("description", Text),
    Column::new("default_value", Text),
    Column::new("value", Text),
    Column::new("shell_only", Integer),
];

/// One flag as the command line parser knows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlagInfo {
    pub name: String,
    /// `bool`, `int` or `string`.
    pub kind: String,
    pub description: String,
    pub default_value: String,
    pub value: String,
    pub shell_only: bool,
}

pub struct VigilFlags {
    flags: Vec<FlagInfo>,
}

impl VigilFlags {
    pub fn new(flags: Vec<FlagInfo>) -> Self {
        Self { flags }
    }
}

impl Table for VigilFlags {
    fn name(&self) -> &'static str {
        "vigil_flags"
    }

    fn aliases(&self) -> &'static [&'static str] {
        &["osquery_flags"]
    }

    fn columns(&self) -> &'static [Column] {
        COLUMNS
    }

    fn scan(&self, _request: &ScanRequest) -> Result<Rows, TableError> {
        Ok(rows(
            self.flags
                .iter()
                .map(|f| {
                    vec![
                        f.name.as_str().into(),
                        f.kind.as_str().into(),
                        f.description.as_str().into(),
                        f.default_value.as_str().into(),
                        f.value.as_str().into(),
                        Value::from(f.shell_only),
                    ]
                })
                .collect(),
        ))
    }
}
