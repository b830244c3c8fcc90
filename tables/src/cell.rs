//! Rows written into a buffer a scan reuses row after row, so reading an event table allocates
//! nothing per row: a row's text borrowed from the store page (or formatted) is copied once into
//! the buffer's text, and SQLite copies it from there.
//!
//! An evented table declares its row with a lifetime (`table_row! { struct R<'a> { .. } }`):
//! its cells are [`Cell`]s, which borrow text instead of owning it, and `R::write_to` puts them
//! in a [`CellBuffer`].

use std::{borrow::Cow, fmt::Write as _, hash::Hash};

use crate::table::{Row, Value};

/// Text a cell writes into the buffer itself (a command line joined from its arguments), so it
/// is never built as a `String` of its own.
pub trait WriteText {
    fn write_text(&self, out: &mut String);
}

/// One cell of a row on its way into a [`CellBuffer`].
#[derive(Default)]
pub enum Cell<'a> {
    #[default]
    Null,
    Int(i64),
    Text(Cow<'a, str>),
    /// An integer shown as text (osquery's `ntime`, `exit_code`): formatted into the buffer.
    IntText(i128),
    /// Text written into the buffer by `WriteText`.
    Written(&'a dyn WriteText),
    /// An integer written into the buffer by a function of it (a file mode in octal).
    IntWith(i64, fn(i64, &mut String)),
}

impl Cell<'_> {
    /// The cell as an owned value (for callers outside SQL).
    pub fn into_value(self) -> Value {
        match self {
            Cell::Null => Value::Null,
            Cell::Int(i) => Value::Int(i),
            Cell::Text(t) => Value::Text(t.into_owned()),
            Cell::IntText(i) => Value::Text(i.to_string()),
            Cell::Written(w) => {
                let mut text = String::new();
                w.write_text(&mut text);
                Value::Text(text)
            }
            Cell::IntWith(i, write) => {
                let mut text = String::new();
                write(i, &mut text);
                Value::Text(text)
            }
        }
    }
}

impl From<i64> for Cell<'_> {
    fn from(v: i64) -> Self {
        Cell::Int(v)
    }
}

impl From<i32> for Cell<'_> {
    fn from(v: i32) -> Self {
        Cell::Int(i64::from(v))
    }
}

impl From<u32> for Cell<'_> {
    fn from(v: u32) -> Self {
        Cell::Int(i64::from(v))
    }
}

impl From<u64> for Cell<'_> {
    fn from(v: u64) -> Self {
        // Saturates as `Value::from(u64)` does.
        Cell::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}

impl From<bool> for Cell<'_> {
    fn from(v: bool) -> Self {
        Cell::Int(i64::from(v))
    }
}

impl<'a> From<&'a str> for Cell<'a> {
    fn from(v: &'a str) -> Self {
        Cell::Text(Cow::Borrowed(v))
    }
}

impl<'a> From<Cow<'a, str>> for Cell<'a> {
    fn from(v: Cow<'a, str>) -> Self {
        Cell::Text(v)
    }
}

impl From<String> for Cell<'_> {
    fn from(v: String) -> Self {
        Cell::Text(Cow::Owned(v))
    }
}

impl From<Value> for Cell<'_> {
    fn from(v: Value) -> Self {
        match v {
            Value::Null => Cell::Null,
            Value::Int(i) => Cell::Int(i),
            Value::Text(t) => Cell::Text(Cow::Owned(t)),
        }
    }
}

/// A cell as read back from a [`CellBuffer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CellRef<'a> {
    Null,
    Int(i64),
    Text(&'a str),
}

#[derive(Debug, Clone, Copy)]
enum Slot {
    Null,
    Int(i64),
    /// Bytes `start..end` of the buffer's text.
    Text(usize, usize),
}

/// One row's cells; its memory is kept from row to row.
#[derive(Debug, Default)]
pub struct CellBuffer {
    slots: Vec<Slot>,
    text: String,
}

impl CellBuffer {
    /// Empties the buffer for the next row, keeping its memory.
    pub fn clear(&mut self) {
        self.slots.clear();
        self.text.clear();
    }

    /// Appends the row's next cell.
    pub fn push(&mut self, cell: Cell<'_>) {
        let slot = match cell {
            Cell::Null => Slot::Null,
            Cell::Int(i) => Slot::Int(i),
            Cell::Text(t) => self.text_slot(|out| out.push_str(&t)),
            Cell::IntText(i) => self.text_slot(|out| {
                // Writing into a String cannot fail. i64's formatting is the quicker one, and
                // every value but a u64 past i64::MAX fits it.
                let _ = match i64::try_from(i) {
                    Ok(small) => write!(out, "{small}"),
                    Err(_) => write!(out, "{i}"),
                };
            }),
            Cell::Written(w) => self.text_slot(|out| w.write_text(out)),
            Cell::IntWith(i, write) => self.text_slot(|out| write(i, out)),
        };
        self.slots.push(slot);
    }

    fn text_slot(&mut self, write: impl FnOnce(&mut String)) -> Slot {
        let start = self.text.len();
        write(&mut self.text);
        Slot::Text(start, self.text.len())
    }

    /// Replaces the buffer's row with `row` (tables that build owned rows).
    pub fn set_row(&mut self, row: Row) {
        self.clear();
        for value in row {
            self.push(value.into());
        }
    }

    /// How many cells the row has.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Cell `column` (NULL past the row's end).
    pub fn get(&self, column: usize) -> CellRef<'_> {
        match self.slots.get(column) {
            None | Some(Slot::Null) => CellRef::Null,
            Some(Slot::Int(i)) => CellRef::Int(*i),
            Some(Slot::Text(start, end)) => {
                CellRef::Text(self.text.get(*start..*end).unwrap_or(""))
            }
        }
    }

    /// The row as owned values.
    pub fn to_row(&self) -> Row {
        (0..self.len())
            .map(|i| match self.get(i) {
                CellRef::Null => Value::Null,
                CellRef::Int(i) => Value::Int(i),
                CellRef::Text(t) => Value::Text(t.to_owned()),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Joined(&'static [&'static str]);

    impl WriteText for Joined {
        fn write_text(&self, out: &mut String) {
            out.push_str(&self.0.join(" "));
        }
    }

    #[test]
    fn every_kind_of_cell_reads_back_as_its_value_row_after_row() {
        let joined = Joined(&["ls", "-l"]);
        let mut buffer = CellBuffer::default();
        for round in 0..3i64 {
            buffer.clear();
            let cells = [
                Cell::Null,
                Cell::Int(round),
                Cell::from("borrowed"),
                Cell::from(format!("owned {round}")),
                Cell::IntText(i128::from(-17 - round)),
                Cell::IntText(i128::from(u64::MAX)),
                Cell::Written(&joined),
                Cell::IntWith(0o755, |mode, out| out.push_str(&format!("{mode:o}"))),
                Cell::from(""),
            ];
            let expected: Row = [
                Value::Null,
                Value::Int(round),
                Value::from("borrowed"),
                Value::Text(format!("owned {round}")),
                Value::Text((-17 - round).to_string()),
                Value::from("18446744073709551615"),
                Value::from("ls -l"),
                Value::from("755"),
                Value::from(""),
            ]
            .to_vec();
            for cell in cells {
                buffer.push(cell);
            }
            assert_eq!(buffer.len(), expected.len());
            assert_eq!(buffer.to_row(), expected, "round {round}");
            assert_eq!(buffer.get(99), CellRef::Null, "past the row's end");
        }
        let owned: Vec<Value> = [
            Cell::IntText(5),
            Cell::Written(&joined),
            Cell::IntWith(7, |i, out| out.push_str(&i.to_string())),
        ]
        .into_iter()
        .map(Cell::into_value)
        .collect();
        assert_eq!(
            owned,
            [Value::from("5"), Value::from("ls -l"), Value::from("7")]
        );
    }

    #[test]
    fn a_row_set_whole_replaces_the_previous_one() {
        let mut buffer = CellBuffer::default();
        buffer.set_row(vec![Value::from("a long first row"), Value::Int(1)]);
        buffer.set_row(vec![Value::Null, Value::from("b")]);
        assert_eq!(buffer.to_row(), [Value::Null, Value::from("b")]);
    }
}
