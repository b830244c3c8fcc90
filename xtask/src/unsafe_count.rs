//! Every `unsafe` in the workspace, counted per crate and each checked for its `// SAFETY:`
//! comment (or a `# Safety` doc section); the counts are the table in SECURITY.md, which
//! `cargo xtask unsafe-count --write` rewrites and a test holds to the sources, so the number
//! cannot go stale. A crate with none forbids it (`#![forbid(unsafe_code)]` in its root).

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

/// The crates and where their sources are, most specific first (a file counts for the first
/// whose directory holds it); the crate root that must forbid `unsafe` when it has none.
const CRATES: &[(&str, &str, Option<&str>)] = &[
    (
        "vigil-ebpf-common",
        "agent-ebpf/common",
        Some("agent-ebpf/common/src/lib.rs"),
    ),
    ("vigil-ebpf", "agent-ebpf", None),
    (
        "vigil-config",
        "agent/config",
        Some("agent/config/src/lib.rs"),
    ),
    (
        "vigil-remote-api",
        "agent/remote-api",
        Some("agent/remote-api/src/lib.rs"),
    ),
    ("vigil", "agent", Some("agent/src/main.rs")),
    ("vigil-events", "events", Some("events/src/lib.rs")),
    ("vigil-state", "state", Some("state/src/lib.rs")),
    (
        "vigil-formats",
        "tables/formats",
        Some("tables/formats/src/lib.rs"),
    ),
    ("vigil-tables", "tables", Some("tables/src/lib.rs")),
    ("xtask", "xtask", Some("xtask/src/main.rs")),
    ("end-to-end tests", "tests", None),
    ("fuzz targets", "fuzz", None),
];

const BEGIN: &str = "<!-- unsafe-count:begin -->";
const END: &str = "<!-- unsafe-count:end -->";

/// One `unsafe` in a file: its line (1-based), and whether a SAFETY comment justifies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Use {
    pub line: usize,
    pub justified: bool,
}

/// Whether `code` (a line without its comment) has the `unsafe` keyword: a block, an impl, a fn,
/// an extern block, a trait, or an unsafe attribute (`#[unsafe(no_mangle)]`).
fn has_unsafe(code: &str) -> bool {
    let mut rest = code;
    while let Some(at) = rest.find("unsafe") {
        let before = rest[..at].chars().next_back();
        let after = rest[at + "unsafe".len()..].trim_start();
        let word_start = before.is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
        let keyword_use = after.starts_with('{')
            || after.starts_with('(')
            || ["impl", "fn", "extern", "trait"].iter().any(|kw| {
                after.strip_prefix(kw).is_some_and(|tail| {
                    !tail.starts_with(|c: char| c.is_alphanumeric() || c == '_')
                })
            });
        let glued =
            rest[at + "unsafe".len()..].starts_with(|c: char| c.is_alphanumeric() || c == '_');
        if word_start && keyword_use && !glued {
            return true;
        }
        rest = &rest[at + "unsafe".len()..];
    }
    false
}

fn code_of(line: &str) -> &str {
    line.split("//").next().unwrap_or_default()
}

/// The `unsafe` uses in a Rust source. A use is justified by `SAFETY:` on its line, or in the
/// comments right above the statement it is in (attributes between them are fine).
pub fn uses_in(text: &str) -> Vec<Use> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        if !has_unsafe(code_of(line)) {
            continue;
        }
        let mut justified = line.contains("SAFETY:");
        for above in lines[..index].iter().rev().map(|l| l.trim()) {
            if justified {
                break;
            }
            if above.contains("SAFETY:") || above.contains("# Safety") {
                justified = true;
            } else if above.is_empty() {
                break;
            } else if above.starts_with("//") || above.starts_with("#[") {
                continue;
            } else {
                let code = code_of(above).trim_end();
                if code.ends_with(';')
                    || code.ends_with('{')
                    || code.ends_with('}')
                    || has_unsafe(code)
                {
                    break;
                }
            }
        }
        found.push(Use {
            line: index + 1,
            justified,
        });
    }
    found
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if path.is_dir() {
            if name != "target" && !name.starts_with('.') {
                rust_files(&path, out)?;
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
    Ok(())
}

/// Per crate: its name and how many `unsafe` it has; and every use without its SAFETY comment.
pub struct Census {
    pub counts: Vec<(&'static str, usize)>,
    pub unjustified: Vec<String>,
    /// Crates with no `unsafe` whose root does not forbid it.
    pub unforbidden: Vec<String>,
}

pub fn census(root: &Path) -> anyhow::Result<Census> {
    let mut files = Vec::new();
    for (_, dir, _) in CRATES {
        if root.join(dir).exists() {
            rust_files(&root.join(dir), &mut files)?;
        }
    }
    files.sort();
    files.dedup();
    let mut counts: Vec<(&'static str, usize)> = CRATES.iter().map(|(n, _, _)| (*n, 0)).collect();
    let mut unjustified = Vec::new();
    for file in files {
        let relative = file.strip_prefix(root).unwrap_or(&file);
        let Some(slot) = CRATES
            .iter()
            .position(|(_, dir, _)| relative.starts_with(dir))
        else {
            continue;
        };
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("reading {}", file.display()))?;
        for found in uses_in(&text) {
            counts[slot].1 += 1;
            if !found.justified {
                unjustified.push(format!("{}:{}", relative.display(), found.line));
            }
        }
    }
    let mut unforbidden = Vec::new();
    for ((name, _, crate_root), (_, count)) in CRATES.iter().zip(&counts) {
        let Some(crate_root) = crate_root else {
            continue;
        };
        let text = std::fs::read_to_string(root.join(crate_root)).unwrap_or_default();
        if *count == 0 && !text.contains("#![forbid(unsafe_code)]") {
            unforbidden.push(format!("{name} ({crate_root})"));
        }
    }
    Ok(Census {
        counts,
        unjustified,
        unforbidden,
    })
}

/// The table SECURITY.md holds between its markers.
pub fn table(counts: &[(&str, usize)]) -> String {
    let mut text = String::from("| crate | `unsafe` uses |\n|---|---|\n");
    for (name, count) in counts {
        let forbids = CRATES
            .iter()
            .any(|(n, _, root)| n == name && root.is_some());
        if *count == 0 && forbids {
            text.push_str(&format!("| {name} | 0 (`#![forbid(unsafe_code)]`) |\n"));
        } else {
            text.push_str(&format!("| {name} | {count} |\n"));
        }
    }
    let total: usize = counts.iter().map(|(_, c)| c).sum();
    text.push_str(&format!("| **all** | **{total}** |\n"));
    text
}

/// What SECURITY.md holds between the markers, or an error naming what is missing.
fn written_table(security_md: &str) -> anyhow::Result<&str> {
    let start = security_md
        .find(BEGIN)
        .with_context(|| format!("SECURITY.md has no {BEGIN} marker"))?;
    let end = security_md
        .find(END)
        .with_context(|| format!("SECURITY.md has no {END} marker"))?;
    Ok(security_md[start + BEGIN.len()..end].trim_matches('\n'))
}

/// Checks the workspace at `root`: every `unsafe` justified, every crate without one forbidding
/// it, and SECURITY.md's table up to date (rewritten with `write`).
pub fn run(root: &Path, write: bool) -> anyhow::Result<()> {
    let census = census(root)?;
    let expected = table(&census.counts);
    let path = root.join("SECURITY.md");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    if write {
        written_table(&text)?;
        let (before, rest) = text.split_once(BEGIN).unwrap_or((&text, ""));
        let (_, after) = rest.split_once(END).unwrap_or(("", rest));
        let updated = format!("{before}{BEGIN}\n{}\n{END}{after}", expected.trim_end());
        std::fs::write(&path, updated).with_context(|| format!("writing {}", path.display()))?;
    }
    let mut problems = Vec::new();
    if !census.unjustified.is_empty() {
        problems.push(format!(
            "`unsafe` without a `// SAFETY:` comment saying why it holds: {}",
            census.unjustified.join(", ")
        ));
    }
    if !census.unforbidden.is_empty() {
        problems.push(format!(
            "crates with no `unsafe` must say `#![forbid(unsafe_code)]` in their root: {}",
            census.unforbidden.join(", ")
        ));
    }
    if !write && written_table(&std::fs::read_to_string(&path)?)? != expected.trim_end() {
        problems.push(format!(
            "SECURITY.md's count of `unsafe` is stale; run `cargo xtask unsafe-count --write`. \
             It should read:\n{expected}"
        ));
    }
    if !problems.is_empty() {
        bail!("{}", problems.join("\n"));
    }
    println!("{expected}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_impls_fns_and_attributes_count_and_names_do_not() {
        // Spelled UNSAFE here, so that this file's own census does not count the sample.
        let text = "\
// SAFETY: fine.
let a = UNSAFE { f() };
let b = UNSAFE { g() };

fn allow_unsafe() {}
let s = \"unsafe permissions\";
#[UNSAFE(no_mangle)]
/// # Safety
/// Callers uphold it.
pub UNSAFE fn h() {}
// SAFETY: the struct is repr(C).
#[allow(dead_code)]
UNSAFE impl Send for X {}
let c = call(
    // SAFETY: valid pointer.
    UNSAFE { p.read() },
);
"
        .replace("UNSAFE", "unsafe");
        let uses = uses_in(&text);
        assert_eq!(
            uses,
            vec![
                Use {
                    line: 2,
                    justified: true
                },
                Use {
                    line: 3,
                    justified: false
                },
                Use {
                    line: 7,
                    justified: false
                },
                Use {
                    line: 10,
                    justified: true
                },
                Use {
                    line: 13,
                    justified: true
                },
                Use {
                    line: 16,
                    justified: true
                },
            ]
        );
    }

    /// The workspace itself: what CI holds every change to.
    #[test]
    fn every_unsafe_is_justified_and_security_md_counts_them() {
        let root = crate::workspace_root();
        if let Err(error) = run(&root, false) {
            panic!("{error:#}");
        }
    }
}
