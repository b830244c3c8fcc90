//! `rpm_packages`: the packages in the rpm database, read without librpm. rpm 4.16 and later
//! keep it in SQLite (`rpmdb.sqlite`, under `/var/lib/rpm` or `/usr/lib/sysimage/rpm`): each
//! package's header blob is read from its `Packages` table and decoded
//! ([`vigil_formats::rpm_header`]). The older BerkeleyDB database (`Packages`) and SUSE's ndb
//! (`Packages.db`) are not read: on such hosts the table has no rows and logs why. A host
//! without rpm has no rows.

use std::path::{Path, PathBuf};

use rusqlite::OpenFlags;
use vigil_formats::rpm_header;

use crate::row::table_row;
use crate::snapshot::linux::namespace::{NamespaceColumns, scan_in_namespaces};
use crate::snapshot::util::rows;
use crate::table::{Column, Row, Rows, ScanRequest, Table, TableError, Value};

const NAME: &str = "rpm_packages";
/// Where rpm keeps its database: the classic place, and the one Fedora 36+ and openSUSE use.
const DB_DIRS: &[&str] = &["/var/lib/rpm", "/usr/lib/sysimage/rpm"];
/// Bounds a database's packages (a large distribution install holds a few thousand).
const MAX_PACKAGES: usize = 200_000;

table_row! {
    struct RpmPackageRow {
        name: Text,
        version: Text,
        release: Text,
        source: Text,
        size: BigInt,
        sha1: Text,
        arch: Text,
        epoch: Integer,
        install_time: Integer,
        vendor: Text,
        package_group: Text,
        #[hidden]
        pid_with_namespace: Integer,
        #[hidden]
        mount_namespace_id: Text,
    }
}

const NAMESPACE: NamespaceColumns = NamespaceColumns {
    pid_with_namespace: RpmPackageRow::pid_with_namespace,
    mount_namespace_id: Some(RpmPackageRow::mount_namespace_id),
};

pub struct RpmPackages;

impl Table for RpmPackages {
    fn name(&self) -> &'static str {
        NAME
    }

    fn columns(&self) -> &'static [Column] {
        RpmPackageRow::COLUMNS
    }

    fn pushdown_columns(&self) -> &'static [usize] {
        &[RpmPackageRow::name, RpmPackageRow::pid_with_namespace]
    }

    fn scan(&self, request: &ScanRequest) -> Result<Rows, TableError> {
        let names: Vec<String> = request
            .equal_values(RpmPackageRow::name)
            .filter_map(Value::as_text)
            .map(str::to_owned)
            .collect();
        Ok(rows(scan_in_namespaces(NAME, request, NAMESPACE, || {
            let dirs: Vec<PathBuf> = DB_DIRS.iter().map(PathBuf::from).collect();
            let mut out = read(&dirs);
            if !names.is_empty() {
                out.retain(|row| {
                    row[RpmPackageRow::name]
                        .as_text()
                        .is_some_and(|n| names.iter().any(|w| w == n))
                });
            }
            Ok(out)
        })?))
    }
}

/// The packages of the first directory holding an rpm database.
fn read(dirs: &[PathBuf]) -> Vec<Row> {
    for dir in dirs {
        let sqlite = dir.join("rpmdb.sqlite");
        if sqlite.is_file() {
            return match read_sqlite(&sqlite) {
                Ok(rows) => rows,
                Err(error) => {
                    tracing::warn!(table = NAME, path = %sqlite.display(), %error, "cannot read the rpm database");
                    Vec::new()
                }
            };
        }
        for (file, kind) in [("Packages", "BerkeleyDB"), ("Packages.db", "ndb")] {
            if dir.join(file).is_file() {
                tracing::warn!(
                    table = NAME,
                    path = %dir.join(file).display(),
                    "this rpm database is in {kind} format, which vigil does not read (only rpm's \
                     SQLite database, rpm 4.16 and later): rpm_packages has no rows; \
                     `rpmdb --rebuilddb --define '_db_backend sqlite'` converts it"
                );
                return Vec::new();
            }
        }
    }
    Vec::new()
}

fn read_sqlite(path: &Path) -> rusqlite::Result<Vec<Row>> {
    // Read-only, and through SQLite's own locking, so a concurrent rpm transaction is never
    // seen half done.
    let db = rusqlite::Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    let mut statement = db.prepare("SELECT blob FROM Packages")?;
    let mut blobs = statement.query([])?;
    let mut out = Vec::new();
    let mut undecoded = 0usize;
    while let Some(row) = blobs.next()? {
        if out.len() >= MAX_PACKAGES {
            tracing::warn!(
                table = NAME,
                max_packages = MAX_PACKAGES,
                "more packages than the table reads: the rest are left out"
            );
            break;
        }
        let blob: Vec<u8> = row.get(0)?;
        match rpm_header::package(&blob) {
            Some(package) => out.push(package_row(package)),
            None => undecoded += 1,
        }
    }
    if undecoded > 0 {
        tracing::warn!(
            table = NAME,
            undecoded,
            "rpm database entries that are not package headers were skipped"
        );
    }
    Ok(out)
}

fn package_row(p: rpm_header::RpmPackage) -> Row {
    let number = |n: Option<i64>| n.map_or(Value::Null, Value::Int);
    RpmPackageRow {
        name: p.name.into(),
        version: p.version.into(),
        release: p.release.into(),
        source: p.source.into(),
        size: number(p.size),
        sha1: p.sha1.into(),
        arch: p.arch.into(),
        epoch: number(p.epoch),
        install_time: number(p.install_time),
        vendor: p.vendor.into(),
        package_group: p.package_group.into(),
        pid_with_namespace: Value::Int(0),
        mount_namespace_id: Value::from(""),
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigil_formats::rpm_header::build;

    /// An rpmdb.sqlite laid out as rpm 4.16+ creates it.
    fn rpmdb(dir: &Path, blobs: &[Vec<u8>]) {
        let db = rusqlite::Connection::open(dir.join("rpmdb.sqlite")).expect("create");
        db.execute_batch(
            "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL);
             CREATE TABLE Name (key TEXT NOT NULL, hnum INTEGER NOT NULL, idx INTEGER NOT NULL,
                                FOREIGN KEY (hnum) REFERENCES Packages(hnum));",
        )
        .expect("schema");
        for blob in blobs {
            db.execute("INSERT INTO Packages (blob) VALUES (?1)", [blob])
                .expect("insert");
        }
    }

    #[test]
    fn packages_of_a_sqlite_rpm_database() {
        let dir = tempfile::tempdir().expect("tempdir");
        rpmdb(
            dir.path(),
            &[
                build::package_blob("bash", "5.1.8", "9.el9"),
                b"not a header".to_vec(),
                build::package_blob("glibc", "2.34", "100.el9"),
            ],
        );
        let rows = read(&[dir.path().join("missing"), dir.path().to_owned()]);
        assert_eq!(rows.len(), 2);
        let bash = &rows[0];
        assert_eq!(bash[RpmPackageRow::name], Value::from("bash"));
        assert_eq!(bash[RpmPackageRow::version], Value::from("5.1.8"));
        assert_eq!(bash[RpmPackageRow::release], Value::from("9.el9"));
        assert_eq!(
            bash[RpmPackageRow::source],
            Value::from("bash-5.1.8-9.el9.src.rpm")
        );
        assert_eq!(bash[RpmPackageRow::arch], Value::from("x86_64"));
        assert_eq!(bash[RpmPackageRow::epoch], Value::Int(1));
        assert_eq!(bash[RpmPackageRow::install_time], Value::Int(1_700_000_000));
        assert_eq!(bash[RpmPackageRow::size], Value::Int(7_340_032));
        assert_eq!(
            bash[RpmPackageRow::package_group],
            Value::from("Unspecified")
        );
        assert!(
            bash[RpmPackageRow::sha1]
                .as_text()
                .is_some_and(|s| s.len() == 40)
        );
        assert_eq!(rows[1][RpmPackageRow::name], Value::from("glibc"));
    }

    #[test]
    fn a_berkeley_db_or_no_database_is_no_rows() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(read(&[dir.path().to_owned()]).is_empty());
        std::fs::write(dir.path().join("Packages"), [0u8; 4096]).expect("write");
        assert!(read(&[dir.path().to_owned()]).is_empty());
    }

    #[test]
    fn this_debian_host_has_no_rpm_rows_and_no_error() {
        let rows: Vec<Row> = RpmPackages
            .scan(&ScanRequest::default())
            .expect("scan")
            .collect::<Result<_, _>>()
            .expect("rows");
        if DB_DIRS
            .iter()
            .all(|d| !Path::new(d).join("rpmdb.sqlite").exists())
        {
            assert!(rows.is_empty());
        }
    }
}
