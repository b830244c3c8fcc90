//! `packs.<name>`: a pack inline, or (in a local config only) the name of a file holding one.

use serde_json::Value;

use crate::Problems;

/// A pack file's text, and the name it goes by in messages (the path it was read from).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackFile {
    pub shown_as: String,
    pub text: String,
}

/// Reads the pack files a local config names. The agent reads them from disk, relative to the
/// config file's directory; tests and the fuzzer serve them from memory.
pub trait PackFiles {
    /// The pack file `name` (as the config writes it), or why it cannot be read: a message that
    /// names the file (`cannot read pack file /etc/vigil/x.conf: No such file or directory`).
    fn read(&self, name: &str) -> Result<PackFile, String>;
}

/// Where a config document comes from, which decides what it may name on this host.
#[derive(Clone, Copy)]
pub enum Origin<'a> {
    /// A local file (`--config_path`): a pack given as a string is a pack file, read by `packs`.
    File { packs: &'a dyn PackFiles },
    /// The TLS server: it may not make vigil read local files, so packs must be inline.
    Server,
}

/// The pack `name`: its object inline, or the JSON in the pack file a local config names.
pub(crate) fn load(
    name: &str,
    value: &Value,
    origin: Origin,
    problems: &mut Problems,
) -> Option<Value> {
    let path = format!("packs.{name}");
    match value {
        Value::Object(_) => Some(value.clone()),
        Value::String(file) => {
            let Origin::File { packs } = origin else {
                problems.warn(
                    &path,
                    format!(
                        "a pack file path (`{file}`) from the TLS server is refused: a server may \
                         not make vigil read local files; the pack is left out (send the pack \
                         inline, or name the file in a local --config_path)"
                    ),
                );
                return None;
            };
            let pack = match packs.read(file) {
                Ok(pack) => pack,
                Err(message) => {
                    problems.error(&path, message);
                    return None;
                }
            };
            match serde_json::from_str(&pack.text) {
                Ok(value) => Some(value),
                Err(error) => {
                    problems.error(
                        &path,
                        format!("pack file {} is not valid JSON: {error}", pack.shown_as),
                    );
                    None
                }
            }
        }
        _ => {
            problems.error(&path, "expected a pack object or the path of a pack file");
            None
        }
    }
}
