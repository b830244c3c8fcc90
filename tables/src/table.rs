//! What a table is: its columns and how it produces rows. The SQLite plumbing lives once in
//! [`crate::vtab`]; a table only declares this.

use std::fmt::Write as _;

/// Column types with osquery's names, so `.schema` reads as osquery users expect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    Integer,
    BigInt,
    Text,
}

impl ColumnType {
    pub fn sql(self) -> &'static str {
        match self {
            ColumnType::Integer => "INTEGER",
            ColumnType::BigInt => "BIGINT",
            ColumnType::Text => "TEXT",
        }
    }

    /// Whether `value` may be a cell of this type: an integer in an integer column, text in a
    /// text column, and NULL in any (osquery's tables declare no `NOT NULL` either).
    pub fn admits(self, value: &Value) -> bool {
        matches!(
            (self, value),
            (_, Value::Null)
                | (ColumnType::Integer | ColumnType::BigInt, Value::Int(_))
                | (ColumnType::Text, Value::Text(_))
        )
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub name: &'static str,
    pub ty: ColumnType,
    /// Hidden columns are left out of `SELECT *` but can be selected and filtered by name.
    pub hidden: bool,
}

impl Column {
    pub const fn new(name: &'static str, ty: ColumnType) -> Self {
        Self {
            name,
            ty,
            hidden: false,
        }
    }

    /// The same column, hidden.
    pub const fn hidden(self) -> Self {
        Self {
            hidden: true,
            ..self
        }
    }
}

/// One cell.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub enum Value {
    #[default]
    Null,
    Int(i64),
    Text(String),
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

impl From<u32> for Value {
    fn from(v: u32) -> Self {
        Value::Int(i64::from(v))
    }
}

impl From<u64> for Value {
    fn from(v: u64) -> Self {
        // SQLite integers are signed 64-bit; values past i64::MAX (never seen for ids and
        // nanosecond times before 2262) saturate rather than wrap.
        Value::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}

impl From<i32> for Value {
    fn from(v: i32) -> Self {
        Value::Int(i64::from(v))
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Int(i64::from(v))
    }
}

impl From<Option<String>> for Value {
    fn from(v: Option<String>) -> Self {
        v.map_or(Value::Null, Value::Text)
    }
}

impl Value {
    /// The value as an integer, the way SQLite compares an integer column (`'42'` is 42).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Text(t) => t.trim().parse().ok(),
            Value::Null => None,
        }
    }

    pub fn as_text(&self) -> Option<&str> {
        match self {
            Value::Text(t) => Some(t),
            _ => None,
        }
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_owned())
    }
}

pub type Row = Vec<Value>;

/// What is wrong with `row` as a row of `columns`: a cell missing or left over, or a cell of
/// another type than its column's; `None` when it is a row of exactly the declared cells.
pub fn row_mismatch(columns: &[Column], row: &[Value]) -> Option<String> {
    let mut problems = Vec::new();
    if row.len() != columns.len() {
        problems.push(format!("{} cells for {} columns", row.len(), columns.len()));
    }
    for (column, value) in columns.iter().zip(row) {
        if !column.ty.admits(value) {
            problems.push(format!(
                "`{}` ({}) holds {value:?}",
                column.name,
                column.ty.sql()
            ));
        }
    }
    (!problems.is_empty()).then(|| problems.join("; "))
}

/// Rows a scan produces, pulled one at a time so large event tables are never held in memory
/// whole.
pub type Rows = Box<dyn Iterator<Item = Result<Row, TableError>> + Send>;

/// Rows a scan writes one at a time into a buffer the caller reuses: `None` after the last.
pub type CellRows =
    Box<dyn FnMut(&mut crate::cell::CellBuffer) -> Option<Result<(), TableError>> + Send>;

/// An operator of a constraint SQLite handed down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConstraintOp {
    Eq,
    Gt,
    Ge,
    Lt,
    Le,
    Like,
}

/// `column op value`, for a column the table asked to see constraints on. SQLite still checks
/// every row it gets back: a table may use a constraint to read less, never to return more.
#[derive(Debug, Clone, PartialEq)]
pub struct Constraint {
    pub column: usize,
    pub op: ConstraintOp,
    pub value: Value,
}

/// Constraints SQLite handed down to a scan.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScanRequest {
    /// Event time range in nanoseconds since the epoch, bounds included, from `time`/`ntime`
    /// constraints. `None`: unconstrained.
    pub time_ns: Option<(u64, u64)>,
    /// Constraints on the columns of [`Table::pushdown_columns`].
    pub constraints: Vec<Constraint>,
    /// Which columns the query reads (bit N for column N; bit 63 for any column from 63 on);
    /// `None` when unknown. A table may leave unread columns NULL to save work.
    pub columns_used: Option<u64>,
}

/// The columns a scan must fill ([`ScanRequest::columns_used`]); it may leave the others NULL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsedColumns(Option<u64>);

impl UsedColumns {
    /// Every column: what a caller outside SQL wants.
    pub const ALL: Self = Self(None);

    /// Whether the query reads `column` (true when unknown).
    pub fn uses(self, column: usize) -> bool {
        match self.0 {
            None => true,
            Some(mask) => mask & (1u64 << column.min(63)) != 0,
        }
    }

    /// `value()` when the query reads `column`, NULL (the default) otherwise: a cell that costs
    /// an allocation or a conversion is only made when read.
    pub fn cell<V: Default>(self, column: usize, value: impl FnOnce() -> V) -> V {
        if self.uses(column) {
            value()
        } else {
            V::default()
        }
    }
}

impl ScanRequest {
    /// Whether the query reads `column` (true when unknown).
    pub fn uses(&self, column: usize) -> bool {
        self.used().uses(column)
    }

    pub fn used(&self) -> UsedColumns {
        UsedColumns(self.columns_used)
    }

    /// Values `column` must equal (`=` and `IN` constraints).
    pub fn equal_values(&self, column: usize) -> impl Iterator<Item = &Value> {
        self.constraints
            .iter()
            .filter(move |c| c.column == column && c.op == ConstraintOp::Eq)
            .map(|c| &c.value)
    }

    /// Text patterns `column` must be LIKE.
    pub fn like_patterns(&self, column: usize) -> impl Iterator<Item = &str> {
        self.constraints
            .iter()
            .filter(move |c| c.column == column && c.op == ConstraintOp::Like)
            .filter_map(|c| match &c.value {
                Value::Text(t) => Some(t.as_str()),
                _ => None,
            })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("{table}: {message}")]
    Failed {
        table: &'static str,
        message: String,
    },
}

/// A SQL table.
pub trait Table: Send + Sync {
    fn name(&self) -> &'static str;

    /// Other names the same table answers to (`osquery_events` for `vigil_events`).
    fn aliases(&self) -> &'static [&'static str] {
        &[]
    }

    fn columns(&self) -> &'static [Column];

    /// For evented tables: the indexes of the `time` (seconds) and `ntime` (nanoseconds) columns,
    /// whose constraints are pushed down into the scan.
    fn time_columns(&self) -> Option<(usize, usize)> {
        None
    }

    /// Columns whose `=`, `IN`, comparison and `LIKE` constraints the scan wants to see (to read
    /// one `/proc` entry for `pid = N`, or only the files a `path` names).
    fn pushdown_columns(&self) -> &'static [usize] {
        &[]
    }

    /// The columns that tell one row from another (a file's `path`); empty: all of them. Two
    /// rows with the same cells there are one row to SQLite when it combines the scans of the
    /// sides of an `OR`.
    fn row_identity(&self) -> &'static [usize] {
        &[]
    }

    fn scan(&self, request: &ScanRequest) -> Result<Rows, TableError>;

    /// The same rows, each written into a buffer the caller reuses: what SQL reads. Tables whose
    /// rows can borrow from where they are stored (evented tables) write them without an
    /// allocation per row; the others' owned rows are copied in.
    fn scan_cells(&self, request: &ScanRequest) -> Result<CellRows, TableError> {
        let mut rows = self.scan(request)?;
        Ok(Box::new(move |buffer| {
            rows.next().map(|row| row.map(|row| buffer.set_row(row)))
        }))
    }
}

/// The table's `CREATE TABLE` statement, as SQLite and `.schema` show it.
pub fn schema(name: &str, columns: &[Column]) -> String {
    let mut sql = format!("CREATE TABLE {name}(");
    for (i, column) in columns.iter().enumerate() {
        if i > 0 {
            sql.push_str(", ");
        }
        let _ = write!(sql, "`{}` {}", column.name, column.ty.sql());
        if column.hidden {
            sql.push_str(" HIDDEN");
        }
    }
    sql.push(')');
    sql
}
