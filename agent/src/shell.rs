//! The interactive shell: SQL with line editing and history, and osquery's dot commands.

use std::{io::Write as _, path::PathBuf};

use rustyline::{DefaultEditor, error::ReadlineError};

use crate::{cli::OutputMode, output, session::Session, sql};

const HELP: &str = "\
.help                 this text
.tables [pattern]     list tables (optionally those whose name contains pattern)
.schema [table]       show CREATE TABLE statements
.mode MODE            output as table, json, csv or line
.quit / .exit         leave the shell
SQL statements end with ';' and may span lines.
";

pub struct Shell {
    session: Session,
    mode: OutputMode,
    numerics: bool,
}

fn parse_mode(word: &str) -> Option<OutputMode> {
    Some(match word {
        "table" | "pretty" => OutputMode::Table,
        "json" => OutputMode::Json,
        "csv" => OutputMode::Csv,
        "line" => OutputMode::Line,
        _ => return None,
    })
}

/// Whether `sql` is one or more complete statements (SQLite's own test, quotes and all).
fn complete(sql: &str) -> bool {
    let Ok(text) = std::ffi::CString::new(sql) else {
        return true;
    };
    // SAFETY: a valid NUL-terminated string for the duration of the call.
    unsafe { rusqlite::ffi::sqlite3_complete(text.as_ptr()) != 0 }
}

enum Flow {
    Continue,
    Quit,
}

impl Shell {
    pub fn new(session: Session, mode: OutputMode, numerics: bool) -> Self {
        Self {
            session,
            mode,
            numerics,
        }
    }

    fn print(&self, text: &str) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }

    /// Runs SQL and prints its results; errors print SQLite's message. Returns false on error.
    pub fn execute(&self, text: &str) -> bool {
        match sql::run(&self.session.conn, text) {
            Ok(results) => {
                for result in results {
                    self.print(&output::render(&result, self.mode, self.numerics));
                }
                true
            }
            Err(error) => {
                eprintln!("Error: {}", sql::message(&error));
                false
            }
        }
    }

    fn dot_command(&mut self, line: &str) -> Flow {
        let mut words = line.split_whitespace();
        let command = words.next().unwrap_or_default();
        let argument = words.next();
        match command {
            ".quit" | ".exit" => return Flow::Quit,
            ".help" => self.print(HELP),
            ".tables" => {
                let mut names: Vec<&str> = self
                    .session
                    .tables
                    .iter()
                    .flat_map(|t| std::iter::once(t.name()).chain(t.aliases().iter().copied()))
                    .filter(|n| argument.is_none_or(|p| n.contains(p)))
                    .collect();
                names.sort_unstable();
                let text: String = names.iter().map(|n| format!("  => {n}\n")).collect();
                self.print(&text);
            }
            ".schema" => {
                let mut text = String::new();
                for table in &self.session.tables {
                    let names =
                        std::iter::once(table.name()).chain(table.aliases().iter().copied());
                    for name in names {
                        if argument.is_none_or(|a| a == name) {
                            text.push_str(&vigil_tables::table::schema(name, table.columns()));
                            text.push_str(";\n");
                        }
                    }
                }
                if text.is_empty() {
                    eprintln!("Error: no table named {}", argument.unwrap_or_default());
                } else {
                    self.print(&text);
                }
            }
            ".mode" => match argument.and_then(parse_mode) {
                Some(mode) => self.mode = mode,
                None => eprintln!("Error: .mode takes one of: table, json, csv, line"),
            },
            other => eprintln!("Error: unknown command {other}; .help lists the commands"),
        }
        Flow::Continue
    }

    /// Reads lines until `.quit` or end of input.
    pub fn run(mut self, history_file: Option<PathBuf>) -> anyhow::Result<()> {
        let mut editor = DefaultEditor::new()?;
        let history = history_file.or_else(|| {
            std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".vigil_history"))
        });
        if let Some(path) = &history {
            let _ = editor.load_history(path);
        }
        let mut pending = String::new();
        loop {
            let prompt = if pending.is_empty() {
                "vigil> "
            } else {
                "   ...> "
            };
            let line = match editor.readline(prompt) {
                Ok(line) => line,
                Err(ReadlineError::Interrupted) => {
                    pending.clear();
                    continue;
                }
                Err(ReadlineError::Eof) => break,
                Err(error) => return Err(error.into()),
            };
            let trimmed = line.trim();
            if trimmed.is_empty() {
                continue;
            }
            let _ = editor.add_history_entry(trimmed);
            if pending.is_empty() && trimmed.starts_with('.') {
                if let Flow::Quit = self.dot_command(trimmed) {
                    break;
                }
                continue;
            }
            pending.push_str(&line);
            pending.push('\n');
            if complete(&pending) {
                self.execute(&pending);
                pending.clear();
            }
        }
        if !pending.trim().is_empty() {
            self.execute(&pending);
        }
        if let Some(path) = &history {
            let _ = editor.save_history(path);
        }
        self.session.close();
        Ok(())
    }
}
