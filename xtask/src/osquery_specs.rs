//! `cargo xtask osquery-specs --osquery DIR`: extracts the columns of osquery's table specs
//! (`specs/**/*.table` in a clone of github.com/osquery/osquery), per platform: what a Linux
//! host has into `tables/tests/osquery_integration/specs.tsv`, which the osquery integration test
//! compares vigil's tables with; what a Windows host has into `specs-windows.tsv`, which the
//! Windows tables' columns are checked against (on any host). A platform's columns are the base
//! schema and the `extended_schema`s naming it, from the spec directories its build uses.

use std::{
    fmt::Write as _,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context as _, bail};

/// A platform whose columns are extracted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    Linux,
    Windows,
}

impl Platform {
    /// Where the extract lives, from the workspace root.
    pub fn extract(self) -> &'static str {
        match self {
            Platform::Linux => "tables/tests/osquery_integration/specs.tsv",
            Platform::Windows => "tables/tests/osquery_integration/specs-windows.tsv",
        }
    }

    /// Spec directories of the platform's build (`specs/*.table` too).
    fn dirs(self) -> &'static [&'static str] {
        match self {
            Platform::Linux => &[
                "specs/linux/",
                "specs/posix/",
                "specs/utility/",
                "specs/linwin/",
            ],
            Platform::Windows => &[
                "specs/windows/",
                "specs/utility/",
                "specs/linwin/",
                "specs/macwin/",
            ],
        }
    }

    /// The names an `extended_schema` gives the platform (`LINUX + DARWIN`, `POSIX`).
    fn names(self) -> &'static [&'static str] {
        match self {
            Platform::Linux => &["LINUX", "POSIX"],
            Platform::Windows => &["WINDOWS"],
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Platform::Linux => "Linux columns (schema + LINUX/POSIX extended_schema)",
            Platform::Windows => "Windows columns (schema + WINDOWS extended_schema)",
        }
    }
}

/// Specs osquery removed that vigil still has the tables of, from the commit before the removal
/// ("Upgrade Linux toolchain to 1.3.0 (#8814)" removed the BPF tables).
const REMOVED: &[(&str, &str)] = &[
    (
        "484e1d051e9a680a6d748c4bc87887339bdc20d8^",
        "specs/linux/bpf_process_events.table",
    ),
    (
        "484e1d051e9a680a6d748c4bc87887339bdc20d8^",
        "specs/linux/bpf_socket_events.table",
    ),
];

/// One column of a spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecColumn {
    pub name: String,
    pub ty: String,
    pub hidden: bool,
}

/// A table's name and its columns on one platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    pub table: String,
    pub columns: Vec<SpecColumn>,
}

fn git(repo: &Path, args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .output()
        .with_context(|| format!("running git in {}", repo.display()))?;
    if !out.status.success() {
        bail!(
            "git {} in {}: {}",
            args.join(" "),
            repo.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

pub fn run(root: &Path, osquery: &Path, rev: &str) -> anyhow::Result<()> {
    let commit = git(osquery, &["rev-parse", rev])?.trim().to_owned();
    for platform in [Platform::Linux, Platform::Windows] {
        extract(root, osquery, &commit, platform)?;
    }
    Ok(())
}

fn extract(root: &Path, osquery: &Path, commit: &str, platform: Platform) -> anyhow::Result<()> {
    let listing = git(osquery, &["ls-tree", "-r", "--name-only", commit, "specs"])?;
    let mut sources: Vec<(String, String)> = listing
        .lines()
        .filter(|path| path.ends_with(".table"))
        .filter(|path| {
            let top_level = path.matches('/').count() == 1;
            top_level || platform.dirs().iter().any(|dir| path.starts_with(dir))
        })
        .map(|path| (commit.to_owned(), path.to_owned()))
        .collect();
    if platform == Platform::Linux {
        sources.extend(
            REMOVED
                .iter()
                .map(|(rev, path)| (rev.to_string(), path.to_string())),
        );
    }
    let mut specs = Vec::new();
    for (rev, path) in &sources {
        let text = git(osquery, &["show", &format!("{rev}:{path}")])?;
        let spec = parse(&text, platform).with_context(|| format!("{rev}:{path}"))?;
        specs.push((spec, format!("{rev}:{path}")));
    }
    specs.sort_by(|a, b| a.0.table.cmp(&b.0.table));
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# osquery's table specs, {}, from github.com/osquery/osquery at {commit}.",
        platform.describe()
    );
    let _ = writeln!(
        out,
        "# Regenerate: cargo xtask osquery-specs --osquery <clone of osquery> [--rev <rev>]"
    );
    let _ = writeln!(out, "# table\tcolumn\ttype\thidden\tsource");
    for (spec, source) in &specs {
        for column in &spec.columns {
            let _ = writeln!(
                out,
                "{}\t{}\t{}\t{}\t{source}",
                spec.table,
                column.name,
                column.ty,
                if column.hidden { "hidden" } else { "-" }
            );
        }
    }
    let target: PathBuf = root.join(platform.extract());
    std::fs::write(&target, out).with_context(|| format!("writing {}", target.display()))?;
    println!("{} tables written to {}", specs.len(), target.display());
    Ok(())
}

/// The end of the string literal starting at `start` (a `"`), after its closing quote.
fn string_end(text: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    while i < text.len() {
        match text[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// The index just past the `)` that closes the `(` at `open`, skipping string literals.
fn closing(text: &[u8], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = open;
    while i < text.len() {
        match text[i] {
            b'"' | b'\'' => {
                let quote = text[i];
                i += 1;
                while i < text.len() && text[i] != quote {
                    i += if text[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'(' | b'[' => depth += 1,
            b')' | b']' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The columns a spec's text gives `platform`.
pub fn parse(text: &str, platform: Platform) -> anyhow::Result<Spec> {
    // A few specs write `schema ([` (ntfs_journal_events).
    let text = &text.replace("schema (", "schema(");
    let bytes = text.as_bytes();
    let table = text
        .split_once("table_name(\"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(name, _)| name.to_owned())
        .context("no table_name(\"...\")")?;
    let mut columns = Vec::new();
    let mut at = 0;
    while let Some(found) = next_block(text, at, platform) {
        let (start, applies) = found;
        let open = start + text[start..].find('(').context("a block without (")?;
        let end = closing(bytes, open).context("an unclosed schema block")?;
        if applies {
            columns.extend(block_columns(&text[open..end])?);
        }
        at = end;
    }
    if columns.is_empty() {
        bail!("{table}: no columns");
    }
    Ok(Spec { table, columns })
}

/// The next `schema(` or `extended_schema(` from `from`, and whether `platform` has it.
fn next_block(text: &str, from: usize, platform: Platform) -> Option<(usize, bool)> {
    let at = from + text[from..].find("schema(")?;
    match at.checked_sub("extended_".len()) {
        Some(start) if text[..at].ends_with("extended_") => {
            Some((start, extended_applies(&text[start..], platform)))
        }
        _ => Some((at, true)),
    }
}

/// `extended_schema(LINUX, ...`, `(LINUX + DARWIN, ...`, `(POSIX, ...`: for Linux;
/// `(WINDOWS, ...`: for Windows.
fn extended_applies(block: &str, platform: Platform) -> bool {
    let platforms = block
        .trim_start_matches("extended_schema(")
        .split(',')
        .next()
        .unwrap_or_default();
    platforms
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .any(|p| platform.names().contains(&p))
}

fn block_columns(block: &str) -> anyhow::Result<Vec<SpecColumn>> {
    let bytes = block.as_bytes();
    let mut columns = Vec::new();
    let mut at = 0;
    while let Some(i) = block[at..].find("Column(") {
        let open = at + i + "Column".len();
        let end = closing(bytes, open).context("an unclosed Column(")?;
        // A column left out with a Python comment (`#Column(...)`: pci_devices' optional ones).
        let line_start = block[..at + i].rfind('\n').map_or(0, |n| n + 1);
        if block[line_start..at + i].trim_start().starts_with('#') {
            at = end;
            continue;
        }
        let inner = &block[open + 1..end - 1];
        let name_start = inner.find('"').context("a column without a name")?;
        let name_end = string_end(inner.as_bytes(), name_start).context("an unclosed name")?;
        let name = inner[name_start + 1..name_end - 1].to_owned();
        let ty = inner[name_end..]
            .trim_start_matches([',', ' ', '\n'])
            .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
            .next()
            .unwrap_or_default()
            .to_owned();
        // Options come after the description string.
        let description_end = inner[name_end..]
            .find('"')
            .and_then(|q| string_end(inner.as_bytes(), name_end + q))
            .unwrap_or(name_end);
        let options = &inner[description_end..];
        let hidden = options.replace(' ', "").contains("hidden=True");
        columns.push(SpecColumn { name, ty, hidden });
        at = end;
    }
    Ok(columns)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = r#"table_name("file")
description("Interactive (filesystem) attributes.")
schema([
    Column("path", TEXT, "Absolute file path", required=True, index=True),
    Column("on_disk", INTEGER,
        "The process path exists yes=1, no=0 (or \"unknown\")"),
    Column("time", BIGINT, "Time", hidden=True, additional=True),
])
extended_schema(WINDOWS, [
    Column("attributes", TEXT, "File attrib string"),
])
extended_schema(LINUX + DARWIN, [
    Column("pid_with_namespace", INTEGER, "Pids (hidden=True in text)", hidden=True),
])
extended_schema(POSIX, [
    Column("mode", TEXT, "Permission bits"),
    #Column("express", INTEGER, "Left out with a comment"),
])
implementation("utility/file@genFile")
"#;

    #[test]
    fn linux_columns_with_types_and_hidden() {
        let spec = parse(SPEC, Platform::Linux).expect("parses");
        assert_eq!(spec.table, "file");
        let columns: Vec<(&str, &str, bool)> = spec
            .columns
            .iter()
            .map(|c| (c.name.as_str(), c.ty.as_str(), c.hidden))
            .collect();
        assert_eq!(
            columns,
            [
                ("path", "TEXT", false),
                ("on_disk", "INTEGER", false),
                ("time", "BIGINT", true),
                ("pid_with_namespace", "INTEGER", true),
                ("mode", "TEXT", false),
            ]
        );
    }

    #[test]
    fn windows_columns_are_the_base_and_windows_extension() {
        let spec = parse(SPEC, Platform::Windows).expect("parses");
        let names: Vec<&str> = spec.columns.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["path", "on_disk", "time", "attributes"]);
    }
}
