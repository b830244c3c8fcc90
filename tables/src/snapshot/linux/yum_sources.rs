//! `yum_sources`: the repositories yum and dnf are configured with: the sections of
//! `/etc/yum.conf` other than `[main]`, then those of the `*.repo` files in its `reposdir`
//! (`/etc/yum.repos.d` unless `[main]` says otherwise). A host without yum has no rows.

use std::path::{Path, PathBuf};

use vigil_formats::ini;

use crate::row::table_row;
use crate::snapshot::linux::bounded;
use crate::snapshot::linux::namespace::{NamespaceColumns, scan_in_namespaces};
use crate::snapshot::util::rows;
use crate::table::{Column, Row, Rows, ScanRequest, Table, TableError, Value};

const NAME: &str = "yum_sources";
const YUM_CONF: &str = "/etc/yum.conf";
const DEFAULT_REPOS_DIR: &str = "/etc/yum.repos.d";

table_row! {
    struct YumSourceRow {
        name: Text,
        source: Text,
        baseurl: Text,
        mirrorlist: Text,
        metalink: Text,
        enabled: Text,
        gpgcheck: Text,
        gpgkey: Text,
        #[hidden]
        pid_with_namespace: Integer,
    }
}

const NAMESPACE: NamespaceColumns = NamespaceColumns {
    pid_with_namespace: YumSourceRow::pid_with_namespace,
    mount_namespace_id: None,
};

pub struct YumSources;

impl Table for YumSources {
    fn name(&self) -> &'static str {
        NAME
    }

    fn columns(&self) -> &'static [Column] {
        YumSourceRow::COLUMNS
    }

    fn pushdown_columns(&self) -> &'static [usize] {
        &[YumSourceRow::pid_with_namespace]
    }

    fn scan(&self, request: &ScanRequest) -> Result<Rows, TableError> {
        Ok(rows(scan_in_namespaces(NAME, request, NAMESPACE, || {
            Ok(read(Path::new(YUM_CONF)))
        })?))
    }
}

fn read(yum_conf: &Path) -> Vec<Row> {
    let mut out = Vec::new();
    let conf = bounded::read_text(NAME, yum_conf, bounded::MAX_FILE_BYTES)
        .map(|t| ini::sections(&t))
        .unwrap_or_default();
    // `reposdir` may list several directories, separated by commas or spaces.
    let repos_dirs: Vec<PathBuf> = conf
        .iter()
        .find(|s| s.name == "main")
        .and_then(|main| main.get("reposdir"))
        .map(|dirs| {
            dirs.split([',', ' '])
                .filter(|d| !d.is_empty())
                .map(PathBuf::from)
                .collect()
        })
        .unwrap_or_else(|| vec![PathBuf::from(DEFAULT_REPOS_DIR)]);
    out.extend(repository_rows(yum_conf, &conf));
    for dir in repos_dirs {
        for file in bounded::list_dir(NAME, &dir, bounded::MAX_DIR_ENTRIES) {
            if file.extension().is_none_or(|e| e != "repo") {
                continue;
            }
            if let Some(text) = bounded::read_text(NAME, &file, bounded::MAX_FILE_BYTES) {
                out.extend(repository_rows(&file, &ini::sections(&text)));
            }
        }
    }
    out
}

fn repository_rows<'a>(
    file: &'a Path,
    sections: &'a [ini::Section],
) -> impl Iterator<Item = Row> + 'a {
    sections
        .iter()
        .filter(|s| s.name != "main")
        .map(move |section| {
            let option = |key: &str| Value::from(section.get(key).map(str::to_owned));
            YumSourceRow {
                name: option("name"),
                source: file.to_string_lossy().into_owned().into(),
                baseurl: option("baseurl"),
                mirrorlist: option("mirrorlist"),
                metalink: option("metalink"),
                enabled: option("enabled"),
                gpgcheck: option("gpgcheck"),
                gpgkey: option("gpgkey"),
                pid_with_namespace: Value::Int(0),
            }
            .into()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yum_conf_and_its_repos_dir() {
        let root = tempfile::tempdir().expect("tempdir");
        let repos = root.path().join("repos");
        std::fs::create_dir(&repos).expect("mkdir");
        let conf = root.path().join("yum.conf");
        std::fs::write(
            &conf,
            format!(
                "[main]\ngpgcheck=1\nreposdir={}\n\n[local]\nname=Local\nbaseurl=file:///srv/repo\nenabled=0\n",
                repos.display()
            ),
        )
        .expect("write");
        let repo_file = repos.join("rocky.repo");
        std::fs::write(
            &repo_file,
            "[baseos]\nname=Rocky Linux $releasever - BaseOS\nmirrorlist=https://mirrors.rockylinux.org/mirrorlist?repo=BaseOS-$releasever\ngpgcheck=1\nenabled=1\ngpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-Rocky-9\n",
        )
        .expect("write");
        std::fs::write(repos.join("notes.txt"), "[x]\nname=not a repo file\n").expect("write");

        let rows = read(&conf);
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0][YumSourceRow::name], Value::from("Local"));
        assert_eq!(
            rows[0][YumSourceRow::baseurl],
            Value::from("file:///srv/repo")
        );
        assert_eq!(rows[0][YumSourceRow::enabled], Value::from("0"));
        assert_eq!(rows[0][YumSourceRow::mirrorlist], Value::Null);
        let baseos = &rows[1];
        assert_eq!(
            baseos[YumSourceRow::source],
            Value::Text(repo_file.to_string_lossy().into_owned())
        );
        assert_eq!(baseos[YumSourceRow::gpgcheck], Value::from("1"));
        assert!(
            baseos[YumSourceRow::mirrorlist]
                .as_text()
                .is_some_and(|m| m.contains("BaseOS"))
        );
    }

    #[test]
    fn a_host_without_yum_has_no_rows() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(
            read(&dir.path().join("yum.conf")).is_empty() || Path::new(DEFAULT_REPOS_DIR).exists()
        );
        let rows: Vec<Row> = YumSources
            .scan(&ScanRequest::default())
            .expect("scan")
            .collect::<Result<_, _>>()
            .expect("rows");
        if !Path::new(YUM_CONF).exists() && !Path::new(DEFAULT_REPOS_DIR).exists() {
            assert!(rows.is_empty());
        }
    }
}
