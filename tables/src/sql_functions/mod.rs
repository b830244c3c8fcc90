//! osquery's SQL functions and collations, with osquery's names, arguments and NULL behaviour
//! (from `osquery/sql/sqlite_*.cpp`), registered on every connection that has vigil's tables
//! ([`crate::register`]): fleet managers' and packs' queries call them.
//!
//! Each function takes its arguments the way SQLite's C API hands them to osquery's: as text
//! (`sqlite3_value_text`), integer (`sqlite3_value_int`) or real (`sqlite3_value_double`), with
//! SQLite's conversions ([`value`]). Bad input is an SQL error naming the function and the
//! problem, never a panic; regular expressions are bounded in size and run in linear time.

mod encoding;
mod filesystem;
mod hashing;
mod math;
mod network;
mod string;
mod value;
mod version;

use rusqlite::{Connection, functions::FunctionFlags};

/// Every function osquery registers on its connections, and vigil has (`carve`, `sleep`,
/// `community_id_v1` and the launch-command helpers are not here).
pub const NAMES: &[&str] = &[
    "split",
    "regex_split",
    "regex_match",
    "inet_aton",
    "concat",
    "concat_ws",
    "md5",
    "sha1",
    "sha256",
    "to_base64",
    "from_base64",
    "conditional_to_base64",
    "sqrt",
    "acos",
    "asin",
    "atan",
    "cos",
    "sin",
    "tan",
    "cot",
    "exp",
    "log",
    "log10",
    "power",
    "ceil",
    "floor",
    "degrees",
    "radians",
    "pi",
    "version_compare",
    "in_cidr_block",
    "parent_directory",
];

/// The flags osquery gives its functions: UTF-8 text, same result for the same arguments.
fn flags() -> FunctionFlags {
    FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC
}

/// Registers osquery's functions and collations on `conn`. A function of the same name and
/// number of arguments that SQLite has itself (`concat`, `concat_ws`) is replaced by osquery's.
pub fn register(conn: &Connection) -> rusqlite::Result<()> {
    string::register(conn)?;
    hashing::register(conn)?;
    encoding::register(conn)?;
    math::register(conn)?;
    version::register(conn)?;
    network::register(conn)?;
    filesystem::register(conn)?;
    Ok(())
}

/// An error of function `function`, as SQLite reports it (`function: message`).
fn error(function: &str, message: impl std::fmt::Display) -> rusqlite::Error {
    failure(format!("{function}: {message}"))
}

/// An error whose message already names the function.
fn failure(message: String) -> rusqlite::Error {
    rusqlite::Error::UserFunctionError(message.into())
}

#[cfg(test)]
pub(crate) mod testing {
    //! A connection with the functions, and one-value queries for the tests of each module.

    use rusqlite::{Connection, types::Value};

    pub fn conn() -> Connection {
        let conn = Connection::open_in_memory().expect("sqlite");
        super::register(&conn).expect("register the functions");
        conn
    }

    /// The one value `SELECT <expr>` gives.
    pub fn eval(expr: &str) -> Value {
        conn()
            .query_row(&format!("SELECT {expr}"), [], |row| row.get::<_, Value>(0))
            .unwrap_or_else(|e| panic!("SELECT {expr}: {e}"))
    }

    /// The error message of `SELECT <expr>`.
    pub fn error_of(expr: &str) -> String {
        match conn().query_row(&format!("SELECT {expr}"), [], |row| row.get::<_, Value>(0)) {
            Ok(value) => panic!("SELECT {expr} gave {value:?}, not an error"),
            Err(e) => e.to_string(),
        }
    }

    pub fn text(s: &str) -> Value {
        Value::Text(s.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::testing::conn;

    #[test]
    fn every_listed_function_is_registered() {
        let conn = conn();
        let mut statement = conn
            .prepare("SELECT DISTINCT name FROM pragma_function_list")
            .expect("function list");
        let names: Vec<String> = statement
            .query_map([], |row| row.get(0))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("names");
        for name in super::NAMES {
            assert!(names.iter().any(|n| n == name), "{name} is not registered");
        }
    }
}
