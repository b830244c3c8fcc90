//! A table's columns and its row come from one declaration, `table_row!`: a struct with one
//! named cell per column, from which the column list, each column's index and the conversion
//! into a [`crate::table::Row`] are generated, in the one order the fields are written in. A row
//! that leaves a cell out, or names one the table does not have, does not compile.
//!
//! ```text
//! table_row! {
//!     /// A row of `uptime`.
//!     struct UptimeRow {
//!         days: Integer,
//!         // A hidden column: left out of `SELECT *`, selected and filtered by name.
//!         #[hidden]
//!         total_seconds: BigInt,
//!         // A column named after a Rust keyword is written as a raw identifier.
//!         r#type: Text,
//!     }
//! }
//!
//! UptimeRow::COLUMNS          // the columns, for `Table::columns`
//! UptimeRow::total_seconds    // 1: the column's index, for pushdown and `ScanRequest::uses`
//! Row::from(UptimeRow { days: 1.into(), total_seconds: 93_784.into(), r#type: "x".into() })
//! ```
//!
//! Cells are [`crate::table::Value`]s: that each holds its column's type is checked over every
//! table by `tests/rows_match_columns.rs`. Building a row costs what the `vec!` of its cells
//! did: no lookup by name, no allocation besides the row's own.

/// A column's name from the field that declares it: `r#type` declares `type`.
pub const fn column_name(field: &'static str) -> &'static str {
    match field.as_bytes() {
        [b'r', b'#', rest @ ..] => match std::str::from_utf8(rest) {
            Ok(name) => name,
            Err(_) => panic!("a field name is UTF-8"),
        },
        _ => field,
    }
}

/// Declares a table's row struct and, from it, its columns (`COLUMNS`), one index constant per
/// column named as the column (`Row::pid`), and `From<Row>` for [`crate::table::Row`]. Column
/// types are [`crate::table::ColumnType`]'s variants; `#[hidden]` hides a column.
///
/// Declared with a lifetime (`struct EventRow<'a> { .. }`), the cells are
/// [`crate::cell::Cell`]s, which may borrow their text, and `write_to` puts the row in a
/// [`crate::cell::CellBuffer`]: what evented tables do, so a scan allocates nothing per row.
macro_rules! table_row {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident<$lt:lifetime> {
            $( $(#[$flag:ident])* $field:ident : $ty:ident ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis struct $name<$lt> {
            $( $vis $field: $crate::cell::Cell<$lt>, )+
        }

        $crate::row::table_row!(@columns $vis $name<'_> { $( $(#[$flag])* $field : $ty ),+ });

        impl $name<'_> {
            /// Puts the row in `buffer`, in place of the row it held.
            $vis fn write_to(self, buffer: &mut $crate::cell::CellBuffer) {
                buffer.clear();
                $( buffer.push(self.$field); )+
            }
        }

        impl From<$name<'_>> for $crate::table::Row {
            fn from(row: $name<'_>) -> Self {
                vec![$(row.$field.into_value()),+]
            }
        }
    };
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $( $(#[$flag:ident])* $field:ident : $ty:ident ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis struct $name {
            $( $vis $field: $crate::table::Value, )+
        }

        $crate::row::table_row!(@columns $vis $name { $( $(#[$flag])* $field : $ty ),+ });

        impl From<$name> for $crate::table::Row {
            fn from(row: $name) -> Self {
                vec![$(row.$field),+]
            }
        }
    };
    (@columns $vis:vis $ty_name:ty { $( $(#[$flag:ident])* $field:ident : $ty:ident ),+ }) => {
        impl $ty_name {
            /// The table's columns, in the order of the row's fields.
            $vis const COLUMNS: &'static [$crate::table::Column] = &[
                $(
                    $crate::table::Column::new(
                        $crate::row::column_name(stringify!($field)),
                        $crate::table::ColumnType::$ty,
                    ) $(.$flag())*
                ),+
            ];
        }

        const _: () = {
            #[allow(non_camel_case_types, dead_code)]
            enum Index {
                $($field),+
            }

            /// Each column's index in the row, named as the column.
            #[allow(non_upper_case_globals, dead_code)]
            impl $ty_name {
                $( $vis const $field: usize = Index::$field as usize; )+
            }
        };
    };
}

pub(crate) use table_row;

#[cfg(test)]
mod tests {
    use crate::table::{ColumnType, Row, Value, schema};

    table_row! {
        struct Sample {
            pid: BigInt,
            #[hidden]
            time: BigInt,
            r#type: Text,
            count: Integer,
        }
    }

    #[test]
    fn columns_indexes_and_cells_follow_the_field_order() {
        let names: Vec<_> = Sample::COLUMNS.iter().map(|c| c.name).collect();
        assert_eq!(names, ["pid", "time", "type", "count"]);
        let types: Vec<_> = Sample::COLUMNS.iter().map(|c| c.ty).collect();
        assert_eq!(
            types,
            [
                ColumnType::BigInt,
                ColumnType::BigInt,
                ColumnType::Text,
                ColumnType::Integer
            ]
        );
        assert_eq!(
            schema("sample", Sample::COLUMNS),
            "CREATE TABLE sample(`pid` BIGINT, `time` BIGINT HIDDEN, `type` TEXT, `count` INTEGER)"
        );
        assert_eq!(
            [Sample::pid, Sample::time, Sample::r#type, Sample::count],
            [0, 1, 2, 3]
        );
        // Written in another order than declared: the row still follows the declaration.
        let row = Row::from(Sample {
            count: 7.into(),
            r#type: "exec".into(),
            time: Value::Null,
            pid: 42.into(),
        });
        assert_eq!(
            row,
            vec![
                Value::Int(42),
                Value::Null,
                Value::from("exec"),
                Value::Int(7)
            ]
        );
    }
}
