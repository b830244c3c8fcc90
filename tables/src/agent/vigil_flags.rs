//! `vigil_flags` (alias `osquery_flags`): the flags this process runs with, their defaults and
//! where they differ.

use crate::{
    row::table_row,
    snapshot::util::rows,
    table::{Column, Rows, ScanRequest, Table, TableError, Value},
};

table_row! {
    struct FlagRow {
        name: Text,
        r#type: Text,
        description: Text,
        default_value: Text,
        value: Text,
        shell_only: Integer,
    }
}

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
        FlagRow::COLUMNS
    }

    fn scan(&self, _request: &ScanRequest) -> Result<Rows, TableError> {
        Ok(rows(
            self.flags
                .iter()
                .map(|f| {
                    FlagRow {
                        name: f.name.as_str().into(),
                        r#type: f.kind.as_str().into(),
                        description: f.description.as_str().into(),
                        default_value: f.default_value.as_str().into(),
                        value: f.value.as_str().into(),
                        shell_only: Value::from(f.shell_only),
                    }
                    .into()
                })
                .collect(),
        ))
    }
}
