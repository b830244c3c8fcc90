//! apt's repository lists: one-line `sources.list` entries, deb822 `.sources` files, and the
//! `Release` files apt keeps for each (`/var/lib/apt/lists/`), as `apt_sources` reports them.

use crate::deb822;

/// A binary (`deb`) repository: what names it, and where apt caches its `Release` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AptSource {
    /// The URI without trailing slashes.
    pub base_uri: String,
    /// The URI without its scheme, a space, the suite: `deb.debian.org/debian bookworm`.
    pub name: String,
    /// The prefix of the file names apt gives this repository's lists in
    /// `/var/lib/apt/lists/` (`deb.debian.org_debian_dists_bookworm`); the `Release` file is
    /// `<prefix>_InRelease` or `<prefix>_Release`.
    pub cache_prefix: String,
}

impl AptSource {
    fn new(uri: &str, suite: &str) -> Option<Self> {
        let base_uri = uri.trim_end_matches('/');
        let (_, host_path) = base_uri.split_once("://")?;
        if host_path.is_empty() || suite.is_empty() {
            return None;
        }
        let mut parts = vec![host_path];
        let suite_parts: Vec<&str> = suite.split('/').filter(|p| !p.is_empty()).collect();
        if !suite.contains('/') {
            // A distribution: its lists live under `dists/<suite>`. (A flat repository's
            // suite is a path, `./` or `stable/`, with a `/`.)
            parts.push("dists");
        }
        parts.extend(suite_parts);
        Some(Self {
            base_uri: base_uri.to_owned(),
            name: format!("{host_path} {suite}"),
            cache_prefix: parts.join("_").replace('/', "_"),
        })
    }
}

/// A `sources.list` line: `deb [options] uri suite [component...]`. Comments, `deb-src`
/// lines and lines that do not name a URI with a scheme and a suite give `None`.
pub fn list_line(line: &str) -> Option<AptSource> {
    let line = line.split('#').next().unwrap_or("");
    let mut tokens = line.split_whitespace();
    if tokens.next()? != "deb" {
        return None;
    }
    let mut token = tokens.next()?;
    if token.starts_with('[') {
        // Options run to the token that closes them (`[arch=amd64 signed-by=/k.gpg]`).
        while !token.contains(']') {
            token = tokens.next()?;
        }
        token = tokens.next()?;
    }
    let uri = token;
    let suite = tokens.next()?;
    AptSource::new(uri, suite)
}

/// The binary repositories of a deb822 `.sources` file: each paragraph whose `Types` include
/// `deb` and that is not `Enabled: no` gives one source per URI and suite.
pub fn deb822_sources(text: &str) -> Vec<AptSource> {
    let mut out = Vec::new();
    for paragraph in deb822::paragraphs(text) {
        let words = |name: &str| -> Vec<String> {
            paragraph
                .get(name)
                .map(|v| v.split_whitespace().map(str::to_owned).collect())
                .unwrap_or_default()
        };
        if !words("Types").iter().any(|t| t == "deb") {
            continue;
        }
        if paragraph
            .get("Enabled")
            .is_some_and(|e| matches!(e.trim().to_ascii_lowercase().as_str(), "no" | "false"))
        {
            continue;
        }
        let suites = words("Suites");
        for uri in words("URIs") {
            for suite in &suites {
                out.extend(AptSource::new(&uri, suite));
            }
        }
    }
    out
}

/// What a repository's `Release` (or signed `InRelease`) file says about it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Release {
    pub codename: Option<String>,
    pub version: Option<String>,
    pub origin: Option<String>,
    pub components: Option<String>,
    pub architectures: Option<String>,
}

/// The header fields of a `Release` file, up to the signature (an `InRelease` file's
/// `-----BEGIN PGP SIGNATURE-----`); the file hashes that follow are not read.
pub fn release(text: &str) -> Release {
    let mut release = Release::default();
    for line in text.lines() {
        if line.starts_with("-----BEGIN PGP SIGNATURE-----") {
            break;
        }
        if line.starts_with(' ') || line.starts_with('\t') {
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = Some(value.trim().to_owned());
        match name {
            "Codename" => release.codename = value,
            "Version" => release.version = value,
            "Origin" => release.origin = value,
            "Components" => release.components = value,
            "Architectures" => release.architectures = value,
            _ => {}
        }
    }
    release
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_entries() {
        let source = list_line("deb http://deb.debian.org/debian/ bookworm main contrib")
            .expect("a deb line");
        assert_eq!(source.base_uri, "http://deb.debian.org/debian");
        assert_eq!(source.name, "deb.debian.org/debian bookworm");
        assert_eq!(source.cache_prefix, "deb.debian.org_debian_dists_bookworm");

        let options = list_line(
            "deb [arch=amd64 signed-by=/usr/share/keyrings/k.gpg] https://pkg.example.com/apt stable main # note",
        )
        .expect("a deb line with options");
        assert_eq!(options.name, "pkg.example.com/apt stable");

        let flat = list_line("deb https://repo.example.org/flat ./").expect("a flat repository");
        assert_eq!(flat.cache_prefix, "repo.example.org_flat_.");

        for line in [
            "# deb http://x/ y main",
            "deb-src http://deb.debian.org/debian bookworm main",
            "deb /local/path bookworm",
            "deb http://x/",
            "deb [arch=amd64",
            "",
        ] {
            assert_eq!(list_line(line), None, "{line:?}");
        }
    }

    #[test]
    fn deb822_paragraphs() {
        let text = "\
Types: deb deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm

Types: deb
URIs: http://off.example.com/
Suites: x
Enabled: no
";
        let sources = deb822_sources(text);
        let names: Vec<_> = sources.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "deb.debian.org/debian bookworm",
                "deb.debian.org/debian bookworm-updates"
            ]
        );
    }

    #[test]
    fn release_header_up_to_the_signature() {
        let text = "\
-----BEGIN PGP SIGNED MESSAGE-----
Hash: SHA512

Origin: Debian
Label: Debian
Suite: stable
Version: 12.11
Codename: bookworm
Date: Sat, 17 May 2025 09:20:39 UTC
Architectures: all amd64 arm64
Components: main contrib non-free-firmware non-free
MD5Sum:
 0ed6d4c8891eb86358b94bb35d9e4da4  1484322 contrib/Contents-all
-----BEGIN PGP SIGNATURE-----
Origin: forged
";
        let release = release(text);
        assert_eq!(release.origin.as_deref(), Some("Debian"));
        assert_eq!(release.codename.as_deref(), Some("bookworm"));
        assert_eq!(release.version.as_deref(), Some("12.11"));
        assert_eq!(release.architectures.as_deref(), Some("all amd64 arm64"));
        assert_eq!(
            release.components.as_deref(),
            Some("main contrib non-free-firmware non-free")
        );
    }
}
