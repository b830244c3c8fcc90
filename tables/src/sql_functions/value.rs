//! Arguments read as SQLite's C API reads them for osquery's functions: `sqlite3_value_text`
//! (a number becomes its decimal text), `sqlite3_value_int` and `sqlite3_value_double` (text
//! becomes the number its leading characters spell, or 0).

use std::borrow::Cow;

use rusqlite::{
    ToSql,
    types::{ToSqlOutput, ValueRef},
};

/// The argument as text; `None` for NULL. A blob's bytes are taken as they are (SQLite does the
/// same), so the text may hold bytes that are not UTF-8.
pub fn bytes<'a>(value: &ValueRef<'a>) -> Option<Cow<'a, [u8]>> {
    match *value {
        ValueRef::Null => None,
        ValueRef::Text(t) | ValueRef::Blob(t) => Some(Cow::Borrowed(t)),
        ValueRef::Integer(i) => Some(Cow::Owned(i.to_string().into_bytes())),
        ValueRef::Real(r) => Some(Cow::Owned(real_text(r).into_bytes())),
    }
}

/// The argument as a string (bytes that are not UTF-8 replaced); `None` for NULL.
pub fn text<'a>(value: &ValueRef<'a>) -> Option<Cow<'a, str>> {
    Some(match bytes(value)? {
        Cow::Borrowed(b) => String::from_utf8_lossy(b),
        Cow::Owned(b) => Cow::Owned(String::from_utf8_lossy(&b).into_owned()),
    })
}

/// What `sqlite3_value_text` stops at: C strings end at the first NUL byte.
pub fn until_nul(bytes: &[u8]) -> &[u8] {
    bytes
        .iter()
        .position(|&b| b == 0)
        .map_or(bytes, |at| &bytes[..at])
}

/// A real as SQLite prints it: at most 15 significant digits, and `.0` on a whole number.
fn real_text(r: f64) -> String {
    if r.is_finite() && r == r.trunc() && r.abs() < 1e15 {
        return format!("{r:.1}");
    }
    let text = format!("{r:.14e}");
    // Rust gives `1.50000000000000e0`: let `f64` find the shortest form of the rounded value.
    text.parse::<f64>()
        .map_or(text, |rounded| format!("{rounded:?}"))
}

/// The argument as `sqlite3_value_int64` gives it: text by its leading integer, a real
/// truncated (saturating), NULL and blobs without digits 0.
pub fn int64(value: &ValueRef<'_>) -> i64 {
    match *value {
        ValueRef::Null => 0,
        ValueRef::Integer(i) => i,
        ValueRef::Real(r) => r as i64,
        ValueRef::Text(t) | ValueRef::Blob(t) => leading_integer(t),
    }
}

/// The argument as `sqlite3_value_int` gives it: [`int64`] cut to 32 bits, as C's cast does.
pub fn int32(value: &ValueRef<'_>) -> i32 {
    int64(value) as i32
}

/// The argument as `sqlite3_value_double` gives it: text by its leading number, NULL 0.
pub fn double(value: &ValueRef<'_>) -> f64 {
    match *value {
        ValueRef::Null => 0.0,
        ValueRef::Integer(i) => i as f64,
        ValueRef::Real(r) => r,
        ValueRef::Text(t) | ValueRef::Blob(t) => leading_number(t),
    }
}

fn leading_integer(bytes: &[u8]) -> i64 {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim_start();
    let end = text
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || (i == 0 && (c == '-' || c == '+'))))
        .map_or(text.len(), |(i, _)| i);
    let digits = &text[..end];
    digits.parse::<i64>().unwrap_or_else(|_| {
        // More digits than an i64 holds: SQLite saturates.
        match digits.bytes().filter(u8::is_ascii_digit).count() {
            0 => 0,
            _ if digits.starts_with('-') => i64::MIN,
            _ => i64::MAX,
        }
    })
}

fn leading_number(bytes: &[u8]) -> f64 {
    let text = String::from_utf8_lossy(bytes);
    let text = text.trim_start().as_bytes();
    let mut end = 0;
    let digits = |from: usize| {
        text[from..]
            .iter()
            .position(|b| !b.is_ascii_digit())
            .map_or(text.len(), |n| from + n)
    };
    if matches!(text.first(), Some(b'+' | b'-')) {
        end = 1;
    }
    let integer_end = digits(end);
    let mut mantissa_end = integer_end;
    if text.get(integer_end) == Some(&b'.') {
        mantissa_end = digits(integer_end + 1);
    }
    if mantissa_end == end || &text[end..mantissa_end] == b"." {
        return 0.0;
    }
    end = mantissa_end;
    if matches!(text.get(end), Some(b'e' | b'E')) {
        let mut exponent = end + 1;
        if matches!(text.get(exponent), Some(b'+' | b'-')) {
            exponent += 1;
        }
        let exponent_end = digits(exponent);
        if exponent_end > exponent {
            end = exponent_end;
        }
    }
    std::str::from_utf8(&text[..end])
        .ok()
        .and_then(|number| number.parse().ok())
        .unwrap_or(0.0)
}

/// A text result made of any bytes (osquery's functions may return text that is not UTF-8,
/// such as a decoded base64 blob); SQLite keeps it as TEXT, as osquery's `sqlite3_result_text`.
pub struct TextBytes(pub Vec<u8>);

impl ToSql for TextBytes {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(ValueRef::Text(&self.0)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_from_text_as_sqlite_reads_them() {
        assert_eq!(int64(&ValueRef::Text(b"12abc")), 12);
        assert_eq!(int64(&ValueRef::Text(b"  -7")), -7);
        assert_eq!(int64(&ValueRef::Text(b"1.9")), 1);
        assert_eq!(int64(&ValueRef::Text(b"abc")), 0);
        assert_eq!(int64(&ValueRef::Text(b"99999999999999999999")), i64::MAX);
        assert_eq!(int64(&ValueRef::Real(-2.7)), -2);
        assert_eq!(
            int32(&ValueRef::Integer(1 << 32)),
            0,
            "C's cast keeps 32 bits"
        );
        assert_eq!(double(&ValueRef::Text(b"2.5x")), 2.5);
        assert_eq!(double(&ValueRef::Text(b"-1e3")), -1000.0);
        assert_eq!(double(&ValueRef::Text(b"1e")), 1.0);
        assert_eq!(double(&ValueRef::Text(b".")), 0.0);
        assert_eq!(double(&ValueRef::Text(b"")), 0.0);
        assert_eq!(double(&ValueRef::Null), 0.0);
    }

    #[test]
    fn numbers_as_text_as_sqlite_prints_them() {
        assert_eq!(text(&ValueRef::Integer(-5)).as_deref(), Some("-5"));
        assert_eq!(text(&ValueRef::Real(2.0)).as_deref(), Some("2.0"));
        assert_eq!(text(&ValueRef::Real(0.1)).as_deref(), Some("0.1"));
        assert_eq!(
            text(&ValueRef::Real(1.0 / 3.0)).as_deref(),
            Some("0.333333333333333")
        );
        assert_eq!(text(&ValueRef::Null), None);
        assert_eq!(until_nul(b"ab\0cd"), b"ab");
    }
}
