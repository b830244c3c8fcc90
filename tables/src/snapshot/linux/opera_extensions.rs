//! `opera_extensions`: the extensions of each local user's Opera profile
//! (`~/.config/opera`), with the columns of osquery's table of this name. osquery folded it into
//! `chrome_extensions` (`browser_type = 'opera'`) in 2021 (osquery commit cf722bc3f, #6780) and
//! dropped it, but osquery's own `vuln-management` pack still queries it; its columns here are
//! those of its last spec, its rows those of `chrome_extensions` for Opera. `uid = N` reads one
//! user's profile.

use crate::row::table_row;
use crate::snapshot::linux::accounts::accounts;
use crate::snapshot::linux::chrome_extensions::{ChromeExtensionRow, profile_rows, profiles};
use crate::snapshot::util::rows;
use crate::table::{Column, Row, Rows, ScanRequest, Table, TableError};

const NAME: &str = "opera_extensions";
const BROWSER: &str = "opera";
const CONFIG: &str = ".config/opera";

table_row! {
    struct OperaExtensionRow {
        uid: BigInt,
        name: Text,
        identifier: Text,
        version: Text,
        description: Text,
        locale: Text,
        update_url: Text,
        author: Text,
        persistent: Integer,
        path: Text,
    }
}

pub struct OperaExtensions;

impl Table for OperaExtensions {
    fn name(&self) -> &'static str {
        NAME
    }

    fn columns(&self) -> &'static [Column] {
        OperaExtensionRow::COLUMNS
    }

    fn pushdown_columns(&self) -> &'static [usize] {
        &[OperaExtensionRow::uid]
    }

    fn scan(&self, request: &ScanRequest) -> Result<Rows, TableError> {
        let mut out = Vec::new();
        for account in accounts(NAME, request, OperaExtensionRow::uid) {
            for profile in profiles(&account.home.join(CONFIG)) {
                out.extend(
                    profile_rows(BROWSER, account.uid, &profile)
                        .iter()
                        .map(opera_row),
                );
            }
        }
        Ok(rows(out))
    }
}

/// osquery's old columns from a `chrome_extensions` row: `locale` was renamed
/// `default_locale`, and `identifier` was the extension's directory (`Extensions/<id>/<version>`).
fn opera_row(chrome: &Row) -> Row {
    let cell = |column: usize| chrome[column].clone();
    let directory = chrome[ChromeExtensionRow::path]
        .as_text()
        .map(std::path::Path::new)
        .and_then(std::path::Path::parent)
        .and_then(std::path::Path::file_name)
        .map(|id| id.to_string_lossy().into_owned())
        .unwrap_or_default();
    OperaExtensionRow {
        uid: cell(ChromeExtensionRow::uid),
        name: cell(ChromeExtensionRow::name),
        identifier: directory.into(),
        version: cell(ChromeExtensionRow::version),
        description: cell(ChromeExtensionRow::description),
        locale: cell(ChromeExtensionRow::default_locale),
        update_url: cell(ChromeExtensionRow::update_url),
        author: cell(ChromeExtensionRow::author),
        persistent: cell(ChromeExtensionRow::persistent),
        path: cell(ChromeExtensionRow::path),
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::Value;

    #[test]
    fn an_opera_profiles_extension() {
        let home = tempfile::tempdir().expect("tempdir");
        let profile = home.path().join(CONFIG).join("Default");
        let version = profile.join("Extensions/abcdefghijklmnopabcdefghijklmnop/1.2_0");
        std::fs::create_dir_all(&version).expect("mkdir");
        std::fs::write(profile.join("Preferences"), "{}").expect("write");
        std::fs::write(
            version.join("manifest.json"),
            r#"{"name": "Blocker", "version": "1.2", "description": "blocks",
                "default_locale": "en", "author": "someone", "update_url": "https://u",
                "background": {"persistent": true}}"#,
        )
        .expect("write");
        let found = profiles(&home.path().join(CONFIG));
        assert_eq!(found, vec![profile.clone()]);
        let rows: Vec<Row> = profile_rows(BROWSER, 1000, &profile)
            .iter()
            .map(opera_row)
            .collect();
        assert_eq!(rows.len(), 1);
        let row = &rows[0];
        assert_eq!(row[OperaExtensionRow::uid], Value::Int(1000));
        assert_eq!(row[OperaExtensionRow::name], Value::from("Blocker"));
        assert_eq!(
            row[OperaExtensionRow::identifier],
            Value::from("abcdefghijklmnopabcdefghijklmnop")
        );
        assert_eq!(row[OperaExtensionRow::version], Value::from("1.2"));
        assert_eq!(row[OperaExtensionRow::locale], Value::from("en"));
        assert_eq!(row[OperaExtensionRow::author], Value::from("someone"));
        assert_eq!(
            row[OperaExtensionRow::path],
            Value::from(version.to_string_lossy().into_owned())
        );
    }
}
