//! osquery's `parent_directory` (`osquery/sql/sqlite_filesystem.cpp`).

use rusqlite::{Connection, functions::Context, types::ValueRef};

use super::{error, flags, value::TextBytes};

pub fn register(conn: &Connection) -> rusqlite::Result<()> {
    conn.create_scalar_function("parent_directory", 1, flags(), |ctx| parent_directory(ctx))
}

/// `parent_directory(path)`: the path up to its last `/`; NULL when it has none. Only text is
/// taken (osquery's rule), so NULL is an error too.
fn parent_directory(ctx: &Context<'_>) -> rusqlite::Result<Option<TextBytes>> {
    let ValueRef::Text(path) = ctx.get_raw(0) else {
        return Err(error(
            "parent_directory",
            "Invalid inputs to parent_directory, TEXT was expected",
        ));
    };
    let path = super::value::until_nul(path);
    Ok(path
        .iter()
        .rposition(|&b| b == b'/')
        .map(|slash| TextBytes(path[..slash].to_vec())))
}

#[cfg(test)]
mod tests {
    use rusqlite::types::Value;

    use crate::sql_functions::testing::{error_of, eval, text};

    #[test]
    fn parent_of_paths() {
        assert_eq!(eval("parent_directory('/etc/passwd')"), text("/etc"));
        assert_eq!(eval("parent_directory('/etc')"), text(""));
        assert_eq!(eval("parent_directory('passwd')"), Value::Null);
        assert!(error_of("parent_directory(NULL)").contains("TEXT was expected"));
        assert!(error_of("parent_directory(5)").contains("TEXT was expected"));
    }
}
