//! `os_version`: the distribution from `os-release`, and the machine architecture from `uname`.

use crate::row::table_row;
use crate::snapshot::util::rows;
use crate::table::{Column, Row, Rows, ScanRequest, Table, TableError, Value};

const NAME: &str = "os_version";
/// The systemd os-release locations: `/etc` first, `/usr/lib` when `/etc` has none.
const OS_RELEASE: &[&str] = &["/etc/os-release", "/usr/lib/os-release"];

table_row! {
    struct OsVersionRow {
        name: Text,
        version: Text,
        major: Integer,
        minor: Integer,
        patch: Integer,
        build: Text,
        platform: Text,
        platform_like: Text,
        codename: Text,
        arch: Text,
    }
}

pub struct OsVersion;

impl Table for OsVersion {
    fn name(&self) -> &'static str {
        NAME
    }

    fn columns(&self) -> &'static [Column] {
        OsVersionRow::COLUMNS
    }

    fn scan(&self, _request: &ScanRequest) -> Result<Rows, TableError> {
        let content = OS_RELEASE
            .iter()
            .find_map(|path| std::fs::read_to_string(path).ok())
            .unwrap_or_default();
        let release = OsRelease::parse(&content);
        let [major, minor, patch] = release.version_numbers();
        let row = OsVersionRow {
            // osquery's defaults for a system that does not say.
            name: release.name.unwrap_or_else(|| "Unknown".to_owned()).into(),
            version: release.version.into(),
            major: major.into(),
            minor: minor.into(),
            patch: patch.into(),
            build: release.build_id.into(),
            platform: release.id.unwrap_or_else(|| "posix".to_owned()).into(),
            platform_like: release.id_like.into(),
            codename: release.codename.into(),
            arch: machine().map_or(Value::Null, Value::Text),
        };
        Ok(rows(vec![Row::from(row)]))
    }
}

#[derive(Debug, Default)]
struct OsRelease {
    name: Option<String>,
    version: Option<String>,
    version_id: Option<String>,
    build_id: Option<String>,
    id: Option<String>,
    id_like: Option<String>,
    codename: Option<String>,
}

impl OsRelease {
    /// `KEY=value` lines, values optionally quoted (os-release(5)); other lines are skipped.
    fn parse(content: &str) -> Self {
        let mut release = Self::default();
        let mut other_codename = None;
        for line in content.lines() {
            let line = line.trim();
            if line.starts_with('#') {
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            let value = Some(unquote(value.trim()));
            match key.trim() {
                "NAME" => release.name = value,
                "VERSION" => release.version = value,
                "VERSION_ID" => release.version_id = value,
                "BUILD_ID" => release.build_id = value,
                "ID" => release.id = value,
                "ID_LIKE" => release.id_like = value,
                "VERSION_CODENAME" => release.codename = value,
                // Some distributions only ship their own (UBUNTU_CODENAME, ...); osquery takes those.
                key if key.contains("CODENAME") => other_codename = value,
                _ => {}
            }
        }
        if release.codename.is_none() {
            release.codename = other_codename;
        }
        release
    }

    /// Major, minor and patch from `VERSION_ID`; parts that are missing or not numbers are 0.
    fn version_numbers(&self) -> [i64; 3] {
        let mut numbers = [0; 3];
        if let Some(id) = &self.version_id {
            for (slot, part) in numbers.iter_mut().zip(id.splitn(3, '.')) {
                *slot = part.trim().parse().unwrap_or(0);
            }
        }
        numbers
    }
}

/// Removes shell-style quotes and the backslash escapes os-release(5) allows inside them.
fn unquote(value: &str) -> String {
    let quoted = |q: char| value.len() >= 2 && value.starts_with(q) && value.ends_with(q);
    if quoted('\'') {
        return value[1..value.len() - 1].to_owned();
    }
    let inner = if quoted('"') {
        &value[1..value.len() - 1]
    } else {
        value
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(next @ ('"' | '\\' | '$' | '`')) => out.push(next),
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `uname -m`.
fn machine() -> Option<String> {
    // SAFETY: utsname is plain bytes, valid zeroed; uname only writes into it.
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: a valid pointer to a utsname we own.
    if unsafe { libc::uname(&mut uts) } != 0 {
        tracing::warn!(error = %std::io::Error::last_os_error(), "os_version: uname failed");
        return None;
    }
    let bytes: Vec<u8> = uts
        .machine
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::Row;

    fn scan() -> Row {
        let mut rows: Vec<Row> = OsVersion
            .scan(&ScanRequest::default())
            .expect("scan os_version")
            .collect::<Result<_, _>>()
            .expect("os_version rows");
        assert_eq!(rows.len(), 1);
        rows.pop().expect("one row")
    }

    /// The value of `key` in /etc/os-release, quotes stripped by hand.
    fn os_release(key: &str) -> Option<String> {
        let content = std::fs::read_to_string("/etc/os-release").ok()?;
        content.lines().find_map(|l| {
            let v = l.strip_prefix(key)?.strip_prefix('=')?;
            Some(v.trim_matches('"').to_owned())
        })
    }

    #[test]
    fn matches_os_release() {
        let row = scan();
        assert_eq!(row.len(), OsVersionRow::COLUMNS.len());
        if let Some(name) = os_release("NAME") {
            assert_eq!(row[0], Value::Text(name));
        }
        assert_eq!(row[1], os_release("VERSION").into());
        if let Some(id) = os_release("ID") {
            assert_eq!(row[6], Value::Text(id));
        }
        if let Some(major) = os_release("VERSION_ID")
            .and_then(|v| v.split('.').next().and_then(|m| m.parse::<i64>().ok()))
        {
            assert_eq!(row[2], Value::Int(major));
        }
        if let Some(codename) = os_release("VERSION_CODENAME") {
            assert_eq!(row[8], Value::Text(codename));
        }
    }

    #[test]
    fn arch_is_the_compile_target() {
        let row = scan();
        let arch = row[9].as_text().expect("arch");
        // Rust's names match the kernel's for these; others are only checked to be present.
        match std::env::consts::ARCH {
            "x86_64" | "aarch64" | "riscv64" => assert_eq!(arch, std::env::consts::ARCH),
            _ => assert!(!arch.is_empty()),
        }
    }

    #[test]
    fn parses_quotes_versions_and_codenames() {
        let release = OsRelease::parse(
            "NAME='Ubuntu'\n# comment\nVERSION=\"22.04.3 LTS (Jammy \\\"Jellyfish\\\")\"\n\
             VERSION_ID=\"22.04.3\"\nUBUNTU_CODENAME=jammy\nbroken line\nID_LIKE=debian\n",
        );
        assert_eq!(release.name.as_deref(), Some("Ubuntu"));
        assert_eq!(
            release.version.as_deref(),
            Some("22.04.3 LTS (Jammy \"Jellyfish\")")
        );
        assert_eq!(release.version_numbers(), [22, 4, 3]);
        assert_eq!(release.codename.as_deref(), Some("jammy"));
        assert_eq!(release.id_like.as_deref(), Some("debian"));
        assert_eq!(OsRelease::parse("").version_numbers(), [0, 0, 0]);
        assert_eq!(
            OsRelease::parse("VERSION_ID=rolling").version_numbers(),
            [0, 0, 0]
        );
    }
}
