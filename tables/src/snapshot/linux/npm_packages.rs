//! `npm_packages`: Node packages installed globally (`/usr/lib/node_modules`,
//! `/usr/local/lib/node_modules`, users' `~/.npm-global` and nvm versions), or in the project
//! `directory = ...` names: each `node_modules/<name>/package.json` and
//! `node_modules/@scope/<name>/package.json`, then nested `node_modules` down to the hidden
//! `max_depth` (100 by default, -1 for no limit; the walk stops at 500,000 packages anyway).

use std::path::{Path, PathBuf};

use crate::row::table_row;
use crate::snapshot::linux::accounts::accounts;
use crate::snapshot::linux::bounded;
use crate::snapshot::linux::namespace::{NamespaceColumns, scan_in_namespaces};
use crate::snapshot::util::rows;
use crate::table::{Column, Row, Rows, ScanRequest, Table, TableError, Value};

const NAME: &str = "npm_packages";
const SYSTEM_LIBS: &[&str] = &["/usr/local/lib", "/opt/homebrew/lib", "/usr/lib"];
const DEFAULT_MAX_DEPTH: i64 = 100;
const MAX_PACKAGES: usize = 500_000;
const MAX_MANIFEST_BYTES: u64 = 4 * 1024 * 1024;

table_row! {
    struct NpmPackageRow {
        name: Text,
        version: Text,
        description: Text,
        author: Text,
        license: Text,
        homepage: Text,
        path: Text,
        directory: Text,
        depth: Integer,
        #[hidden]
        max_depth: Integer,
        #[hidden]
        pid_with_namespace: Integer,
        #[hidden]
        mount_namespace_id: Text,
    }
}

const NAMESPACE: NamespaceColumns = NamespaceColumns {
    pid_with_namespace: NpmPackageRow::pid_with_namespace,
    mount_namespace_id: Some(NpmPackageRow::mount_namespace_id),
};

pub struct NpmPackages;

impl Table for NpmPackages {
    fn name(&self) -> &'static str {
        NAME
    }

    fn columns(&self) -> &'static [Column] {
        NpmPackageRow::COLUMNS
    }

    fn pushdown_columns(&self) -> &'static [usize] {
        &[
            NpmPackageRow::directory,
            NpmPackageRow::max_depth,
            NpmPackageRow::pid_with_namespace,
        ]
    }

    fn scan(&self, request: &ScanRequest) -> Result<Rows, TableError> {
        let directories: Vec<PathBuf> = request
            .equal_values(NpmPackageRow::directory)
            .filter_map(Value::as_text)
            .map(PathBuf::from)
            .collect();
        let max_depth = request
            .equal_values(NpmPackageRow::max_depth)
            .find_map(Value::as_i64)
            .unwrap_or(DEFAULT_MAX_DEPTH);
        Ok(rows(scan_in_namespaces(NAME, request, NAMESPACE, || {
            let mut roots = directories.clone();
            if roots.is_empty() {
                roots.extend(SYSTEM_LIBS.iter().map(PathBuf::from));
                for account in accounts(NAME, &ScanRequest::default(), usize::MAX) {
                    roots.push(account.home.join(".npm-global/lib"));
                    let nvm = account.home.join(".nvm/versions/node");
                    for version in bounded::list_dir(NAME, &nvm, bounded::MAX_DIR_ENTRIES) {
                        roots.push(version.join("lib"));
                    }
                }
            }
            let mut out = Vec::new();
            for root in roots {
                walk(&root, max_depth, &mut out);
            }
            Ok(out)
        })?))
    }
}

/// The packages under `directory/node_modules`, nested ones to `max_depth`.
fn walk(directory: &Path, max_depth: i64, out: &mut Vec<Row>) {
    let mut pending: Vec<(PathBuf, i64)> = vec![(directory.to_owned(), 0)];
    while let Some((dir, depth)) = pending.pop() {
        for package in packages_in(&dir.join("node_modules")) {
            if out.len() >= MAX_PACKAGES {
                tracing::warn!(
                    table = NAME,
                    max_packages = MAX_PACKAGES,
                    "more packages than the table reads: the rest are left out"
                );
                return;
            }
            let manifest = package.join("package.json");
            let Some(text) = bounded::read_text(NAME, &manifest, MAX_MANIFEST_BYTES) else {
                continue;
            };
            out.push(package_row(&text, &manifest, directory, depth, max_depth));
            if (max_depth < 0 || depth < max_depth) && package.join("node_modules").is_dir() {
                pending.push((package, depth + 1));
            }
        }
    }
}

/// `node_modules/<name>` and `node_modules/@scope/<name>` directories.
fn packages_in(node_modules: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in bounded::list_dir(NAME, node_modules, bounded::MAX_DIR_ENTRIES) {
        let name = entry
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if name.starts_with('.') || !entry.is_dir() {
            continue;
        }
        if name.starts_with('@') {
            out.extend(
                bounded::list_dir(NAME, &entry, bounded::MAX_DIR_ENTRIES)
                    .into_iter()
                    .filter(|p| p.is_dir()),
            );
        } else {
            out.push(entry);
        }
    }
    out
}

fn package_row(manifest: &str, path: &Path, directory: &Path, depth: i64, max_depth: i64) -> Row {
    let json: serde_json::Value = serde_json::from_str(manifest).unwrap_or(serde_json::Value::Null);
    let text = |value: Option<&serde_json::Value>| -> Value {
        match value {
            Some(serde_json::Value::String(s)) => Value::Text(s.clone()),
            Some(_) => Value::from(""),
            None => Value::Null,
        }
    };
    let author = match json.get("author") {
        Some(serde_json::Value::Object(author)) => text(author.get("name")),
        other => text(other),
    };
    // The old schema's license object: its URL stands in.
    let license = match json.get("license") {
        Some(serde_json::Value::Object(license)) => text(license.get("url")),
        other => text(other),
    };
    NpmPackageRow {
        name: text(json.get("name")),
        version: text(json.get("version")),
        description: text(json.get("description")),
        author,
        license,
        homepage: text(json.get("homepage")),
        path: path.to_string_lossy().into_owned().into(),
        directory: directory.to_string_lossy().into_owned().into(),
        depth: Value::Int(depth),
        max_depth: Value::Int(max_depth),
        pid_with_namespace: Value::Int(0),
        mount_namespace_id: Value::from(""),
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package(dir: &Path, json: &str) {
        std::fs::create_dir_all(dir).expect("mkdir");
        std::fs::write(dir.join("package.json"), json).expect("write");
    }

    #[test]
    fn packages_scoped_packages_and_nesting() {
        let project = tempfile::tempdir().expect("tempdir");
        let modules = project.path().join("node_modules");
        package(
            &modules.join("express"),
            r#"{"name":"express","version":"4.18.2","description":"Fast web framework","author":{"name":"TJ Holowaychuk"},"license":"MIT","homepage":"http://expressjs.com/"}"#,
        );
        package(
            &modules.join("@babel/core"),
            r#"{"name":"@babel/core","version":"7.23.0","author":"The Babel Team","license":{"type":"MIT","url":"https://opensource.org/licenses/MIT"}}"#,
        );
        package(
            &modules.join("express/node_modules/debug"),
            r#"{"name":"debug","version":"2.6.9"}"#,
        );
        package(&modules.join("broken"), "{ not json");
        let mut rows = Vec::new();
        walk(project.path(), DEFAULT_MAX_DEPTH, &mut rows);
        rows.sort_by_key(|r| r[NpmPackageRow::path].as_text().map(str::to_owned));
        let summary: Vec<_> = rows
            .iter()
            .map(|r| {
                (
                    r[NpmPackageRow::name].clone(),
                    r[NpmPackageRow::depth].clone(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                (Value::from("@babel/core"), Value::Int(0)),
                (Value::Null, Value::Int(0)),
                (Value::from("debug"), Value::Int(1)),
                (Value::from("express"), Value::Int(0)),
            ]
        );
        assert_eq!(
            rows[0][NpmPackageRow::license],
            Value::from("https://opensource.org/licenses/MIT")
        );
        assert_eq!(
            rows[3][NpmPackageRow::author],
            Value::from("TJ Holowaychuk")
        );
        let mut shallow = Vec::new();
        walk(project.path(), 0, &mut shallow);
        assert_eq!(
            shallow.len(),
            3,
            "max_depth = 0 reads direct dependencies only"
        );
    }

    #[test]
    fn the_host_global_npm_is_listed() {
        let rows: Vec<Row> = NpmPackages
            .scan(&ScanRequest::default())
            .expect("scan")
            .collect::<Result<_, _>>()
            .expect("rows");
        if Path::new("/usr/lib/node_modules/npm/package.json").exists() {
            assert!(
                rows.iter()
                    .any(|r| r[NpmPackageRow::name] == Value::from("npm")
                        && r[NpmPackageRow::directory] == Value::from("/usr/lib"))
            );
        }
        for row in &rows {
            assert!(
                row[NpmPackageRow::path]
                    .as_text()
                    .is_some_and(|p| p.ends_with("package.json"))
            );
            assert!(row[NpmPackageRow::depth].as_i64().is_some_and(|d| d >= 0));
        }
    }
}
