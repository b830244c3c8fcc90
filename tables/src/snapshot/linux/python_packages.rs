//! `python_packages`: the Python distributions installed in the system's site directories
//! (`/usr/lib/python3*/dist-packages`, `/usr/local/lib/python3*/...`, conda's) with uid 0, and
//! in each user's (`~/.local/lib/python3*/site-packages`, pyenv versions, virtualenvs) with the
//! user's uid: each `*.dist-info/METADATA` or `*.egg-info` (`PKG-INFO`). `directory = ...`
//! reads that site directory only.

use std::path::{Path, PathBuf};

use vigil_formats::deb822;

use crate::row::table_row;
use crate::snapshot::linux::accounts::accounts;
use crate::snapshot::linux::bounded;
use crate::snapshot::linux::namespace::{NamespaceColumns, scan_in_namespaces};
use crate::snapshot::util::rows;
use crate::table::{Column, Row, Rows, ScanRequest, Table, TableError, Value};

const NAME: &str = "python_packages";
/// System prefixes whose `lib*/python*/{dist,site}-packages` are read.
const SYSTEM_PREFIXES: &[&str] = &[
    "/usr/lib",
    "/usr/local/lib",
    "/usr/local/lib64",
    "/opt/conda/lib",
    "/opt/miniconda3/lib",
    "/opt/anaconda3/lib",
];
/// Under a home: directories holding `python*` directories (user site), and directories of
/// environments, each with its own `lib/python*`.
const USER_LIBS: &[&str] = &[
    ".local/lib",
    "miniconda3/lib",
    "anaconda3/lib",
    "miniforge3/lib",
];
const USER_ENVIRONMENTS: &[&str] = &[
    ".pyenv/versions",
    ".virtualenvs",
    ".local/share/virtualenvs",
    ".local/share/pipx/venvs",
    "miniconda3/envs",
    "anaconda3/envs",
    "miniforge3/envs",
];
const MAX_METADATA_BYTES: u64 = 4 * 1024 * 1024;

table_row! {
    struct PythonPackageRow {
        name: Text,
        uid: BigInt,
        version: Text,
        summary: Text,
        author: Text,
        license: Text,
        path: Text,
        directory: Text,
        #[hidden]
        pid_with_namespace: Integer,
    }
}

const NAMESPACE: NamespaceColumns = NamespaceColumns {
    pid_with_namespace: PythonPackageRow::pid_with_namespace,
    mount_namespace_id: None,
};

pub struct PythonPackages;

impl Table for PythonPackages {
    fn name(&self) -> &'static str {
        NAME
    }

    fn columns(&self) -> &'static [Column] {
        PythonPackageRow::COLUMNS
    }

    fn pushdown_columns(&self) -> &'static [usize] {
        &[
            PythonPackageRow::uid,
            PythonPackageRow::directory,
            PythonPackageRow::pid_with_namespace,
        ]
    }

    fn scan(&self, request: &ScanRequest) -> Result<Rows, TableError> {
        let directories: Vec<String> = request
            .equal_values(PythonPackageRow::directory)
            .filter_map(Value::as_text)
            .map(str::to_owned)
            .collect();
        Ok(rows(scan_in_namespaces(NAME, request, NAMESPACE, || {
            if !directories.is_empty() {
                return Ok(directories
                    .iter()
                    .flat_map(|d| site_rows(Path::new(d), 0))
                    .collect());
            }
            let mut out: Vec<Row> = SYSTEM_PREFIXES
                .iter()
                .flat_map(|prefix| site_directories(Path::new(prefix)))
                .flat_map(|site| site_rows(&site, 0))
                .collect();
            for account in accounts(NAME, request, PythonPackageRow::uid) {
                for site in user_sites(&account.home) {
                    out.extend(site_rows(&site, account.uid));
                }
            }
            Ok(out)
        })?))
    }
}

/// `<lib>/python*/{dist,site}-packages`.
fn site_directories(lib: &Path) -> Vec<PathBuf> {
    bounded::list_dir(NAME, lib, bounded::MAX_DIR_ENTRIES)
        .into_iter()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("python"))
        })
        .flat_map(|python| [python.join("dist-packages"), python.join("site-packages")])
        .filter(|site| site.is_dir())
        .collect()
}

fn user_sites(home: &Path) -> Vec<PathBuf> {
    let mut sites: Vec<PathBuf> = USER_LIBS
        .iter()
        .flat_map(|lib| site_directories(&home.join(lib)))
        .collect();
    for environments in USER_ENVIRONMENTS {
        for environment in
            bounded::list_dir(NAME, &home.join(environments), bounded::MAX_DIR_ENTRIES)
        {
            sites.extend(site_directories(&environment.join("lib")));
        }
    }
    sites
}

/// The distributions of one site directory.
fn site_rows(site: &Path, uid: u32) -> Vec<Row> {
    bounded::list_dir(NAME, site, bounded::MAX_DIR_ENTRIES)
        .into_iter()
        .filter_map(|entry| {
            let name = entry.file_name()?.to_string_lossy().into_owned();
            let metadata = if name.ends_with(".dist-info") {
                entry.join("METADATA")
            } else if name.ends_with(".egg-info") {
                // A directory with PKG-INFO, or (older setuptools) the file itself.
                if entry.is_dir() {
                    entry.join("PKG-INFO")
                } else {
                    entry.clone()
                }
            } else {
                return None;
            };
            let text = bounded::read_text(NAME, &metadata, MAX_METADATA_BYTES)?;
            Some(package_row(&text, &entry, site, uid))
        })
        .collect()
}

/// Core metadata (PEP 241/566): headers up to the first blank line, the description after.
fn package_row(metadata: &str, path: &Path, site: &Path, uid: u32) -> Row {
    let headers = deb822::paragraphs(metadata)
        .into_iter()
        .next()
        .unwrap_or_default();
    let header = |name: &str| Value::from(headers.get(name).map(str::to_owned));
    PythonPackageRow {
        name: header("Name"),
        uid: Value::from(uid),
        version: header("Version"),
        summary: header("Summary"),
        author: header("Author"),
        license: header("License"),
        path: path.to_string_lossy().into_owned().into(),
        directory: site.to_string_lossy().into_owned().into(),
        pid_with_namespace: Value::Int(0),
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dist_info_and_egg_info_in_a_site_directory() {
        let site = tempfile::tempdir().expect("tempdir");
        let dist = site.path().join("requests-2.31.0.dist-info");
        std::fs::create_dir(&dist).expect("mkdir");
        std::fs::write(
            dist.join("METADATA"),
            "Metadata-Version: 2.1\nName: requests\nVersion: 2.31.0\nSummary: Python HTTP for Humans.\nAuthor: Kenneth Reitz\nLicense: Apache 2.0\nRequires-Dist: idna\n\nName: not-a-header\n",
        )
        .expect("write");
        std::fs::write(
            site.path().join("six-1.16.0.egg-info"),
            "Metadata-Version: 1.2\nName: six\nVersion: 1.16.0\nSummary: Python 2 and 3 compatibility utilities\n",
        )
        .expect("write");
        std::fs::create_dir(site.path().join("requests")).expect("mkdir");
        let rows = site_rows(site.path(), 1000);
        assert_eq!(rows.len(), 2);
        let requests = &rows[0];
        assert_eq!(requests[PythonPackageRow::name], Value::from("requests"));
        assert_eq!(requests[PythonPackageRow::version], Value::from("2.31.0"));
        assert_eq!(
            requests[PythonPackageRow::author],
            Value::from("Kenneth Reitz")
        );
        assert_eq!(
            requests[PythonPackageRow::license],
            Value::from("Apache 2.0")
        );
        assert_eq!(requests[PythonPackageRow::uid], Value::Int(1000));
        assert_eq!(
            requests[PythonPackageRow::directory],
            Value::Text(site.path().to_string_lossy().into_owned())
        );
        assert_eq!(rows[1][PythonPackageRow::name], Value::from("six"));
        assert_eq!(rows[1][PythonPackageRow::license], Value::Null);
    }

    #[test]
    fn the_host_has_debian_python_packages() {
        let rows: Vec<Row> = PythonPackages
            .scan(&ScanRequest::default())
            .expect("scan")
            .collect::<Result<_, _>>()
            .expect("rows");
        // Debian's python3 packages live in /usr/lib/python3/dist-packages.
        let debian_site = Path::new("/usr/lib/python3/dist-packages");
        if debian_site.is_dir() {
            assert!(rows.iter().any(|r| r[PythonPackageRow::directory]
                == Value::Text(debian_site.to_string_lossy().into_owned())));
        }
        assert!(!rows.is_empty());
        for row in &rows {
            assert!(row[PythonPackageRow::uid].as_i64().is_some_and(|u| u >= 0));
            assert!(Path::new(row[PythonPackageRow::path].as_text().expect("path")).exists());
        }
    }
}
