//! `vigil_flags` (alias `osquery_flags`): the flags this process runs with, their defaults and
//! where they differ.

use std::sync::Arc;

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

/// Where the flags are read from, each time a table needs them: a daemon's change while it
/// runs (a TLS server's config sets `options`), and its tables show the values that apply.
#[derive(Clone)]
pub struct FlagSource(Arc<dyn Fn() -> Vec<FlagInfo> + Send + Sync>);

impl FlagSource {
    /// Always these flags.
    pub fn fixed(flags: Vec<FlagInfo>) -> Self {
        Self(Arc::new(move || flags.clone()))
    }

    /// The flags `read` gives at the time of each query.
    pub fn live(read: impl Fn() -> Vec<FlagInfo> + Send + Sync + 'static) -> Self {
        Self(Arc::new(read))
    }

    pub fn read(&self) -> Vec<FlagInfo> {
        (self.0)()
    }

    /// The value of flag `name`, when there is such a flag.
    pub fn value(&self, name: &str) -> Option<String> {
        self.read()
            .into_iter()
            .find(|flag| flag.name == name)
            .map(|flag| flag.value)
    }
}

impl Default for FlagSource {
    fn default() -> Self {
        Self::fixed(Vec::new())
    }
}

impl std::fmt::Debug for FlagSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.read()).finish()
    }
}

pub struct VigilFlags {
    flags: FlagSource,
}

impl VigilFlags {
    pub fn new(flags: FlagSource) -> Self {
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
                .read()
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
