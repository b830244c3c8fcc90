//! The one SQLite virtual-table adapter every table goes through: declares the schema, pushes
//! `time`/`ntime` constraints (as a nanosecond range) and the constraints a table asks for down to
//! its scan, and streams rows back.

use std::{
    borrow::Cow,
    ffi::{CStr, CString, c_int},
    marker::PhantomData,
    sync::Arc,
};

use rusqlite::{
    Connection, ffi,
    types::ValueRef,
    vtab::{
        Context, Filters, IndexConstraintOp, IndexInfo, Module, VTab, VTabConfig, VTabConnection,
        VTabCursor,
    },
};

use crate::{
    cell::{CellBuffer, CellRef},
    table::{CellRows, Constraint, ConstraintOp, ScanRequest, Table, Value, schema},
};

const NS_PER_SEC: i128 = 1_000_000_000;

#[repr(C)]
struct AdapterTab {
    /// Must be first: SQLite sees this struct as its `sqlite3_vtab`.
    base: ffi::sqlite3_vtab,
    table: Arc<dyn Table>,
}

/// A pushed-down bound, in the order its value arrives in `filter`'s arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bound {
    Eq,
    Gt,
    Ge,
    Lt,
    Le,
}

impl Bound {
    fn code(self) -> char {
        match self {
            Bound::Eq => '=',
            Bound::Gt => '>',
            Bound::Ge => 'g',
            Bound::Lt => '<',
            Bound::Le => 'l',
        }
    }

    fn from_code(c: char) -> Option<Self> {
        Some(match c {
            '=' => Bound::Eq,
            '>' => Bound::Gt,
            'g' => Bound::Ge,
            '<' => Bound::Lt,
            'l' => Bound::Le,
            _ => return None,
        })
    }

    fn from_op(op: &IndexConstraintOp) -> Option<Self> {
        Some(match op {
            IndexConstraintOp::SQLITE_INDEX_CONSTRAINT_EQ => Bound::Eq,
            IndexConstraintOp::SQLITE_INDEX_CONSTRAINT_GT => Bound::Gt,
            IndexConstraintOp::SQLITE_INDEX_CONSTRAINT_GE => Bound::Ge,
            IndexConstraintOp::SQLITE_INDEX_CONSTRAINT_LT => Bound::Lt,
            IndexConstraintOp::SQLITE_INDEX_CONSTRAINT_LE => Bound::Le,
            _ => return None,
        })
    }
}

/// A constraint value as a number, the way SQLite would compare it with an integer column: an
/// integer stays exact (nanosecond times are beyond what an f64 holds exactly).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Number {
    Int(i64),
    Real(f64),
}

impl Number {
    /// The integers just below and just above the value (the same for an integer).
    fn floor_ceil(self) -> (i128, i128) {
        match self {
            Number::Int(i) => (i128::from(i), i128::from(i)),
            // Every f64 this large is an integer already, so floor and ceil are exact.
            Number::Real(r) => (r.floor() as i128, r.ceil() as i128),
        }
    }
}

/// `None` when the value is not numeric: that constraint is then left to SQLite alone.
fn numeric(value: ValueRef<'_>) -> Option<Number> {
    match value {
        ValueRef::Integer(i) => Some(Number::Int(i)),
        ValueRef::Real(r) if r.is_finite() => Some(Number::Real(r)),
        ValueRef::Text(t) => {
            let text = std::str::from_utf8(t).ok()?.trim();
            match text.parse::<i64>() {
                Ok(i) => Some(Number::Int(i)),
                Err(_) => text
                    .parse::<f64>()
                    .ok()
                    .filter(|r| r.is_finite())
                    .map(Number::Real),
            }
        }
        ValueRef::Real(_) | ValueRef::Null | ValueRef::Blob(_) => None,
    }
}

/// Narrows `[lo, hi]` (nanoseconds) by one bound on a column measured in `unit_ns` nanoseconds.
/// The result may be wider than exact (SQLite re-checks every row), never narrower.
fn narrow(range: &mut (i128, i128), bound: Bound, value: Number, unit_ns: i128) {
    let (floor, ceil) = value.floor_ceil();
    let (lo, hi) = range;
    match bound {
        Bound::Eq => {
            *lo = (*lo).max(floor.saturating_mul(unit_ns));
            *hi = (*hi).min((ceil + 1).saturating_mul(unit_ns) - 1);
        }
        Bound::Gt => *lo = (*lo).max((floor + 1).saturating_mul(unit_ns)),
        Bound::Ge => *lo = (*lo).max(floor.saturating_mul(unit_ns)),
        Bound::Lt => *hi = (*hi).min(ceil.saturating_mul(unit_ns) - 1),
        Bound::Le => *hi = (*hi).min((floor + 1).saturating_mul(unit_ns) - 1),
    }
}

fn constraint_value(value: rusqlite::types::Value) -> Value {
    match value {
        rusqlite::types::Value::Integer(i) => Value::Int(i),
        rusqlite::types::Value::Real(r) => Value::Text(r.to_string()),
        rusqlite::types::Value::Text(t) => Value::Text(t),
        rusqlite::types::Value::Blob(b) => Value::Text(String::from_utf8_lossy(&b).into_owned()),
        rusqlite::types::Value::Null => Value::Null,
    }
}

fn constraint_op(code: char) -> Option<ConstraintOp> {
    Some(match code {
        '=' => ConstraintOp::Eq,
        '>' => ConstraintOp::Gt,
        'g' => ConstraintOp::Ge,
        '<' => ConstraintOp::Lt,
        'l' => ConstraintOp::Le,
        '~' => ConstraintOp::Like,
        _ => return None,
    })
}

// SAFETY: rusqlite's contract for a VTab: AdapterTab is #[repr(C)] with its sqlite3_vtab first,
// so SQLite may treat a pointer to it as one.
unsafe impl<'vtab> VTab<'vtab> for AdapterTab {
    type Aux = Arc<dyn Table>;
    type Cursor = AdapterCursor<'vtab>;

    fn connect(
        db: &mut VTabConnection,
        aux: Option<&Self::Aux>,
        _module_name: &[u8],
        _database_name: &[u8],
        _table_name: &[u8],
        _args: &[&[u8]],
    ) -> rusqlite::Result<(Cow<'static, CStr>, Self)> {
        let table = aux
            .cloned()
            .ok_or_else(|| rusqlite::Error::ModuleError("table registered without data".into()))?;
        db.config(VTabConfig::Innocuous)?;
        let sql = CString::new(schema("x", table.columns()))
            .map_err(|e| rusqlite::Error::ModuleError(e.to_string()))?;
        Ok((
            Cow::Owned(sql),
            Self {
                base: ffi::sqlite3_vtab::default(),
                table,
            },
        ))
    }

    fn best_index(&self, info: &mut IndexInfo) -> rusqlite::Result<bool> {
        note_planned(self.table.name());
        // The plan, one entry per argument `filter` receives: `t`/`n` + bound for time columns,
        // or `c<column>` + bound for a pushed-down column; entries separated by `,`.
        let mut plan: Vec<String> = Vec::new();
        let time_columns = self.table.time_columns();
        let pushdown = self.table.pushdown_columns();
        let mut usable = Vec::new();
        // Whether the scan can read less than everything: a time range, or `=`/`IN`/`LIKE` on
        // a pushed-down column. A range on a pushed-down column is handed down but narrows
        // nothing (SQLite derives `path >= 'a/' AND path < 'a0'` from `path LIKE 'a/%x' OR
        // path LIKE 'a/%y'`); costed as narrowing, it would win over the plan that scans each
        // side of the OR with its LIKE, and `file` would see no path it can read.
        let mut narrows = false;
        for (i, constraint) in info.constraints().enumerate() {
            if !constraint.is_usable() {
                continue;
            }
            let column = constraint.column();
            let op = constraint.operator();
            let entry = match (time_columns, Bound::from_op(&op)) {
                (Some((time, _)), Some(bound)) if column == time as c_int => {
                    narrows = true;
                    format!("t{}", bound.code())
                }
                (Some((_, ntime)), Some(bound)) if column == ntime as c_int => {
                    narrows = true;
                    format!("n{}", bound.code())
                }
                _ if column >= 0 && pushdown.contains(&(column as usize)) => {
                    let code = match Bound::from_op(&op) {
                        Some(bound) => bound.code(),
                        None if matches!(op, IndexConstraintOp::SQLITE_INDEX_CONSTRAINT_LIKE) => {
                            '~'
                        }
                        None => continue,
                    };
                    narrows |= matches!(code, '=' | '~');
                    format!("c{column}{code}")
                }
                _ => continue,
            };
            usable.push((i, entry));
        }
        for (argv, (i, entry)) in usable.into_iter().enumerate() {
            // `col IN (...)` arrives as one `=` per value, one filter call each.
            let mut usage = info.constraint_usage(i);
            // SQLite still re-checks each row (no omit): pushdown only narrows the scan.
            usage.set_argv_index(argv as c_int + 1);
            plan.push(entry);
        }
        // Which columns the query reads travels in front of the plan: `u<hex mask>|`.
        let plan = format!("u{:x}|{}", info.col_used(), plan.join(","));
        info.set_estimated_cost(if narrows { 1_000.0 } else { 1_000_000.0 });
        info.set_idx_str(&plan);
        Ok(true)
    }

    fn open(&'vtab mut self) -> rusqlite::Result<AdapterCursor<'vtab>> {
        Ok(AdapterCursor {
            base: ffi::sqlite3_vtab_cursor::default(),
            width: self.table.columns().len(),
            table: self.table.clone(),
            rows: None,
            current: CellBuffer::default(),
            at_row: false,
            rowid: 0,
            phantom: PhantomData,
        })
    }
}

#[repr(C)]
struct AdapterCursor<'vtab> {
    /// Must be first: SQLite sees this struct as its `sqlite3_vtab_cursor`.
    base: ffi::sqlite3_vtab_cursor,
    table: Arc<dyn Table>,
    /// How many cells each row has: one per column.
    width: usize,
    rows: Option<CellRows>,
    /// The current row, its memory reused for the next.
    current: CellBuffer,
    /// Whether `current` holds a row (false at the end).
    at_row: bool,
    rowid: i64,
    phantom: PhantomData<&'vtab AdapterTab>,
}

impl AdapterCursor<'_> {
    fn advance(&mut self) -> rusqlite::Result<()> {
        let next = match self.rows.as_mut() {
            Some(rows) => rows(&mut self.current),
            None => None,
        };
        self.at_row = match next {
            None => false,
            // A cell missing would read as NULL, one too many would be dropped: neither is
            // what the table holds.
            Some(Ok(())) if self.current.len() != self.width => {
                return Err(rusqlite::Error::ModuleError(format!(
                    "{}: a row of {} cells for {} columns (a bug in this table: please report \
                     it)",
                    self.table.name(),
                    self.current.len(),
                    self.width
                )));
            }
            Some(Ok(())) => true,
            Some(Err(e)) => return Err(rusqlite::Error::ModuleError(e.to_string())),
        };
        self.rowid += 1;
        Ok(())
    }
}

// SAFETY: rusqlite's contract for a VTabCursor: AdapterCursor is #[repr(C)] with its
// sqlite3_vtab_cursor first, so SQLite may treat a pointer to it as one.
unsafe impl VTabCursor for AdapterCursor<'_> {
    fn filter(
        &mut self,
        _idx_num: c_int,
        idx_str: Option<&str>,
        args: &Filters<'_>,
    ) -> rusqlite::Result<()> {
        let mut request = ScanRequest::default();
        let plan = match idx_str.and_then(|p| p.split_once('|')) {
            Some((used, plan)) => {
                request.columns_used = used
                    .strip_prefix('u')
                    .and_then(|hex| u64::from_str_radix(hex, 16).ok());
                Some(plan)
            }
            None => idx_str,
        };
        if let Some(plan) = plan.filter(|p| !p.is_empty()) {
            let mut range: (i128, i128) = (0, i128::from(u64::MAX));
            let mut has_time = false;
            for (argv, entry) in plan.split(',').enumerate() {
                let Ok(value) = args.get::<rusqlite::types::Value>(argv) else {
                    continue;
                };
                let mut chars = entry.chars();
                let kind = chars.next();
                let code = entry.chars().last().unwrap_or(' ');
                match kind {
                    Some(which @ ('t' | 'n')) => {
                        let (Some(bound), Some(number)) =
                            (Bound::from_code(code), numeric(ValueRef::from(&value)))
                        else {
                            continue;
                        };
                        let unit = if which == 't' { NS_PER_SEC } else { 1 };
                        narrow(&mut range, bound, number, unit);
                        has_time = true;
                    }
                    Some('c') => {
                        let digits: String = chars.take_while(char::is_ascii_digit).collect();
                        let (Ok(column), Some(op)) = (digits.parse::<usize>(), constraint_op(code))
                        else {
                            continue;
                        };
                        request.constraints.push(Constraint {
                            column,
                            op,
                            value: constraint_value(value),
                        });
                    }
                    _ => {}
                }
            }
            if has_time {
                let clamp = |v: i128| v.clamp(0, i128::from(u64::MAX)) as u64;
                request.time_ns = if range.0 > range.1 {
                    Some((1, 0))
                } else {
                    Some((clamp(range.0), clamp(range.1)))
                };
            }
        }
        self.rows = Some(
            self.table
                .scan_cells(&request)
                .map_err(|e| rusqlite::Error::ModuleError(e.to_string()))?,
        );
        self.rowid = 0;
        self.advance()
    }

    fn next(&mut self) -> rusqlite::Result<()> {
        self.advance()
    }

    fn eof(&self) -> bool {
        !self.at_row
    }

    fn column(&self, ctx: &mut Context, i: c_int) -> rusqlite::Result<()> {
        let cell = match usize::try_from(i) {
            Ok(i) if self.at_row => self.current.get(i),
            _ => CellRef::Null,
        };
        match cell {
            CellRef::Null => ctx.set_result(rusqlite::types::Null),
            CellRef::Int(v) => ctx.set_result(v),
            CellRef::Text(v) => ctx.set_result(v),
        }
    }

    /// The row's identity, not its position: SQLite scans a table once per side of an `OR`
    /// (`path LIKE 'a' OR path = 'b'`) and keeps a row of a later scan only when its rowid was
    /// not seen before, so rowids must be equal for the same row and differ between rows across
    /// scans. A position restarts at each scan and made rows of the second scan disappear.
    fn rowid(&self) -> rusqlite::Result<i64> {
        if !self.at_row {
            return Ok(self.rowid);
        }
        Ok(row_identity(&self.current, self.table.row_identity()))
    }
}

/// A hash of the cells of `columns` (of every cell when empty): what tells rows apart. Every
/// `DefaultHasher::new()` of a process hashes alike, so the same cells give the same id in
/// every scan.
fn row_identity(row: &CellBuffer, columns: &[usize]) -> i64 {
    use std::hash::{Hash as _, Hasher as _};
    let mut hasher = std::hash::DefaultHasher::new();
    if columns.is_empty() {
        for i in 0..row.len() {
            row.get(i).hash(&mut hasher);
        }
    } else {
        for &i in columns {
            row.get(i).hash(&mut hasher);
        }
    }
    hasher.finish() as i64
}

thread_local! {
    /// The tables SQLite planned a scan of on this thread, while `tables_planned` listens.
    static PLANNED: std::cell::RefCell<Option<Vec<&'static str>>> =
        const { std::cell::RefCell::new(None) };
}

fn note_planned(name: &'static str) {
    PLANNED.with(|planned| {
        if let Some(names) = planned.borrow_mut().as_mut()
            && !names.contains(&name)
        {
            names.push(name);
        }
    });
}

/// Runs `prepare` (which prepares SQL on this thread) and returns the tables, by their own names
/// (not aliases), that SQLite planned to read: every table in a `FROM`, even one no column of
/// which is used (`count(*)`, a join's `USING`), which SQLite's authorizer does not report.
pub fn tables_planned<T>(prepare: impl FnOnce() -> T) -> (T, Vec<&'static str>) {
    let outer = PLANNED.with(|planned| planned.replace(Some(Vec::new())));
    let result = prepare();
    let names = PLANNED
        .with(|planned| planned.replace(outer))
        .unwrap_or_default();
    (result, names)
}

/// Registers `table` (and its aliases) on `conn` as eponymous virtual tables.
pub fn register(conn: &Connection, table: Arc<dyn Table>) -> rusqlite::Result<()> {
    const MODULE: Module<AdapterTab> = Module::eponymous_only_module();
    for name in std::iter::once(table.name()).chain(table.aliases().iter().copied()) {
        conn.create_module(name, &MODULE, Some(table.clone()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::{Column, ColumnType, Row, Rows, TableError};

    /// A table whose rows are not as wide as its columns.
    struct Uneven(Vec<Row>);

    impl Table for Uneven {
        fn name(&self) -> &'static str {
            "uneven"
        }

        fn columns(&self) -> &'static [Column] {
            const COLUMNS: &[Column] = &[
                Column::new("a", ColumnType::Integer),
                Column::new("b", ColumnType::Integer),
                Column::new("c", ColumnType::Text),
            ];
            COLUMNS
        }

        fn scan(&self, _request: &ScanRequest) -> Result<Rows, TableError> {
            Ok(Box::new(self.0.clone().into_iter().map(Ok)))
        }
    }

    fn query(rows: Vec<Row>) -> rusqlite::Result<Vec<(i64, i64, Option<String>)>> {
        let conn = Connection::open_in_memory()?;
        register(&conn, Arc::new(Uneven(rows)))?;
        let mut statement = conn.prepare("SELECT a, b, c FROM uneven")?;
        statement
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect()
    }

    #[test]
    fn a_row_narrower_or_wider_than_its_columns_is_an_error_not_nulls() {
        let full = vec![Value::Int(1), Value::Int(2), Value::from("x")];
        assert_eq!(
            query(vec![full.clone()]).expect("a full row"),
            [(1, 2, Some("x".to_owned()))]
        );
        for row in [
            full[..2].to_vec(),
            [full.clone(), vec![Value::Int(4)]].concat(),
        ] {
            let width = row.len();
            let error = query(vec![full.clone(), row])
                .expect_err("a row of the wrong width")
                .to_string();
            assert!(
                error.contains(&format!("uneven: a row of {width} cells for 3 columns")),
                "{error}"
            );
        }
    }

    fn range_after(bounds: &[(Bound, f64)], unit: i128) -> (i128, i128) {
        let mut range = (0, i128::from(u64::MAX));
        for (bound, value) in bounds {
            narrow(&mut range, *bound, Number::Real(*value), unit);
        }
        range
    }

    #[test]
    fn nanosecond_integers_are_pushed_down_exactly() {
        // 2^53 + 1: the nearest f64 is 2^53, which would have missed this row.
        let ntime: i64 = 9_007_199_254_740_993;
        let mut range = (0, i128::from(u64::MAX));
        narrow(&mut range, Bound::Eq, Number::Int(ntime), 1);
        assert_eq!(range, (i128::from(ntime), i128::from(ntime)));
        let stored: i64 = 1_764_500_000_123_456_789;
        assert_eq!(
            numeric(ValueRef::Text(b"1764500000123456789")),
            Some(Number::Int(stored))
        );
        let mut range = (0, i128::from(u64::MAX));
        narrow(&mut range, Bound::Le, Number::Int(stored), 1);
        narrow(&mut range, Bound::Ge, Number::Int(stored), 1);
        assert_eq!(range, (i128::from(stored), i128::from(stored)));
    }

    #[test]
    fn second_bounds_become_nanosecond_ranges() {
        let s = NS_PER_SEC;
        assert_eq!(range_after(&[(Bound::Gt, 10.0)], s).0, 11 * s);
        assert_eq!(range_after(&[(Bound::Ge, 10.0)], s).0, 10 * s);
        assert_eq!(range_after(&[(Bound::Lt, 10.0)], s).1, 10 * s - 1);
        assert_eq!(range_after(&[(Bound::Le, 10.0)], s).1, 11 * s - 1);
        assert_eq!(range_after(&[(Bound::Eq, 10.0)], s), (10 * s, 11 * s - 1));
        // Fractions widen, never narrow: every second SQLite would accept stays in range.
        assert_eq!(range_after(&[(Bound::Gt, 10.5)], s).0, 11 * s);
        assert_eq!(range_after(&[(Bound::Lt, 10.5)], s).1, 11 * s - 1);
    }

    #[test]
    fn non_numeric_values_are_not_pushed_down() {
        assert_eq!(
            numeric(ValueRef::Text(b"1700000000")),
            Some(Number::Int(1_700_000_000))
        );
        assert_eq!(numeric(ValueRef::Text(b"1.5")), Some(Number::Real(1.5)));
        assert_eq!(numeric(ValueRef::Real(f64::NAN)), None);
        assert_eq!(numeric(ValueRef::Text(b"yesterday")), None);
        assert_eq!(numeric(ValueRef::Null), None);
    }
}
