//! The config file (`--config_path`): read from disk here, with the pack files it names, and
//! parsed by `vigil_config` (which does no I/O, so the fuzzer reaches all of it).

use std::path::{Path, PathBuf};

pub use vigil_config::{
    Config, ConfigError, Decorators, Origin, PackFile, PackFiles, ScheduledQuery, dump, hash, parse,
};

/// Pack files named by a local config, read relative to the config file's directory.
struct PackDir(PathBuf);

impl PackFiles for PackDir {
    fn read(&self, name: &str) -> Result<PackFile, String> {
        let path = self.0.join(name);
        let shown_as = path.display().to_string();
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(PackFile { shown_as, text }),
            Err(error) => Err(format!("cannot read pack file {shown_as}: {error}")),
        }
    }
}

/// Reads and parses the config file at `path`.
pub fn load(path: &Path, pack_delimiter: &str) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|error| ConfigError {
        errors: vec![format!(
            "cannot read --config_path {}: {error}",
            path.display()
        )],
    })?;
    let document: serde_json::Value = serde_json::from_str(&text).map_err(|error| ConfigError {
        errors: vec![format!(
            "--config_path {} is not valid JSON: {error}",
            path.display()
        )],
    })?;
    let packs = PackDir(path.parent().map(Path::to_path_buf).unwrap_or_default());
    let mut config = parse(&document, Origin::File { packs: &packs }, pack_delimiter)?;
    config.hash = hash(&text);
    Ok(config)
}

/// The configuration `--config_path` names, if any; warnings are logged.
pub fn load_optional(
    path: Option<&Path>,
    pack_delimiter: &str,
) -> Result<Option<Config>, ConfigError> {
    let Some(path) = path else {
        return Ok(None);
    };
    let config = load(path, pack_delimiter)?;
    for warning in &config.warnings {
        tracing::warn!("config {}: {warning}", path.display());
    }
    Ok(Some(config))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn pack_files_are_read_relative_to_the_config_file() {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::create_dir(dir.path().join("packs")).expect("packs dir");
        std::fs::write(
            dir.path().join("packs/hardening.conf"),
            json!({"queries": {"suid": {"query": "SELECT 1", "interval": 3600}}}).to_string(),
        )
        .expect("pack file");
        std::fs::write(dir.path().join("packs/broken.conf"), "{not json").expect("pack file");
        let config_path = dir.path().join("vigil.conf");
        let write_config = |packs: serde_json::Value| {
            std::fs::write(&config_path, json!({ "packs": packs }).to_string()).expect("config")
        };

        write_config(json!({"hardening": "packs/hardening.conf"}));
        let config = load(&config_path, "_").expect("valid");
        assert!(config.schedule.contains_key("pack_hardening_suid"));
        assert_eq!(
            config.hash,
            hash(&std::fs::read_to_string(&config_path).expect("read"))
        );

        write_config(json!({"missing": "packs/none.conf", "broken": "packs/broken.conf"}));
        let text = load(&config_path, "_").expect_err("invalid").to_string();
        let shown = |name: &str| dir.path().join("packs").join(name).display().to_string();
        for expected in [
            format!(
                "packs.missing: cannot read pack file {}: ",
                shown("none.conf")
            ),
            format!(
                "packs.broken: pack file {} is not valid JSON: ",
                shown("broken.conf")
            ),
        ] {
            assert!(text.contains(&expected), "no `{expected}` in:\n{text}");
        }
    }

    #[test]
    fn a_config_file_that_is_missing_or_not_json_is_named() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("vigil.conf");
        let error = load(&path, "_").expect_err("missing").to_string();
        assert!(error.starts_with("cannot read --config_path "), "{error}");
        std::fs::write(&path, "{").expect("write");
        let error = load(&path, "_").expect_err("not JSON").to_string();
        assert!(error.contains("vigil.conf is not valid JSON"), "{error}");
    }
}
