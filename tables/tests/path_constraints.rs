//! `file` and `hash` read the paths a query names, also when it names them on both sides of an
//! `OR` (`path LIKE a OR path LIKE b`, `path LIKE a OR path = b`, `directory = x OR path = y`):
//! SQLite then scans the table once per side, and every row of every side comes back once.

#![cfg(unix)]

use std::{path::Path, sync::Arc};

use rusqlite::Connection;
use vigil_tables::{
    Table,
    snapshot::{file::File, hash::Hash},
};

/// A directory with `a.txt`, `b.txt`, `c.log` and `sub/d.txt`.
fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("dir");
    for name in ["a.txt", "b.txt", "c.log"] {
        std::fs::write(dir.path().join(name), name).expect("file");
    }
    std::fs::create_dir(dir.path().join("sub")).expect("sub");
    std::fs::write(dir.path().join("sub/d.txt"), "d").expect("file");
    dir
}

fn conn() -> Connection {
    let conn = Connection::open_in_memory().expect("sqlite");
    let tables: Vec<Arc<dyn Table>> = vec![Arc::new(File), Arc::new(Hash)];
    vigil_tables::register(&conn, &tables).expect("register");
    conn
}

/// The file names (relative to `dir`) `SELECT path FROM <table> WHERE <filter>` returns, in
/// the order returned, `{dir}` in `filter` standing for the directory.
fn names(table: &str, dir: &Path, filter: &str) -> Vec<String> {
    let filter = filter.replace("{dir}", &dir.to_string_lossy());
    let conn = conn();
    let mut statement = conn
        .prepare(&format!("SELECT path FROM {table} WHERE {filter}"))
        .expect("prepare");
    let mut names: Vec<String> = statement
        .query_map([], |row| row.get::<_, String>(0))
        .unwrap_or_else(|e| panic!("{filter}: {e}"))
        .collect::<Result<Vec<_>, _>>()
        .unwrap_or_else(|e| panic!("{table} WHERE {filter}: {e}"))
        .into_iter()
        .map(|path| {
            Path::new(&path)
                .strip_prefix(dir)
                .map_or(path.clone(), |p| p.to_string_lossy().into_owned())
        })
        .collect();
    let all = names.len();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), all, "a row came back twice: {filter}");
    names
}

#[test]
fn like_or_like() {
    let dir = tree();
    for table in ["file", "hash"] {
        assert_eq!(
            names(
                table,
                dir.path(),
                "path LIKE '{dir}/%.txt' OR path LIKE '{dir}/%.log'"
            ),
            ["a.txt", "b.txt", "c.log"],
            "{table}"
        );
        assert_eq!(
            names(
                table,
                dir.path(),
                "path LIKE '{dir}/a%' OR path LIKE '{dir}/sub/%'"
            ),
            ["a.txt", "sub/d.txt"],
            "{table}: patterns with different prefixes"
        );
    }
}

#[test]
fn like_or_equal_in_either_order() {
    let dir = tree();
    for table in ["file", "hash"] {
        for filter in [
            "path LIKE '{dir}/%.txt' OR path = '{dir}/c.log'",
            "path = '{dir}/c.log' OR path LIKE '{dir}/%.txt'",
        ] {
            assert_eq!(
                names(table, dir.path(), filter),
                ["a.txt", "b.txt", "c.log"],
                "{table}: {filter}"
            );
        }
    }
}

#[test]
fn directory_or_path() {
    let dir = tree();
    assert_eq!(
        names(
            "file",
            dir.path(),
            "directory = '{dir}/sub' OR path = '{dir}/c.log'"
        ),
        ["c.log", "sub/d.txt"]
    );
    assert_eq!(
        names(
            "file",
            dir.path(),
            "path = '{dir}/c.log' OR directory = '{dir}'"
        ),
        ["a.txt", "b.txt", "c.log", "sub"]
    );
    assert_eq!(
        names(
            "hash",
            dir.path(),
            "directory = '{dir}' OR path = '{dir}/sub/d.txt'"
        ),
        ["a.txt", "b.txt", "c.log", "sub/d.txt"],
        "hash has no row for a directory"
    );
}

/// osquery gives the directory as the query named it, so `directory = '/dev/'` (a trailing
/// slash, as osquery's hardware-monitoring pack writes it) keeps its rows.
#[test]
fn a_directory_with_a_trailing_slash_lists_it() {
    let dir = tree();
    assert_eq!(
        names("file", dir.path(), "directory = '{dir}/sub/'"),
        ["sub/d.txt"]
    );
    assert_eq!(
        names("hash", dir.path(), "directory = '{dir}/sub/'"),
        ["sub/d.txt"]
    );
}

#[test]
fn a_file_named_by_both_sides_comes_back_once() {
    let dir = tree();
    for table in ["file", "hash"] {
        assert_eq!(
            names(
                table,
                dir.path(),
                "path LIKE '{dir}/%.txt' OR path = '{dir}/a.txt'"
            ),
            ["a.txt", "b.txt"],
            "{table}"
        );
        assert_eq!(
            names(
                table,
                dir.path(),
                "path = '{dir}/a.txt' OR path = '{dir}/a.txt'"
            ),
            ["a.txt"],
            "{table}"
        );
    }
}

#[test]
fn and_with_or_inside() {
    let dir = tree();
    assert_eq!(
        names(
            "file",
            dir.path(),
            "directory = '{dir}' AND (filename LIKE '%.txt' OR filename LIKE '%.log')"
        ),
        ["a.txt", "b.txt", "c.log"]
    );
}

#[test]
fn without_a_path_or_directory_on_every_side_it_says_what_it_needs() {
    let dir = tree();
    let conn = conn();
    for filter in [
        "1",
        "size > 0",
        "path LIKE '{dir}/%.txt' OR size > 0",
        "filename = 'a.txt'",
    ] {
        let sql = format!(
            "SELECT path FROM file WHERE {}",
            filter.replace("{dir}", &dir.path().to_string_lossy())
        );
        let error = conn
            .prepare(&sql)
            .and_then(|mut s| {
                s.query_map([], |r| r.get::<_, String>(0))?
                    .collect::<Result<Vec<_>, _>>()
            })
            .expect_err(&sql)
            .to_string();
        assert!(
            error.contains("file needs a path or directory"),
            "{sql}: {error}"
        );
        assert!(error.contains("WHERE path = "), "{sql}: {error}");
    }
}
