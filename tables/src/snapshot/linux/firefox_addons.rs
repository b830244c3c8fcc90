//! `firefox_addons`: the add-ons of each local user's Firefox profiles
//! (`~/.mozilla/firefox/<profile>/extensions.json`, and the snap's), as Firefox records them.
//! `uid = N` reads one user's profiles.

use std::path::{Path, PathBuf};

use serde_json::Value as Json;

use crate::row::table_row;
use crate::snapshot::linux::accounts::accounts;
use crate::snapshot::linux::bounded;
use crate::snapshot::util::rows;
use crate::table::{Column, Row, Rows, ScanRequest, Table, TableError, Value};

const NAME: &str = "firefox_addons";
const PROFILE_ROOTS: &[&str] = &[".mozilla/firefox", "snap/firefox/common/.mozilla/firefox"];
const MAX_EXTENSIONS_JSON_BYTES: u64 = 32 * 1024 * 1024;

table_row! {
    struct FirefoxAddonRow {
        uid: BigInt,
        name: Text,
        identifier: Text,
        creator: Text,
        r#type: Text,
        version: Text,
        description: Text,
        source_url: Text,
        visible: Integer,
        active: Integer,
        disabled: Integer,
        autoupdate: Integer,
        location: Text,
        path: Text,
    }
}

pub struct FirefoxAddons;

impl Table for FirefoxAddons {
    fn name(&self) -> &'static str {
        NAME
    }

    fn columns(&self) -> &'static [Column] {
        FirefoxAddonRow::COLUMNS
    }

    fn pushdown_columns(&self) -> &'static [usize] {
        &[FirefoxAddonRow::uid]
    }

    fn scan(&self, request: &ScanRequest) -> Result<Rows, TableError> {
        let mut out = Vec::new();
        for account in accounts(NAME, request, FirefoxAddonRow::uid) {
            for profile in profiles(&account.home) {
                out.extend(profile_rows(&profile, account.uid));
            }
        }
        Ok(rows(out))
    }
}

fn profiles(home: &Path) -> Vec<PathBuf> {
    PROFILE_ROOTS
        .iter()
        .flat_map(|root| bounded::list_dir(NAME, &home.join(root), bounded::MAX_DIR_ENTRIES))
        .filter(|dir| dir.join("extensions.json").is_file())
        .collect()
}

fn profile_rows(profile: &Path, uid: u32) -> Vec<Row> {
    let Some(text) = bounded::read_text(
        NAME,
        &profile.join("extensions.json"),
        MAX_EXTENSIONS_JSON_BYTES,
    ) else {
        return Vec::new();
    };
    let Ok(json) = serde_json::from_str::<Json>(&text) else {
        tracing::warn!(table = NAME, profile = %profile.display(), "extensions.json is not JSON");
        return Vec::new();
    };
    let Some(addons) = json.get("addons").and_then(Json::as_array) else {
        return Vec::new();
    };
    addons.iter().map(|addon| addon_row(addon, uid)).collect()
}

fn addon_row(addon: &Json, uid: u32) -> Row {
    let text = |v: Option<&Json>| Value::Text(v.and_then(Json::as_str).unwrap_or("").to_owned());
    let flag = |key: &str| Value::from(addon.get(key).and_then(Json::as_bool).unwrap_or(false));
    let locale = addon.get("defaultLocale");
    FirefoxAddonRow {
        uid: Value::from(uid),
        name: text(locale.and_then(|l| l.get("name"))),
        identifier: text(addon.get("id")),
        creator: text(locale.and_then(|l| l.get("creator"))),
        r#type: text(addon.get("type")),
        version: text(addon.get("version")),
        description: text(locale.and_then(|l| l.get("description"))),
        source_url: text(addon.get("sourceURI")),
        visible: flag("visible"),
        active: flag("active"),
        disabled: flag("appDisabled"),
        // Firefox's 0 (off), 1 (default: on) or 2 (on): whether updates apply by themselves.
        autoupdate: Value::from(
            addon
                .get("applyBackgroundUpdates")
                .and_then(Json::as_i64)
                .unwrap_or(0)
                != 0,
        ),
        location: text(addon.get("location")),
        path: text(addon.get("path")),
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_extensions_json() {
        let home = tempfile::tempdir().expect("tempdir");
        let profile = home.path().join(".mozilla/firefox/x1y2z3.default-release");
        std::fs::create_dir_all(&profile).expect("mkdir");
        std::fs::create_dir_all(home.path().join(".mozilla/firefox/Crash Reports")).expect("mkdir");
        std::fs::write(
            profile.join("extensions.json"),
            r#"{"schemaVersion":36,"addons":[{"id":"uBlock0@raymondhill.net","type":"extension","version":"1.54.0","sourceURI":"https://addons.mozilla.org/firefox/downloads/file/4198829/ublock_origin-1.54.0.xpi","visible":true,"active":true,"userDisabled":false,"appDisabled":false,"applyBackgroundUpdates":1,"location":"app-profile","path":"/home/alice/.mozilla/firefox/x1y2z3.default-release/extensions/uBlock0@raymondhill.net.xpi","defaultLocale":{"name":"uBlock Origin","creator":"Raymond Hill","description":"Finally, an efficient blocker."}},{"id":"formautofill@mozilla.org","type":"extension","visible":false,"active":true,"appDisabled":true,"applyBackgroundUpdates":0,"location":"app-builtin"}]}"#,
        )
        .expect("write");
        let found = profiles(home.path());
        assert_eq!(found, std::slice::from_ref(&profile));
        let rows = profile_rows(&profile, 1000);
        assert_eq!(rows.len(), 2);
        let ublock = &rows[0];
        assert_eq!(ublock[FirefoxAddonRow::name], Value::from("uBlock Origin"));
        assert_eq!(
            ublock[FirefoxAddonRow::identifier],
            Value::from("uBlock0@raymondhill.net")
        );
        assert_eq!(
            ublock[FirefoxAddonRow::creator],
            Value::from("Raymond Hill")
        );
        assert_eq!(ublock[FirefoxAddonRow::version], Value::from("1.54.0"));
        assert_eq!(ublock[FirefoxAddonRow::visible], Value::Int(1));
        assert_eq!(ublock[FirefoxAddonRow::autoupdate], Value::Int(1));
        assert_eq!(
            ublock[FirefoxAddonRow::location],
            Value::from("app-profile")
        );
        assert_eq!(rows[1][FirefoxAddonRow::disabled], Value::Int(1));
        assert_eq!(rows[1][FirefoxAddonRow::name], Value::from(""));
        // A profile whose file is not JSON: no rows, no error.
        std::fs::write(profile.join("extensions.json"), "{").expect("write");
        assert!(profile_rows(&profile, 1000).is_empty());
    }
}
