//! `portage_packages`: Gentoo's installed packages, from portage's database
//! (`/var/db/pkg/<category>/<name>-<version>/`), marked when the world file
//! (`/var/lib/portage/world`) names them. Other distributions have no rows.

use std::collections::HashSet;
use std::path::Path;

use crate::row::table_row;
use crate::snapshot::linux::bounded;
use crate::snapshot::util::{read_trimmed, rows};
use crate::table::{Column, Row, Rows, ScanRequest, Table, TableError, Value};

const NAME: &str = "portage_packages";
const PKG_DB: &str = "/var/db/pkg";
const WORLD: &str = "/var/lib/portage/world";

table_row! {
    struct PortagePackageRow {
        package: Text,
        version: Text,
        slot: Text,
        build_time: BigInt,
        repository: Text,
        eapi: BigInt,
        size: BigInt,
        world: Integer,
    }
}

pub struct PortagePackages;

impl Table for PortagePackages {
    fn name(&self) -> &'static str {
        NAME
    }

    fn columns(&self) -> &'static [Column] {
        PortagePackageRow::COLUMNS
    }

    fn scan(&self, _request: &ScanRequest) -> Result<Rows, TableError> {
        Ok(rows(read(Path::new(PKG_DB), Path::new(WORLD))))
    }
}

fn read(db: &Path, world_file: &Path) -> Vec<Row> {
    let world: HashSet<String> = bounded::read_text(NAME, world_file, bounded::MAX_FILE_BYTES)
        .unwrap_or_default()
        .lines()
        .map(|l| l.trim().to_owned())
        .filter(|l| !l.is_empty())
        .collect();
    let mut out = Vec::new();
    for category in bounded::list_dir(NAME, db, bounded::MAX_DIR_ENTRIES) {
        let Some(category_name) = category
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
        else {
            continue;
        };
        for entry in bounded::list_dir(NAME, &category, bounded::MAX_DIR_ENTRIES) {
            let Some(dir_name) = entry.file_name().map(|n| n.to_string_lossy().into_owned()) else {
                continue;
            };
            let Some((name, version)) = split_name_version(&dir_name) else {
                continue;
            };
            let package = format!("{category_name}/{name}");
            let number = |file: &str| {
                read_trimmed(entry.join(file))
                    .and_then(|v| v.parse::<i64>().ok())
                    .map_or(Value::Null, Value::Int)
            };
            out.push(
                PortagePackageRow {
                    world: Value::from(world.contains(&package)),
                    package: package.into(),
                    version: version.into(),
                    slot: read_trimmed(entry.join("SLOT")).into(),
                    build_time: number("BUILD_TIME"),
                    repository: read_trimmed(entry.join("repository")).into(),
                    eapi: number("EAPI"),
                    size: number("SIZE"),
                }
                .into(),
            );
        }
    }
    out
}

/// `openssl-3.0.13-r1` → (`openssl`, `3.0.13-r1`): the version starts at the first `-`
/// followed by a digit.
fn split_name_version(dir_name: &str) -> Option<(&str, &str)> {
    let bytes = dir_name.as_bytes();
    let at = (0..bytes.len()).find(|&i| {
        bytes.get(i) == Some(&b'-') && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) && i > 0
    })?;
    Some((dir_name.get(..at)?, dir_name.get(at + 1..)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_portage_database() {
        let root = tempfile::tempdir().expect("tempdir");
        let db = root.path().join("pkg");
        let openssl = db.join("dev-libs/openssl-3.0.13-r1");
        std::fs::create_dir_all(&openssl).expect("mkdir");
        for (file, value) in [
            ("SLOT", "0/3\n"),
            ("BUILD_TIME", "1712345678\n"),
            ("repository", "gentoo\n"),
            ("EAPI", "8\n"),
            ("SIZE", "8123456\n"),
        ] {
            std::fs::write(openssl.join(file), value).expect("write");
        }
        std::fs::create_dir_all(db.join("x11-apps/font-util-1.4.1")).expect("mkdir");
        let world = root.path().join("world");
        std::fs::write(&world, "dev-libs/openssl\napp-editors/vim\n").expect("write");
        let rows = read(&db, &world);
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[0],
            vec![
                Value::from("dev-libs/openssl"),
                Value::from("3.0.13-r1"),
                Value::from("0/3"),
                Value::Int(1_712_345_678),
                Value::from("gentoo"),
                Value::Int(8),
                Value::Int(8_123_456),
                Value::Int(1),
            ]
        );
        assert_eq!(rows[1][0], Value::from("x11-apps/font-util"));
        assert_eq!(rows[1][7], Value::Int(0));
        assert_eq!(split_name_version("nodigits"), None);
        assert_eq!(
            read(&root.path().join("missing"), &world),
            Vec::<Row>::new()
        );
    }
}
