//! `apt_sources`: apt's binary repositories (`/etc/apt/sources.list`, `sources.list.d/*.list`
//! and deb822 `*.sources`), each described by the `Release` file apt last fetched for it. As in
//! osquery, a repository apt has no `Release` file for (never updated) is not listed.

use std::path::{Path, PathBuf};

use vigil_formats::apt::{self, AptSource};

use crate::row::table_row;
use crate::snapshot::linux::bounded;
use crate::snapshot::linux::namespace::{NamespaceColumns, scan_in_namespaces};
use crate::snapshot::util::rows;
use crate::table::{Column, Row, Rows, ScanRequest, Table, TableError, Value};

const NAME: &str = "apt_sources";
const SOURCES_LIST: &str = "/etc/apt/sources.list";
const SOURCES_DIR: &str = "/etc/apt/sources.list.d";
const LISTS_DIR: &str = "/var/lib/apt/lists";
/// A `Release` file is a few KiB, `InRelease` a little more; the hashes after the header are
/// not needed, and this is plenty for the header.
const MAX_RELEASE_BYTES: u64 = 1024 * 1024;

table_row! {
    struct AptSourceRow {
        name: Text,
        source: Text,
        base_uri: Text,
        release: Text,
        version: Text,
        maintainer: Text,
        components: Text,
        architectures: Text,
        #[hidden]
        pid_with_namespace: Integer,
    }
}

const NAMESPACE: NamespaceColumns = NamespaceColumns {
    pid_with_namespace: AptSourceRow::pid_with_namespace,
    mount_namespace_id: None,
};

pub struct AptSources;

impl Table for AptSources {
    fn name(&self) -> &'static str {
        NAME
    }

    fn columns(&self) -> &'static [Column] {
        AptSourceRow::COLUMNS
    }

    fn pushdown_columns(&self) -> &'static [usize] {
        &[AptSourceRow::pid_with_namespace]
    }

    fn scan(&self, request: &ScanRequest) -> Result<Rows, TableError> {
        Ok(rows(scan_in_namespaces(NAME, request, NAMESPACE, || {
            Ok(read(
                Path::new(SOURCES_LIST),
                Path::new(SOURCES_DIR),
                Path::new(LISTS_DIR),
            ))
        })?))
    }
}

fn read(sources_list: &Path, sources_dir: &Path, lists_dir: &Path) -> Vec<Row> {
    let mut files: Vec<PathBuf> = vec![sources_list.to_owned()];
    let in_dir = bounded::list_dir(NAME, sources_dir, bounded::MAX_DIR_ENTRIES);
    let with_extension = |ext: &str| -> Vec<PathBuf> {
        in_dir
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == ext))
            .cloned()
            .collect()
    };
    files.extend(with_extension("list"));
    let deb822 = with_extension("sources");

    let mut out = Vec::new();
    for (file, is_deb822) in files
        .iter()
        .map(|f| (f, false))
        .chain(deb822.iter().map(|f| (f, true)))
    {
        let Some(text) = bounded::read_text(NAME, file, bounded::MAX_FILE_BYTES) else {
            continue;
        };
        let sources: Vec<AptSource> = if is_deb822 {
            apt::deb822_sources(&text)
        } else {
            text.lines().filter_map(apt::list_line).collect()
        };
        for source in sources {
            if let Some(row) = row(file, source, lists_dir) {
                out.push(row);
            }
        }
    }
    out
}

fn row(file: &Path, source: AptSource, lists_dir: &Path) -> Option<Row> {
    let release = ["InRelease", "Release"].iter().find_map(|suffix| {
        let path = lists_dir.join(format!("{}_{suffix}", source.cache_prefix));
        bounded::read_text(NAME, &path, MAX_RELEASE_BYTES)
    })?;
    let release = apt::release(&release);
    Some(
        AptSourceRow {
            name: source.name.into(),
            source: file.to_string_lossy().into_owned().into(),
            base_uri: source.base_uri.into(),
            release: release.codename.into(),
            version: release.version.into(),
            maintainer: release.origin.into(),
            components: release.components.into(),
            architectures: release.architectures.into(),
            pid_with_namespace: Value::Int(0),
        }
        .into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_and_deb822_files_with_their_release_files() {
        let root = tempfile::tempdir().expect("tempdir");
        let dir = root.path().join("sources.list.d");
        let lists = root.path().join("lists");
        std::fs::create_dir_all(&dir).expect("mkdir");
        std::fs::create_dir_all(&lists).expect("mkdir");
        let list = root.path().join("sources.list");
        std::fs::write(
            &list,
            "deb http://deb.debian.org/debian bookworm main\n# deb http://gone/ x main\ndeb http://never.updated/debian sid main\n",
        )
        .expect("write");
        std::fs::write(
            dir.join("extra.sources"),
            "Types: deb\nURIs: https://pkg.example.com/apt/\nSuites: stable\nComponents: main\n",
        )
        .expect("write");
        std::fs::write(dir.join("ignored.txt"), "deb http://ignored/ x main\n").expect("write");
        std::fs::write(
            lists.join("deb.debian.org_debian_dists_bookworm_InRelease"),
            "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\nOrigin: Debian\nVersion: 12.11\nCodename: bookworm\nArchitectures: all amd64\nComponents: main contrib\n-----BEGIN PGP SIGNATURE-----\n",
        )
        .expect("write");
        std::fs::write(
            lists.join("pkg.example.com_apt_dists_stable_Release"),
            "Origin: Example\nCodename: stable\nArchitectures: amd64\nComponents: main\n",
        )
        .expect("write");

        let rows = read(&list, &dir, &lists);
        assert_eq!(rows.len(), 2, "{rows:?}");
        let debian = &rows[0];
        assert_eq!(
            debian[AptSourceRow::name],
            Value::from("deb.debian.org/debian bookworm")
        );
        assert_eq!(
            debian[AptSourceRow::source],
            Value::Text(list.to_string_lossy().into_owned())
        );
        assert_eq!(
            debian[AptSourceRow::base_uri],
            Value::from("http://deb.debian.org/debian")
        );
        assert_eq!(debian[AptSourceRow::release], Value::from("bookworm"));
        assert_eq!(debian[AptSourceRow::version], Value::from("12.11"));
        assert_eq!(debian[AptSourceRow::maintainer], Value::from("Debian"));
        assert_eq!(
            debian[AptSourceRow::components],
            Value::from("main contrib")
        );
        assert_eq!(
            debian[AptSourceRow::architectures],
            Value::from("all amd64")
        );
        let example = &rows[1];
        assert_eq!(
            example[AptSourceRow::name],
            Value::from("pkg.example.com/apt stable")
        );
        assert_eq!(example[AptSourceRow::version], Value::Null);
    }

    #[test]
    fn the_host_sources_are_well_formed() {
        let rows: Vec<Row> = AptSources
            .scan(&ScanRequest::default())
            .expect("scan")
            .collect::<Result<_, _>>()
            .expect("rows");
        // This Debian host's apt has fetched its lists: its sources are listed.
        assert!(!rows.is_empty());
        for row in &rows {
            for column in [
                AptSourceRow::name,
                AptSourceRow::base_uri,
                AptSourceRow::maintainer,
                AptSourceRow::architectures,
            ] {
                assert!(
                    row[column].as_text().is_some_and(|t| !t.is_empty()),
                    "{row:?}"
                );
            }
            let source = row[AptSourceRow::source].as_text().expect("source");
            assert!(Path::new(source).is_file(), "{source}");
        }
    }
}
