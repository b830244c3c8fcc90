//! SASL to the Kafka brokers (`--logger_kafka_sasl_mechanism`, `--logger_kafka_sasl_username`,
//! `--logger_kafka_sasl_password_file`): the password is read from a file, never taken on the
//! command line where `ps` shows it, and the file is checked at start like vigil's other secret
//! files (`safe_files`). With `ssl://` brokers it is SASL over TLS (`SASL_SSL`), else
//! `SASL_PLAINTEXT`.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use rdkafka::ClientConfig;

/// The mechanisms librdkafka has built in that need nothing but a username and a password.
const MECHANISMS: [&str; 3] = ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"];

/// The SASL flags as given.
#[derive(Debug, Clone, Default)]
pub struct SaslFlags {
    pub mechanism: Option<String>,
    pub username: Option<String>,
    pub password_file: Option<PathBuf>,
}

/// What the client logs in with.
#[derive(Clone, PartialEq, Eq)]
pub struct SaslLogin {
    mechanism: &'static str,
    username: String,
    password: String,
}

// The password stays out of every log line and error.
impl std::fmt::Debug for SaslLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SaslLogin")
            .field("mechanism", &self.mechanism)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

impl SaslFlags {
    /// The login the flags give (`None` without SASL), or which flag is wrong or missing; reads
    /// the password file.
    pub fn login(&self) -> anyhow::Result<Option<SaslLogin>> {
        let Some(mechanism) = self.mechanism.as_deref() else {
            if self.username.is_some() || self.password_file.is_some() {
                bail!(
                    "--logger_kafka_sasl_username and --logger_kafka_sasl_password_file need \
                     --logger_kafka_sasl_mechanism ({})",
                    MECHANISMS.join(", ")
                );
            }
            return Ok(None);
        };
        let Some(mechanism) = MECHANISMS
            .into_iter()
            .find(|m| m.eq_ignore_ascii_case(mechanism.trim()))
        else {
            bail!(
                "--logger_kafka_sasl_mechanism={mechanism} is not {}",
                MECHANISMS.join(", ")
            );
        };
        let username = match self.username.as_deref().map(str::trim) {
            Some(name) if !name.is_empty() => name.to_owned(),
            _ => bail!(
                "--logger_kafka_sasl_mechanism={mechanism} needs --logger_kafka_sasl_username"
            ),
        };
        let Some(path) = self.password_file.as_deref() else {
            bail!(
                "--logger_kafka_sasl_mechanism={mechanism} needs \
                 --logger_kafka_sasl_password_file (a file holding the password, readable by \
                 root only; it is never given on the command line)"
            );
        };
        Ok(Some(SaslLogin {
            mechanism,
            username,
            password: read_password(path)?,
        }))
    }
}

/// The password in `path`, without the line end an editor leaves.
fn read_password(path: &Path) -> anyhow::Result<String> {
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "--logger_kafka_sasl_password_file {}: cannot read it",
            path.display()
        )
    })?;
    let password = text.trim_end_matches(['\n', '\r']);
    if password.is_empty() {
        bail!(
            "--logger_kafka_sasl_password_file {} is empty; write the SASL password in it",
            path.display()
        );
    }
    Ok(password.to_owned())
}

impl SaslLogin {
    /// Sets the login and `security.protocol` (SASL over TLS when `tls`).
    pub fn apply(&self, config: &mut ClientConfig, tls: bool) {
        if !tls && self.mechanism == "PLAIN" {
            tracing::warn!(
                "--logger_kafka_sasl_mechanism=PLAIN without TLS sends the password to the \
                 brokers in clear text; give ssl:// brokers (--logger_kafka_brokers) or a SCRAM \
                 mechanism"
            );
        }
        config
            .set(
                "security.protocol",
                if tls { "sasl_ssl" } else { "sasl_plaintext" },
            )
            .set("sasl.mechanism", self.mechanism)
            .set("sasl.username", &self.username)
            .set("sasl.password", &self.password);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(mechanism: Option<&str>, username: Option<&str>, file: Option<&Path>) -> SaslFlags {
        SaslFlags {
            mechanism: mechanism.map(str::to_owned),
            username: username.map(str::to_owned),
            password_file: file.map(Path::to_path_buf),
        }
    }

    fn password_file(text: &str) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().expect("file");
        std::fs::write(file.path(), text).expect("password");
        file
    }

    #[test]
    fn no_flags_no_sasl() {
        assert_eq!(SaslFlags::default().login().expect("no SASL"), None);
    }

    #[test]
    fn each_bad_combination_is_refused_naming_the_flag() {
        let file = password_file("secret\n");
        let path = Some(file.path());
        let cases = [
            (
                flags(Some("PLAIN"), None, path),
                "needs --logger_kafka_sasl_username",
            ),
            (
                flags(Some("PLAIN"), Some(" "), path),
                "needs --logger_kafka_sasl_username",
            ),
            (
                flags(Some("SCRAM-SHA-256"), Some("vigil"), None),
                "needs --logger_kafka_sasl_password_file",
            ),
            (
                flags(None, Some("vigil"), path),
                "need --logger_kafka_sasl_mechanism",
            ),
            (
                flags(None, None, path),
                "need --logger_kafka_sasl_mechanism",
            ),
            (
                flags(Some("GSSAPI"), Some("vigil"), path),
                "--logger_kafka_sasl_mechanism=GSSAPI is not PLAIN, SCRAM-SHA-256, SCRAM-SHA-512",
            ),
        ];
        for (flags, expected) in cases {
            let error = format!("{:#}", flags.login().expect_err("refused"));
            assert!(error.contains(expected), "{flags:?}: {error}");
        }
    }

    #[test]
    fn a_missing_or_empty_password_file_is_named() {
        let missing = Path::new("/nonexistent/kafka-password");
        let error = format!(
            "{:#}",
            flags(Some("PLAIN"), Some("vigil"), Some(missing))
                .login()
                .expect_err("missing")
        );
        assert!(
            error.starts_with(
                "--logger_kafka_sasl_password_file /nonexistent/kafka-password: cannot read it"
            ),
            "{error}"
        );
        let empty = password_file("\n");
        let error = format!(
            "{:#}",
            flags(Some("PLAIN"), Some("vigil"), Some(empty.path()))
                .login()
                .expect_err("empty")
        );
        assert!(error.contains("is empty"), "{error}");
    }

    #[test]
    fn the_login_sets_the_mechanism_credentials_and_protocol_by_tls() {
        let file = password_file("s3cret pass\r\n");
        let login = flags(Some("scram-sha-512"), Some("vigil"), Some(file.path()))
            .login()
            .expect("login")
            .expect("SASL");
        assert!(
            !format!("{login:?}").contains("s3cret"),
            "the password stays out of Debug"
        );
        for (tls, protocol) in [(true, "sasl_ssl"), (false, "sasl_plaintext")] {
            let mut config = ClientConfig::new();
            login.apply(&mut config, tls);
            assert_eq!(config.get("security.protocol"), Some(protocol));
            assert_eq!(config.get("sasl.mechanism"), Some("SCRAM-SHA-512"));
            assert_eq!(config.get("sasl.username"), Some("vigil"));
            assert_eq!(config.get("sasl.password"), Some("s3cret pass"));
        }
    }
}
