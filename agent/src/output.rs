//! Printing result sets: table (osquery's pretty mode), JSON, CSV and line.

use std::fmt::Write as _;

use crate::{
    cli::OutputMode,
    sql::{Cell, ResultSet},
};

pub fn render(result: &ResultSet, mode: OutputMode, numerics: bool) -> String {
    match mode {
        OutputMode::Table => table(result),
        OutputMode::Json => json(result, numerics),
        OutputMode::Csv => csv(result),
        OutputMode::Line => line(result),
    }
}

fn table(result: &ResultSet) -> String {
    let texts: Vec<Vec<String>> = result
        .rows
        .iter()
        .map(|row| row.iter().map(Cell::text).collect())
        .collect();
    let mut widths: Vec<usize> = result.columns.iter().map(|c| c.chars().count()).collect();
    for row in &texts {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let rule = {
        let mut s = String::from("+");
        for w in &widths {
            s.push_str(&"-".repeat(w + 2));
            s.push('+');
        }
        s.push('\n');
        s
    };
    let line = |cells: &[String]| {
        let mut s = String::from("|");
        for (cell, w) in cells.iter().zip(&widths) {
            let pad = w - cell.chars().count();
            let _ = write!(s, " {cell}{} |", " ".repeat(pad));
        }
        s.push('\n');
        s
    };
    let mut out = rule.clone();
    out.push_str(&line(&result.columns));
    out.push_str(&rule);
    if !texts.is_empty() {
        for row in &texts {
            out.push_str(&line(row));
        }
        out.push_str(&rule);
    }
    out
}

fn json(result: &ResultSet, numerics: bool) -> String {
    let rows: Vec<serde_json::Value> = result
        .rows
        .iter()
        .map(|row| {
            let object: serde_json::Map<String, serde_json::Value> = result
                .columns
                .iter()
                .zip(row)
                .map(|(name, cell)| {
                    let value = match cell {
                        Cell::Integer(i) if numerics => serde_json::Value::from(*i),
                        Cell::Real(r) if numerics => serde_json::Value::from(*r),
                        other => serde_json::Value::from(other.text()),
                    };
                    (name.clone(), value)
                })
                .collect();
            serde_json::Value::Object(object)
        })
        .collect();
    let mut out = serde_json::to_string_pretty(&rows).unwrap_or_else(|_| "[]".to_owned());
    out.push('\n');
    out
}

fn csv_field(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

fn csv(result: &ResultSet) -> String {
    let mut out = String::new();
    let header: Vec<String> = result.columns.iter().map(|c| csv_field(c)).collect();
    out.push_str(&header.join(","));
    out.push('\n');
    for row in &result.rows {
        let fields: Vec<String> = row.iter().map(|c| csv_field(&c.text())).collect();
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    out
}

fn line(result: &ResultSet) -> String {
    let width = result
        .columns
        .iter()
        .map(|c| c.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (i, row) in result.rows.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        for (name, cell) in result.columns.iter().zip(row) {
            let _ = writeln!(out, "{name:>width$} = {}", cell.text());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> ResultSet {
        ResultSet {
            columns: vec!["pid".into(), "cmdline".into()],
            rows: vec![
                vec![Cell::Integer(1), Cell::Text("init".into())],
                vec![Cell::Integer(42), Cell::Text("sh -c \"a,b\"".into())],
            ],
        }
    }

    #[test]
    fn table_mode_aligns_columns_in_a_box() {
        let text = render(&sample(), OutputMode::Table, false);
        let expected = "\
+-----+-------------+
| pid | cmdline     |
+-----+-------------+
| 1   | init        |
| 42  | sh -c \"a,b\" |
+-----+-------------+
";
        assert_eq!(text, expected);
    }

    #[test]
    fn json_mode_uses_strings_unless_numerics() {
        let strings: serde_json::Value =
            serde_json::from_str(&render(&sample(), OutputMode::Json, false)).expect("json");
        assert_eq!(strings[1]["pid"], "42");
        let numbers: serde_json::Value =
            serde_json::from_str(&render(&sample(), OutputMode::Json, true)).expect("json");
        assert_eq!(numbers[1]["pid"], 42);
    }

    #[test]
    fn csv_mode_quotes_what_needs_quoting() {
        assert_eq!(
            render(&sample(), OutputMode::Csv, false),
            "pid,cmdline\n1,init\n42,\"sh -c \"\"a,b\"\"\"\n"
        );
    }

    #[test]
    fn line_mode_right_aligns_names() {
        assert_eq!(
            render(&sample(), OutputMode::Line, false),
            "    pid = 1\ncmdline = init\n\n    pid = 42\ncmdline = sh -c \"a,b\"\n"
        );
    }
}
