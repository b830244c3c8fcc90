//! vigil's SQL is read-only. SQLite asks this allow-list about every action a statement would
//! take, while it prepares the statement; anything not listed is refused. vigil runs as root,
//! and its SQL comes from the shell, `vigil query`, configs and a TLS server: an `ATTACH` (what
//! `VACUUM INTO` does too) would create or write any file on the host, so it is never allowed
//! (osquery's rule, in `osquery/sql/sqlite_util.h`). osquery also lets statements create and
//! drop tables, views and virtual tables, insert, update, delete and use transactions; vigil's
//! tables are all read-only, so none of that is allowed here.

use rusqlite::hooks::AuthAction;

/// Pragmas that only describe the schema and the SQL engine, as osquery allows them (minus
/// `journal_mode` and `case_sensitive_like`, which change the connection), each with whether
/// it takes an argument (a table name).
const READ_ONLY_PRAGMAS: &[(&str, bool)] = &[
    ("table_info", true),
    ("table_xinfo", true),
    ("function_list", false),
    ("collation_list", false),
    ("module_list", false),
    ("pragma_list", false),
];

/// Functions SQLite has that reach outside the connection: refused even though calling
/// functions is allowed (`load_extension` is off in SQLite's defaults; this keeps it off).
const REFUSED_FUNCTIONS: &[&str] = &["load_extension"];

/// The schema's own tables. A schema change first asks to write one of them, then asks for
/// itself (`CREATE TABLE t`), and SQLite stops at the first refusal: let the first pass so the
/// refusal names the statement. Writing them directly is refused by SQLite itself (they are
/// read-only without `PRAGMA writable_schema`, which is refused here, and in defensive mode).
const SCHEMA_TABLES: &[&str] = &[
    "sqlite_master",
    "sqlite_temp_master",
    "sqlite_schema",
    "sqlite_temp_schema",
];

/// What `action` is, in words, when vigil refuses it; `None` when it is allowed.
pub fn refusal(action: &AuthAction<'_>) -> Option<String> {
    Some(match *action {
        AuthAction::Select | AuthAction::Read { .. } | AuthAction::Recursive => return None,
        AuthAction::Insert { table_name }
        | AuthAction::Update { table_name, .. }
        | AuthAction::Delete { table_name }
            if SCHEMA_TABLES.contains(&table_name) =>
        {
            return None;
        }
        AuthAction::Function { function_name } => {
            if REFUSED_FUNCTIONS
                .iter()
                .any(|f| f.eq_ignore_ascii_case(function_name))
            {
                format!("the function {function_name}()")
            } else {
                return None;
            }
        }
        AuthAction::Pragma {
            pragma_name,
            pragma_value,
        } => {
            let known = READ_ONLY_PRAGMAS
                .iter()
                .find(|(name, _)| name.eq_ignore_ascii_case(pragma_name));
            match (known, pragma_value) {
                (Some(_), None) | (Some((_, true)), Some(_)) => return None,
                (_, Some(value)) => format!("PRAGMA {pragma_name} = {value}"),
                (None, None) => format!("PRAGMA {pragma_name}"),
            }
        }
        AuthAction::Attach { filename } => format!(
            "ATTACH of the database file '{filename}' (ATTACH and VACUUM create and write files)"
        ),
        AuthAction::Detach { database_name } => format!("DETACH of {database_name}"),
        AuthAction::CreateTable { table_name } => format!("CREATE TABLE {table_name}"),
        AuthAction::CreateTempTable { table_name } => format!("CREATE TEMP TABLE {table_name}"),
        AuthAction::CreateView { view_name } => format!("CREATE VIEW {view_name}"),
        AuthAction::CreateTempView { view_name } => format!("CREATE TEMP VIEW {view_name}"),
        AuthAction::CreateIndex { index_name, .. }
        | AuthAction::CreateTempIndex { index_name, .. } => format!("CREATE INDEX {index_name}"),
        AuthAction::CreateTrigger { trigger_name, .. }
        | AuthAction::CreateTempTrigger { trigger_name, .. } => {
            format!("CREATE TRIGGER {trigger_name}")
        }
        AuthAction::CreateVtable {
            table_name,
            module_name,
        } => format!("CREATE VIRTUAL TABLE {table_name} USING {module_name}"),
        AuthAction::DropTable { table_name } | AuthAction::DropTempTable { table_name } => {
            format!("DROP TABLE {table_name}")
        }
        AuthAction::DropView { view_name } | AuthAction::DropTempView { view_name } => {
            format!("DROP VIEW {view_name}")
        }
        AuthAction::DropIndex { index_name, .. } | AuthAction::DropTempIndex { index_name, .. } => {
            format!("DROP INDEX {index_name}")
        }
        AuthAction::DropTrigger { trigger_name, .. }
        | AuthAction::DropTempTrigger { trigger_name, .. } => {
            format!("DROP TRIGGER {trigger_name}")
        }
        AuthAction::DropVtable { table_name, .. } => format!("DROP TABLE {table_name}"),
        AuthAction::Insert { table_name } => format!("INSERT into {table_name}"),
        AuthAction::Update {
            table_name,
            column_name,
        } => format!("UPDATE of {table_name}.{column_name}"),
        AuthAction::Delete { table_name } => format!("DELETE from {table_name}"),
        AuthAction::AlterTable { table_name, .. } => format!("ALTER TABLE {table_name}"),
        AuthAction::Reindex { index_name } => format!("REINDEX {index_name}"),
        AuthAction::Analyze { table_name } => format!("ANALYZE {table_name}"),
        AuthAction::Transaction { .. } => "a transaction (BEGIN, COMMIT, ROLLBACK)".to_owned(),
        AuthAction::Savepoint { savepoint_name, .. } => format!("SAVEPOINT {savepoint_name}"),
        AuthAction::Unknown { code, arg1, arg2 } => format!(
            "SQLite action {code} ({}, {})",
            arg1.unwrap_or("-"),
            arg2.unwrap_or("-")
        ),
        // `AuthAction` may grow: whatever it grows into is refused until listed above.
        _ => format!("{action:?}"),
    })
}

#[cfg(test)]
mod tests {
    use rusqlite::hooks::TransactionOperation;

    use super::*;

    fn allowed(action: AuthAction<'_>) -> bool {
        refusal(&action).is_none()
    }

    #[test]
    fn reading_and_computing_are_allowed() {
        assert!(allowed(AuthAction::Select));
        assert!(allowed(AuthAction::Recursive));
        assert!(allowed(AuthAction::Read {
            table_name: "processes",
            column_name: "pid",
        }));
        for function_name in ["strftime", "json_extract", "group_concat", "printf"] {
            assert!(allowed(AuthAction::Function { function_name }));
        }
        assert!(allowed(AuthAction::Pragma {
            pragma_name: "table_info",
            pragma_value: Some("processes"),
        }));
        assert!(allowed(AuthAction::Pragma {
            pragma_name: "FUNCTION_LIST",
            pragma_value: None,
        }));
    }

    #[test]
    fn attaching_is_never_allowed() {
        let what = refusal(&AuthAction::Attach {
            filename: "/etc/cron.d/x",
        })
        .unwrap_or_default();
        assert!(what.contains("ATTACH"), "{what}");
        assert!(what.contains("/etc/cron.d/x"), "{what}");
        assert!(!allowed(AuthAction::Detach { database_name: "x" }));
    }

    #[test]
    fn every_write_and_schema_change_is_refused() {
        let refused = [
            AuthAction::CreateTable { table_name: "t" },
            AuthAction::CreateTempTable { table_name: "t" },
            AuthAction::CreateView { view_name: "v" },
            AuthAction::CreateTempView { view_name: "v" },
            AuthAction::CreateIndex {
                index_name: "i",
                table_name: "t",
            },
            AuthAction::CreateTrigger {
                trigger_name: "g",
                table_name: "t",
            },
            AuthAction::CreateVtable {
                table_name: "t",
                module_name: "processes",
            },
            AuthAction::DropTable { table_name: "t" },
            AuthAction::DropView { view_name: "v" },
            AuthAction::DropVtable {
                table_name: "t",
                module_name: "m",
            },
            AuthAction::Insert { table_name: "t" },
            AuthAction::Update {
                table_name: "t",
                column_name: "c",
            },
            AuthAction::Delete { table_name: "t" },
            AuthAction::AlterTable {
                database_name: "main",
                table_name: "t",
            },
            AuthAction::Reindex { index_name: "i" },
            AuthAction::Analyze { table_name: "t" },
            AuthAction::Transaction {
                operation: TransactionOperation::Begin,
            },
            AuthAction::Savepoint {
                operation: TransactionOperation::Begin,
                savepoint_name: "s",
            },
            AuthAction::Unknown {
                code: 99,
                arg1: None,
                arg2: None,
            },
        ];
        for action in refused {
            assert!(!allowed(action), "{action:?} must be refused");
        }
    }

    #[test]
    fn pragmas_are_read_only_and_listed() {
        let setting = refusal(&AuthAction::Pragma {
            pragma_name: "writable_schema",
            pragma_value: Some("1"),
        })
        .unwrap_or_default();
        assert_eq!(setting, "PRAGMA writable_schema = 1");
        assert!(!allowed(AuthAction::Pragma {
            pragma_name: "function_list",
            pragma_value: Some("1"),
        }));
        assert!(!allowed(AuthAction::Pragma {
            pragma_name: "journal_mode",
            pragma_value: None,
        }));
        assert!(!allowed(AuthAction::Pragma {
            pragma_name: "temp_store_directory",
            pragma_value: Some("'/etc'"),
        }));
    }

    #[test]
    fn load_extension_is_refused_in_any_case() {
        assert!(!allowed(AuthAction::Function {
            function_name: "LOAD_EXTENSION"
        }));
    }
}
