//! `shell_history`: the commands in each local user's shell history files (`.bash_history`,
//! `.zsh_history`, ...; and macOS-style `.bash_sessions/*.history`), read line by line as the
//! rows are consumed, each file up to a byte cap. `uid = N` reads one user's files.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use vigil_formats::shell_history::HistoryParser;

use crate::row::table_row;
use crate::snapshot::linux::accounts::accounts;
use crate::snapshot::linux::bounded;
use crate::table::{Column, Row, Rows, ScanRequest, Table, TableError, Value};

const NAME: &str = "shell_history";
const HISTORY_FILES: &[&str] = &[
    ".bash_history",
    ".zsh_history",
    ".zhistory",
    ".history",
    ".sh_history",
    ".ash_history",
];
/// The most read of one history file (a long-lived zsh history is a few MiB).
const MAX_HISTORY_BYTES: u64 = 64 * 1024 * 1024;

table_row! {
    struct ShellHistoryRow {
        uid: BigInt,
        time: Integer,
        command: Text,
        history_file: Text,
    }
}

pub struct ShellHistory;

impl Table for ShellHistory {
    fn name(&self) -> &'static str {
        NAME
    }

    fn columns(&self) -> &'static [Column] {
        ShellHistoryRow::COLUMNS
    }

    fn pushdown_columns(&self) -> &'static [usize] {
        &[ShellHistoryRow::uid]
    }

    fn scan(&self, request: &ScanRequest) -> Result<Rows, TableError> {
        let files: Vec<(u32, PathBuf)> = accounts(NAME, request, ShellHistoryRow::uid)
            .into_iter()
            .flat_map(|account| {
                history_files(&account.home)
                    .into_iter()
                    .map(move |file| (account.uid, file))
            })
            .collect();
        Ok(Box::new(
            files
                .into_iter()
                .flat_map(|(uid, file)| file_rows(uid, file))
                .map(Ok),
        ))
    }
}

fn history_files(home: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = HISTORY_FILES
        .iter()
        .map(|name| home.join(name))
        .filter(|path| path.is_file())
        .collect();
    files.extend(
        bounded::list_dir(NAME, &home.join(".bash_sessions"), bounded::MAX_DIR_ENTRIES)
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "history")),
    );
    files
}

/// The rows of one file, parsed as they are pulled.
fn file_rows(uid: u32, file: PathBuf) -> impl Iterator<Item = Row> {
    let reader = match std::fs::File::open(&file) {
        Ok(f) => Some(BufReader::new(f.take(MAX_HISTORY_BYTES))),
        Err(error) => {
            tracing::warn!(table = NAME, path = %file.display(), %error, "cannot read");
            None
        }
    };
    let history_file = file.to_string_lossy().into_owned();
    let mut parser = HistoryParser::default();
    let mut lines = reader.map(|r| r.split(b'\n'));
    std::iter::from_fn(move || {
        let lines = lines.as_mut()?;
        loop {
            let line = lines.next()?.ok()?;
            let line = String::from_utf8_lossy(&line);
            if let Some(entry) = parser.line(line.trim_end_matches('\r')) {
                return Some(
                    ShellHistoryRow {
                        uid: Value::from(uid),
                        time: Value::Int(entry.time),
                        command: entry.command.into(),
                        history_file: history_file.clone().into(),
                    }
                    .into(),
                );
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::{Constraint, ConstraintOp};

    #[test]
    fn bash_and_zsh_files_of_a_home() {
        let home = tempfile::tempdir().expect("tempdir");
        std::fs::write(
            home.path().join(".bash_history"),
            "ls\n#1700000000\nmake test\n",
        )
        .expect("write");
        std::fs::write(
            home.path().join(".zsh_history"),
            ": 1700000100:0;git push\n",
        )
        .expect("write");
        std::fs::create_dir(home.path().join(".bash_sessions")).expect("mkdir");
        std::fs::write(home.path().join(".bash_sessions/A1.history"), "whoami").expect("write");
        let files = history_files(home.path());
        assert_eq!(files.len(), 3);
        let rows: Vec<Row> = files.into_iter().flat_map(|f| file_rows(1000, f)).collect();
        let commands: Vec<_> = rows.iter().map(|r| (r[1].clone(), r[2].clone())).collect();
        assert_eq!(
            commands,
            [
                (Value::Int(0), Value::from("ls")),
                (Value::Int(1_700_000_000), Value::from("make test")),
                (Value::Int(1_700_000_100), Value::from("git push")),
                (Value::Int(0), Value::from("whoami")),
            ]
        );
        assert!(rows.iter().all(|r| r[0] == Value::Int(1000)));
    }

    #[test]
    fn root_history_is_read_for_uid_0() {
        let request = ScanRequest {
            constraints: vec![Constraint {
                column: ShellHistoryRow::uid,
                op: ConstraintOp::Eq,
                value: Value::Int(0),
            }],
            ..ScanRequest::default()
        };
        let rows: Vec<Row> = ShellHistory
            .scan(&request)
            .expect("scan")
            .collect::<Result<_, _>>()
            .expect("rows");
        let expected: usize = HISTORY_FILES
            .iter()
            .filter_map(|f| std::fs::read(Path::new("/root").join(f)).ok())
            .map(|bytes| {
                vigil_formats::shell_history::entries(&String::from_utf8_lossy(&bytes)).len()
            })
            .sum();
        assert_eq!(rows.len(), expected);
        for row in &rows {
            assert_eq!(row[0], Value::Int(0));
            assert!(row[1].as_i64().is_some_and(|t| t >= 0));
            assert!(row[3].as_text().is_some_and(|f| f.starts_with("/root/")));
        }
    }
}
