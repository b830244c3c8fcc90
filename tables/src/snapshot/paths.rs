//! Which files `file` and `hash` read: the paths and directories a query names, with osquery's
//! LIKE patterns (`%` within one path component, `%%` everything below). Without such a
//! constraint they refuse to run, instead of walking the whole disk.

use std::path::{Path, PathBuf};

use super::util::failed;
use crate::table::{ScanRequest, TableError, Value};

/// Files a query names through its `path` and `directory` columns.
pub fn requested_paths(
    table: &'static str,
    request: &ScanRequest,
    path_column: usize,
    directory_column: usize,
) -> Result<Vec<PathBuf>, TableError> {
    let mut out = Vec::new();
    let mut constrained = false;
    for value in request.equal_values(path_column) {
        constrained = true;
        if let Some(path) = value.as_text() {
            out.push(PathBuf::from(path));
        }
    }
    for pattern in request.like_patterns(path_column) {
        constrained = true;
        expand_pattern(pattern, &mut out);
    }
    for value in request.equal_values(directory_column) {
        constrained = true;
        if let Some(dir) = value.as_text() {
            list_directory(Path::new(dir), &mut out);
        }
    }
    for pattern in request.like_patterns(directory_column) {
        constrained = true;
        let mut dirs = Vec::new();
        expand_pattern(pattern, &mut dirs);
        for dir in dirs.iter().filter(|d| d.is_dir()) {
            list_directory(dir, &mut out);
        }
    }
    if !constrained {
        return Err(failed(
            table,
            format!(
                "{table} needs a path or directory: add WHERE path = '/etc/passwd', \
                 WHERE path LIKE '/etc/%' (one level; '%%' for all below), or \
                 WHERE directory = '/etc'"
            ),
        ));
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn list_directory(dir: &Path, out: &mut Vec<PathBuf>) {
    match std::fs::read_dir(dir) {
        Ok(entries) => out.extend(entries.flatten().map(|e| e.path())),
        Err(error) => tracing::debug!(dir = %dir.display(), %error, "directory unreadable"),
    }
}

/// SQL LIKE within one component: `%` any run, `_` any one character.
fn component_like(pattern: &str, name: &str) -> bool {
    fn go(p: &[char], n: &[char]) -> bool {
        match p.split_first() {
            None => n.is_empty(),
            Some(('%', rest)) => (0..=n.len()).any(|i| go(rest, &n[i..])),
            Some(('_', rest)) => !n.is_empty() && go(rest, &n[1..]),
            Some((c, rest)) => n.first() == Some(c) && go(rest, &n[1..]),
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    go(&p, &n)
}

/// Everything below `dir`, without following symlinks (so a link cycle cannot loop).
fn walk_below(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        out.push(path.clone());
        if is_dir {
            walk_below(&path, out);
        }
    }
}

/// Expands an osquery LIKE path pattern against the filesystem.
pub fn expand_pattern(pattern: &str, out: &mut Vec<PathBuf>) {
    if !pattern.contains(['%', '_']) {
        out.push(PathBuf::from(pattern));
        return;
    }
    let components: Vec<&str> = pattern.split('/').filter(|c| !c.is_empty()).collect();
    let mut current = vec![PathBuf::from("/")];
    for (i, component) in components.iter().enumerate() {
        let last = i + 1 == components.len();
        if *component == "%%" && last {
            let mut below = Vec::new();
            for dir in &current {
                walk_below(dir, &mut below);
            }
            out.extend(below);
            return;
        }
        let mut next = Vec::new();
        for dir in &current {
            if !component.contains(['%', '_']) {
                next.push(dir.join(component));
                continue;
            }
            let Ok(entries) = std::fs::read_dir(dir) else {
                continue;
            };
            for entry in entries.flatten() {
                if component_like(component, &entry.file_name().to_string_lossy()) {
                    next.push(entry.path());
                }
            }
        }
        current = next;
    }
    out.extend(current.into_iter().filter(|p| p.symlink_metadata().is_ok()));
}

/// The `directory` column of a path: its parent, as osquery shows it.
pub fn directory_of(path: &Path) -> Value {
    path.parent().map_or(Value::Text(String::new()), |p| {
        Value::Text(p.to_string_lossy().into_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_within_a_component() {
        assert!(component_like("%.conf", "resolv.conf"));
        assert!(component_like("pass_d", "passwd"));
        assert!(!component_like("%.conf", "hosts"));
    }

    #[test]
    fn patterns_expand_one_level_or_everything_below() {
        let dir = tempfile::tempdir().expect("dir");
        let root = dir.path();
        std::fs::create_dir_all(root.join("a/b")).expect("dirs");
        std::fs::write(root.join("a/one.txt"), "1").expect("file");
        std::fs::write(root.join("a/b/two.txt"), "2").expect("file");
        let mut one_level = Vec::new();
        expand_pattern(&format!("{}/a/%", root.display()), &mut one_level);
        one_level.sort();
        assert_eq!(one_level, vec![root.join("a/b"), root.join("a/one.txt")]);
        let mut all = Vec::new();
        expand_pattern(&format!("{}/a/%%", root.display()), &mut all);
        all.sort();
        assert_eq!(
            all,
            vec![
                root.join("a/b"),
                root.join("a/b/two.txt"),
                root.join("a/one.txt")
            ]
        );
        let mut txt = Vec::new();
        expand_pattern(&format!("{}/%/%.txt", root.display()), &mut txt);
        assert_eq!(txt, vec![root.join("a/one.txt")]);
    }
}
