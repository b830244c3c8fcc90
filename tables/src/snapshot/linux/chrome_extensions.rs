//! `chrome_extensions`: the extensions in each local user's Chromium-based browser profiles
//! (Chrome and its channels, Chromium, Brave, Edge, Vivaldi, Opera, Yandex): every
//! `Extensions/<id>/<version>/manifest.json` of a profile, with what the profile's
//! `Preferences` and `Secure Preferences` say of it (enabled state, install time, web store).
//! `uid = N` reads one user's profiles.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde_json::Value as Json;
use sha2::{Digest, Sha256};

use crate::row::table_row;
use crate::snapshot::linux::accounts::accounts;
use crate::snapshot::linux::bounded;
use crate::snapshot::util::rows;
use crate::table::{Column, Row, Rows, ScanRequest, Table, TableError, Value};

const NAME: &str = "chrome_extensions";
/// Each browser's `browser_type` and its configuration directory under a home.
const BROWSERS: &[(&str, &str)] = &[
    ("chrome", ".config/google-chrome"),
    ("chrome_beta", ".config/google-chrome-beta"),
    ("chrome_dev", ".config/google-chrome-unstable"),
    ("chromium", ".config/chromium"),
    ("brave", ".config/BraveSoftware/Brave-Browser"),
    ("edge", ".config/microsoft-edge"),
    ("edge_beta", ".config/microsoft-edge-beta"),
    ("vivaldi", ".config/vivaldi"),
    ("opera", ".config/opera"),
    ("yandex", ".config/yandex-browser"),
];
const MAX_JSON_BYTES: u64 = 32 * 1024 * 1024;
/// Seconds between 1601-01-01 (Chrome's epoch) and 1970-01-01.
const WEBKIT_EPOCH_OFFSET: i64 = 11_644_473_600;

table_row! {
    pub(super) struct ChromeExtensionRow {
        browser_type: Text,
        uid: BigInt,
        name: Text,
        profile: Text,
        profile_path: Text,
        referenced_identifier: Text,
        identifier: Text,
        version: Text,
        description: Text,
        default_locale: Text,
        current_locale: Text,
        update_url: Text,
        author: Text,
        persistent: Integer,
        path: Text,
        permissions: Text,
        #[hidden]
        permissions_json: Text,
        optional_permissions: Text,
        #[hidden]
        optional_permissions_json: Text,
        manifest_hash: Text,
        referenced: BigInt,
        from_webstore: Text,
        state: Text,
        install_time: Text,
        install_timestamp: BigInt,
        #[hidden]
        manifest_json: Text,
        #[hidden]
        key: Text,
    }
}

pub struct ChromeExtensions;

impl Table for ChromeExtensions {
    fn name(&self) -> &'static str {
        NAME
    }

    fn columns(&self) -> &'static [Column] {
        ChromeExtensionRow::COLUMNS
    }

    fn pushdown_columns(&self) -> &'static [usize] {
        &[ChromeExtensionRow::uid]
    }

    fn scan(&self, request: &ScanRequest) -> Result<Rows, TableError> {
        let mut out = Vec::new();
        for account in accounts(NAME, request, ChromeExtensionRow::uid) {
            for (browser, config) in BROWSERS {
                for profile in profiles(&account.home.join(config)) {
                    out.extend(profile_rows(browser, account.uid, &profile));
                }
            }
        }
        Ok(rows(out))
    }
}

/// Profile directories: those with a `Preferences` file.
pub(super) fn profiles(config: &Path) -> Vec<PathBuf> {
    bounded::list_dir(NAME, config, bounded::MAX_DIR_ENTRIES)
        .into_iter()
        .filter(|dir| dir.join("Preferences").is_file())
        .collect()
}

fn read_json(path: &Path) -> Json {
    bounded::read_text(NAME, path, MAX_JSON_BYTES)
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Json::Null)
}

/// The rows of one profile's extensions (`opera_extensions` reads Opera's through this too).
pub(super) fn profile_rows(browser: &str, uid: u32, profile: &Path) -> Vec<Row> {
    let preferences = read_json(&profile.join("Preferences"));
    let secure = read_json(&profile.join("Secure Preferences"));
    let profile_name = preferences
        .pointer("/profile/name")
        .and_then(Json::as_str)
        .unwrap_or("")
        .to_owned();
    let settings = |id: &str| -> Option<Json> {
        [&secure, &preferences].iter().find_map(|p| {
            p.pointer("/extensions/settings")
                .and_then(|s| s.get(id))
                .cloned()
        })
    };
    let mut out = Vec::new();
    for id_dir in bounded::list_dir(NAME, &profile.join("Extensions"), bounded::MAX_DIR_ENTRIES) {
        let Some(id) = id_dir.file_name().map(|n| n.to_string_lossy().into_owned()) else {
            continue;
        };
        for version_dir in bounded::list_dir(NAME, &id_dir, bounded::MAX_DIR_ENTRIES) {
            let manifest_path = version_dir.join("manifest.json");
            let Some(manifest_text) = bounded::read_text(NAME, &manifest_path, MAX_JSON_BYTES)
            else {
                continue;
            };
            let context = Extension {
                browser,
                uid,
                profile_name: &profile_name,
                profile,
                directory_id: &id,
                path: &version_dir,
                settings: settings(&id),
            };
            out.push(extension_row(&context, &manifest_text));
        }
    }
    out
}

struct Extension<'a> {
    browser: &'a str,
    uid: u32,
    profile_name: &'a str,
    profile: &'a Path,
    directory_id: &'a str,
    path: &'a Path,
    settings: Option<Json>,
}

fn extension_row(extension: &Extension<'_>, manifest_text: &str) -> Row {
    let manifest: Json = serde_json::from_str(manifest_text).unwrap_or(Json::Null);
    let default_locale = manifest
        .get("default_locale")
        .and_then(Json::as_str)
        .unwrap_or("");
    let messages = read_json(
        &extension
            .path
            .join("_locales")
            .join(default_locale)
            .join("messages.json"),
    );
    let text = |key: &str| -> String {
        localized(
            manifest.get(key).and_then(Json::as_str).unwrap_or(""),
            &messages,
        )
    };
    let list = |key: &str| -> (String, String) {
        let items = manifest
            .get(key)
            .cloned()
            .unwrap_or(Json::Array(Vec::new()));
        let joined = items
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        (joined, items.to_string())
    };
    let (permissions, permissions_json) = list("permissions");
    let (optional_permissions, optional_permissions_json) = list("optional_permissions");
    let author = match manifest.get("author") {
        Some(Json::String(s)) => s.clone(),
        Some(Json::Object(o)) => o
            .get("email")
            .and_then(Json::as_str)
            .unwrap_or("")
            .to_owned(),
        _ => String::new(),
    };
    let key = manifest
        .get("key")
        .and_then(Json::as_str)
        .unwrap_or("")
        .to_owned();
    let settings = extension.settings.as_ref();
    let install_time = settings
        .and_then(|s| s.get("install_time"))
        .and_then(Json::as_str)
        .unwrap_or("")
        .to_owned();
    let install_timestamp = install_time.parse::<i64>().map_or(0, |micros| {
        (micros / 1_000_000 - WEBKIT_EPOCH_OFFSET).max(0)
    });
    ChromeExtensionRow {
        browser_type: extension.browser.into(),
        uid: Value::from(extension.uid),
        name: text("name").into(),
        profile: extension.profile_name.into(),
        profile_path: extension.profile.to_string_lossy().into_owned().into(),
        referenced_identifier: if settings.is_some() {
            extension.directory_id
        } else {
            ""
        }
        .into(),
        identifier: identifier(&key).into(),
        version: text("version").into(),
        description: text("description").into(),
        default_locale: default_locale.into(),
        current_locale: "".into(),
        update_url: text("update_url").into(),
        author: author.into(),
        persistent: Value::from(
            manifest
                .pointer("/background/persistent")
                .and_then(Json::as_bool)
                .unwrap_or(false),
        ),
        path: extension.path.to_string_lossy().into_owned().into(),
        permissions: permissions.into(),
        permissions_json: permissions_json.into(),
        optional_permissions: optional_permissions.into(),
        optional_permissions_json: optional_permissions_json.into(),
        manifest_hash: sha256_hex(manifest_text.as_bytes()).into(),
        referenced: Value::from(settings.is_some()),
        from_webstore: settings
            .and_then(|s| s.get("from_webstore"))
            .and_then(Json::as_bool)
            .map_or(String::new(), |b| b.to_string())
            .into(),
        state: settings
            .and_then(|s| s.get("state"))
            .and_then(Json::as_i64)
            .map_or(String::new(), |s| s.to_string())
            .into(),
        install_time: install_time.into(),
        install_timestamp: Value::Int(install_timestamp),
        manifest_json: manifest_text.to_owned().into(),
        key: key.into(),
    }
    .into()
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `__MSG_appName__` → the default locale's `appName` message (names are case-insensitive).
fn localized(value: &str, messages: &Json) -> String {
    let Some(name) = value
        .strip_prefix("__MSG_")
        .and_then(|v| v.strip_suffix("__"))
    else {
        return value.to_owned();
    };
    messages
        .as_object()
        .and_then(|m| m.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
        .and_then(|(_, v)| v.get("message"))
        .and_then(Json::as_str)
        .unwrap_or(value)
        .to_owned()
}

/// Chrome's extension id from the manifest's public key: the first 16 bytes of the key's
/// SHA-256, each hex digit written as a letter from `a` to `p`. Empty without a key.
fn identifier(key: &str) -> String {
    let Ok(der) = base64::engine::general_purpose::STANDARD.decode(key.trim()) else {
        return String::new();
    };
    if der.is_empty() {
        return String::new();
    }
    Sha256::digest(&der)
        .iter()
        .take(16)
        .flat_map(|b| [b >> 4, b & 0x0f])
        .map(|nibble| char::from(b'a' + nibble))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_profile_with_an_extension_and_its_preferences() {
        let home = tempfile::tempdir().expect("tempdir");
        let profile = home.path().join(".config/google-chrome/Default");
        let id = "cjpalhdlnbpafiamejdnhcphjbkeiagm";
        let version = profile.join("Extensions").join(id).join("1.54.0_0");
        std::fs::create_dir_all(version.join("_locales/en")).expect("mkdir");
        std::fs::write(
            profile.join("Preferences"),
            format!(r#"{{"profile":{{"name":"Person 1"}},"extensions":{{"settings":{{"{id}":{{"state":1,"from_webstore":true,"install_time":"13345678901234567"}}}}}}}}"#),
        )
        .expect("write");
        let manifest = r#"{"manifest_version":3,"name":"__MSG_extName__","version":"1.54.0","default_locale":"en","description":"An efficient blocker","author":{"email":"dev@example.org"},"update_url":"https://clients2.google.com/service/update2/crx","permissions":["storage","tabs"],"optional_permissions":["downloads"],"background":{"persistent":false},"key":"MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAmJNzUNVjS6Q1qe0NRqpmfX/oSJdgauSZNdfeb5RV1Hji21vX0TivpP5gq0fadwmvmVCtUpOaNUopgejiUFm/iKHPs0o3x7hyKk/eX0t2QT3OZGdXkPiYpTEC0f0p86SQaLoA2eHaOG4uCGi7sxLJmAXc6IsxGKVklh7cCoLUgWEMnj8ZNG2Y8UKG3gBdrpES5hk7QyFDMraO79NmSlWRNgoJHX6XRoY66oYThFQad8KL8q3pf3Oe8uBLKywohU0ZrDPViWHIszXoE9HEvPTFAbHZ1umINni4W/YVs+fhqHtzRJcaKJtsTaYy+cholu5mAYeTZqtHf6bcwJ8t9i2afwIDAQAB"}"#;
        std::fs::write(version.join("manifest.json"), manifest).expect("write");
        std::fs::write(
            version.join("_locales/en/messages.json"),
            r#"{"extname":{"message":"uBlock Origin Lite"}}"#,
        )
        .expect("write");

        let found = profiles(&home.path().join(".config/google-chrome"));
        assert_eq!(found, std::slice::from_ref(&profile));
        let rows = profile_rows("chrome", 1000, &profile);
        assert_eq!(rows.len(), 1);
        let row = &rows[0];
        let col = |c: usize| row[c].clone();
        assert_eq!(
            col(ChromeExtensionRow::name),
            Value::from("uBlock Origin Lite")
        );
        assert_eq!(col(ChromeExtensionRow::profile), Value::from("Person 1"));
        assert_eq!(
            col(ChromeExtensionRow::referenced_identifier),
            Value::from(id)
        );
        assert_eq!(col(ChromeExtensionRow::referenced), Value::Int(1));
        assert_eq!(col(ChromeExtensionRow::state), Value::from("1"));
        assert_eq!(col(ChromeExtensionRow::from_webstore), Value::from("true"));
        assert_eq!(
            col(ChromeExtensionRow::install_timestamp),
            Value::Int(13_345_678_901 - WEBKIT_EPOCH_OFFSET)
        );
        assert_eq!(
            col(ChromeExtensionRow::permissions),
            Value::from("storage, tabs")
        );
        assert_eq!(
            col(ChromeExtensionRow::permissions_json),
            Value::from(r#"["storage","tabs"]"#)
        );
        assert_eq!(
            col(ChromeExtensionRow::optional_permissions),
            Value::from("downloads")
        );
        assert_eq!(
            col(ChromeExtensionRow::author),
            Value::from("dev@example.org")
        );
        assert_eq!(col(ChromeExtensionRow::persistent), Value::Int(0));
        assert_eq!(
            col(ChromeExtensionRow::manifest_hash),
            Value::Text(sha256_hex(manifest.as_bytes()))
        );
        // Chrome's id form: 32 letters from a to p, derived from the key.
        let derived = col(ChromeExtensionRow::identifier);
        let derived = derived.as_text().expect("an identifier");
        assert_eq!(derived.len(), 32);
        assert!(
            derived.bytes().all(|b| (b'a'..=b'p').contains(&b)),
            "{derived}"
        );
    }

    #[test]
    fn ids_and_messages() {
        assert_eq!(identifier(""), "");
        assert_eq!(identifier("not base64!"), "");
        let messages: Json = serde_json::from_str(r#"{"Name":{"message":"N"}}"#).expect("json");
        assert_eq!(localized("__MSG_name__", &messages), "N");
        assert_eq!(localized("__MSG_missing__", &messages), "__MSG_missing__");
        assert_eq!(localized("plain", &messages), "plain");
    }
}
