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
    // Quoted strings exist in the options only; the fields after them split at blanks.
    let (first, rest) = split_options(line);
    let (options, algorithm, rest) = if is_key_type(first) {
        let (algorithm, rest) = split_plain(line);
        ("", algorithm, rest)
    } else {
        let (algorithm, rest) = split_plain(rest);
        (first, algorithm, rest)
    };
    if !is_key_type(algorithm) {
        return None;
    }
    let (key, comment) = split_plain(rest);
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

/// The first field and the rest, trimmed, splitting at the first space or tab (sshd's blanks).
fn split_plain(text: &str) -> (&str, &str) {
    let text = text.trim_start_matches([' ', '\t']);
    match text.split_once([' ', '\t']) {
        Some((field, rest)) => (field, rest.trim_matches([' ', '\t'])),
        None => (text, ""),
    }
}

/// The options field (up to blank space outside double quotes) and the rest, trimmed.
fn split_options(text: &str) -> (&str, &str) {
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
    fn quotes_matter_in_options_only() {
        // A `"` in the key does not open a quoted string: the key ends at the next blank.
        let key = line("ssh-ed25519 AAAA\"x comment with \"quotes\"").expect("a key");
        assert_eq!(key.key, "AAAA\"x");
        assert_eq!(key.comment, "comment with \"quotes\"");
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
