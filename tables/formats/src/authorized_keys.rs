//! OpenSSH `authorized_keys` lines (sshd(8), "AUTHORIZED_KEYS FILE FORMAT"):
//! `[options] keytype base64-key [comment]`, where options are comma-separated and may hold
//! double-quoted strings with spaces (`command="echo hi",no-pty`).

/// One key line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizedKey {
    pub options: String,
    pub algorithm: String,
    pub key: String,
    pub comment: String,
}

/// The key a line holds; `None` for comments, blank lines and lines without a key type and key.
pub fn line(line: &str) -> Option<AuthorizedKey> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let (first, rest) = split_field(line);
    let (options, algorithm, rest) = if is_key_type(first) {
        ("", first, rest)
    } else {
        let (algorithm, rest) = split_field(rest);
        (first, algorithm, rest)
    };
    if !is_key_type(algorithm) {
        return None;
    }
    let (key, comment) = split_field(rest);
    if key.is_empty() {
        return None;
    }
    Some(AuthorizedKey {
        options: options.to_owned(),
        algorithm: algorithm.to_owned(),
        key: key.to_owned(),
        comment: comment.to_owned(),
    })
}

/// The key types sshd accepts: `ssh-*`, `ecdsa-sha2-*`, `sk-*@openssh.com`, and their
/// certificate forms.
fn is_key_type(word: &str) -> bool {
    (word.starts_with("ssh-") || word.starts_with("ecdsa-sha2-") || word.starts_with("sk-"))
        && word.len() > 4
        && !word.contains(['"', ',', '='])
}

/// The first field (up to blank space outside double quotes) and the rest, trimmed.
fn split_field(text: &str) -> (&str, &str) {
    let text = text.trim_start();
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            ' ' | '\t' if !quoted => {
                let (field, rest) = text.split_at(i);
                return (field, rest.trim());
            }
            _ => {}
        }
    }
    (text, "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_with_and_without_options() {
        let plain = line("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMq alice@laptop").expect("a key");
        assert_eq!(
            plain,
            AuthorizedKey {
                options: String::new(),
                algorithm: "ssh-ed25519".into(),
                key: "AAAAC3NzaC1lZDI1NTE5AAAAIOMq".into(),
                comment: "alice@laptop".into(),
            }
        );
        let with_options = line(
            "command=\"/usr/bin/rsync --server -e.Lsfx . /backup\",no-pty,from=\"10.0.0.0/8\" \
             ecdsa-sha2-nistp256 AAAAE2VjZHNh backup key 2024",
        )
        .expect("a key with options");
        assert_eq!(
            with_options.options,
            "command=\"/usr/bin/rsync --server -e.Lsfx . /backup\",no-pty,from=\"10.0.0.0/8\""
        );
        assert_eq!(with_options.algorithm, "ecdsa-sha2-nistp256");
        assert_eq!(with_options.key, "AAAAE2VjZHNh");
        assert_eq!(with_options.comment, "backup key 2024");
        let security_key =
            line("no-touch-required sk-ssh-ed25519@openssh.com AAAAGnNr").expect("a security key");
        assert_eq!(security_key.comment, "");
    }

    #[test]
    fn lines_without_a_key() {
        for text in [
            "# ssh-rsa AAAA x",
            "",
            "ssh-rsa",
            "no-pty",
            "no-pty ssh-rsa",
            "command=\"unterminated ssh-rsa AAAA",
            "1024 35 1234567 protocol-one",
        ] {
            assert_eq!(line(text), None, "{text:?}");
        }
    }
}
