//! Which files `file` and `hash` read: the paths and directories a query names, with osquery's
//! LIKE patterns (`%` within one path component, `%%` everything below). Without such a
//! constraint they refuse to run, instead of walking the whole disk.

use std::path::{Path, PathBuf};

use super::{namespace::Root, util::failed};
use crate::table::{ScanRequest, TableError, Value};

/// Directory levels a `%%` walk descends below where it starts; deeper directories are listed
/// but not entered (with a warning). Real trees are far shallower; a planted one can be deep
/// enough to exhaust a recursive walk.
pub const MAX_DEPTH: usize = 64;
/// Paths one scan may gather; past it the scan fails, naming the bound, rather than holding the
/// whole disk's names in memory.
pub const MAX_ENTRIES: usize = 250_000;

/// What one scan's walk has gathered, against its bounds.
struct Walk {
    table: &'static str,
    /// Where names are looked up: `/`, or a process's root for `pid_with_namespace`.
    root: PathBuf,
    entries: usize,
    max_depth: usize,
    max_entries: usize,
    /// The first directory left unentered at the depth bound.
    too_deep: Option<PathBuf>,
}

impl Walk {
    fn new(table: &'static str) -> Self {
        Self::bounded(table, MAX_DEPTH, MAX_ENTRIES)
    }

    fn bounded(table: &'static str, max_depth: usize, max_entries: usize) -> Self {
        Self {
            table,
            root: PathBuf::from("/"),
            entries: 0,
            max_depth,
            max_entries,
            too_deep: None,
        }
    }

    /// Adds `path` to `out`, or fails once the scan is over its bound.
    fn push(
        &mut self,
        path: PathBuf,
        out: &mut Vec<PathBuf>,
        source: &str,
    ) -> Result<(), TableError> {
        self.entries += 1;
        if self.entries > self.max_entries {
            return Err(failed(
                self.table,
                format!(
                    "'{source}' names more than {} files, the most one scan reads; narrow it \
                     (one level with '%' instead of '%%', or a deeper directory)",
                    self.max_entries
                ),
            ));
        }
        out.push(path);
        Ok(())
    }

    fn list_directory(
        &mut self,
        dir: &Path,
        out: &mut Vec<PathBuf>,
        source: &str,
    ) -> Result<(), TableError> {
        match std::fs::read_dir(dir) {
            Ok(entries) => {
                for entry in entries.flatten() {
                    self.push(entry.path(), out, source)?;
                }
            }
            Err(error) => tracing::debug!(dir = %dir.display(), %error, "directory unreadable"),
        }
        Ok(())
    }

    /// Everything below `root`, without recursion and without following symlinks: a link to a
    /// directory is listed, never entered, so a link cycle cannot loop.
    fn walk_below(
        &mut self,
        root: &Path,
        out: &mut Vec<PathBuf>,
        source: &str,
    ) -> Result<(), TableError> {
        let mut pending = vec![(root.to_path_buf(), 1)];
        while let Some((dir, depth)) = pending.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
                if is_dir {
                    if depth < self.max_depth {
                        pending.push((path.clone(), depth + 1));
                    } else if self.too_deep.is_none() {
                        self.too_deep = Some(path.clone());
                    }
                }
                self.push(path, out, source)?;
            }
        }
        Ok(())
    }

    /// Expands an osquery LIKE path pattern against the filesystem.
    fn expand_pattern(&mut self, pattern: &str, out: &mut Vec<PathBuf>) -> Result<(), TableError> {
        if !pattern.contains(['%', '_']) {
            let path = self.within(pattern);
            return self.push(path, out, pattern);
        }
        let components: Vec<&str> = pattern.split('/').filter(|c| !c.is_empty()).collect();
        let mut current = vec![self.root.clone()];
        for (i, component) in components.iter().enumerate() {
            let last = i + 1 == components.len();
            if *component == "%%" && last {
                for dir in &current {
                    self.walk_below(dir, out, pattern)?;
                }
                return Ok(());
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
                        self.push(entry.path(), &mut next, pattern)?;
                    }
                }
            }
            current = next;
        }
        out.extend(current.into_iter().filter(|p| p.symlink_metadata().is_ok()));
        Ok(())
    }

    /// Where the file a query names as `path` is read.
    fn within(&self, path: &str) -> PathBuf {
        self.root.join(path.trim_start_matches('/'))
    }

    /// Says once per scan where the depth bound left directories unentered.
    fn warn_if_cut(&self) {
        if let Some(dir) = &self.too_deep {
            tracing::warn!(
                table = self.table,
                dir = %dir.display(),
                "'%%' walks at most {} directory levels; deeper ones (such as this) were listed \
                 but not entered: query them with a deeper pattern",
                self.max_depth
            );
        }
    }
}

/// A file a query names.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Requested {
    /// Where it is read (under the scan's [`Root`]).
    pub read: PathBuf,
    /// Its `directory` cell when the query listed a directory with `directory = '...'`: that
    /// text as the query gave it (`/dev/` for `directory = '/dev/'`), as osquery gives it, so
    /// SQLite's own check of the constraint keeps the row. `None`: the path's parent.
    pub directory: Option<String>,
}

impl Requested {
    /// The `directory` cell of this file, named `name` in the query's terms.
    pub fn directory_cell(&self, name: &Path) -> Value {
        match &self.directory {
            Some(dir) => Value::Text(dir.clone()),
            None => directory_of(name),
        }
    }
}

/// Files a query names through its `path` and `directory` columns, where they are read under
/// `root` (the host's, or a process's mount namespace: [`Root::name`] gives their names).
pub fn requested_paths(
    table: &'static str,
    request: &ScanRequest,
    path_column: usize,
    directory_column: usize,
    root: &Root,
) -> Result<Vec<Requested>, TableError> {
    let mut walk = Walk::new(table);
    walk.root = root.dir.clone();
    let mut paths = Vec::new();
    let mut listed = Vec::new();
    let mut constrained = false;
    for value in request.equal_values(path_column) {
        constrained = true;
        if let Some(path) = value.as_text() {
            paths.push(walk.within(path));
        }
    }
    for pattern in request.like_patterns(path_column) {
        constrained = true;
        walk.expand_pattern(pattern, &mut paths)?;
    }
    for value in request.equal_values(directory_column) {
        constrained = true;
        if let Some(dir) = value.as_text() {
            let read = walk.within(dir);
            let mut entries = Vec::new();
            walk.list_directory(&read, &mut entries, dir)?;
            listed.extend(entries.into_iter().map(|read| Requested {
                read,
                directory: Some(dir.to_owned()),
            }));
        }
    }
    for pattern in request.like_patterns(directory_column) {
        constrained = true;
        let mut dirs = Vec::new();
        walk.expand_pattern(pattern, &mut dirs)?;
        for dir in dirs.iter().filter(|d| d.is_dir()) {
            walk.list_directory(dir, &mut paths, pattern)?;
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
    walk.warn_if_cut();
    let mut out: Vec<Requested> = paths
        .into_iter()
        .map(|read| Requested {
            read,
            directory: None,
        })
        .chain(listed)
        .collect();
    out.sort();
    out.dedup();
    Ok(out)
}

/// SQL LIKE within one component: `%` any run, `_` any one character. The classic greedy
/// wildcard match: on a mismatch only the latest `%` is retried one character further, so the
/// work is at most pattern length × name length, never exponential (a recursive match of
/// `%a%a%a…%b` against a long name of `a`s backtracks through every split).
fn component_like(pattern: &str, name: &str) -> bool {
    like_with_steps(pattern, name).0
}

/// [`component_like`] and how many comparison steps it took.
fn like_with_steps(pattern: &str, name: &str) -> (bool, usize) {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0, 0);
    // The pattern position after the latest `%`, and the name position it now starts at.
    let mut retry: Option<(usize, usize)> = None;
    let mut steps = 0;
    while ni < n.len() {
        steps += 1;
        match p.get(pi) {
            Some('%') => {
                retry = Some((pi + 1, ni));
                pi += 1;
            }
            Some(&c) if c == '_' || c == n[ni] => {
                pi += 1;
                ni += 1;
            }
            _ => match retry {
                Some((after, from)) => {
                    retry = Some((after, from + 1));
                    pi = after;
                    ni = from + 1;
                }
                None => return (false, steps),
            },
        }
    }
    while p.get(pi) == Some(&'%') {
        steps += 1;
        pi += 1;
    }
    (pi == p.len(), steps)
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

    fn expand(pattern: &str) -> Vec<PathBuf> {
        let mut out = Vec::new();
        Walk::new("file")
            .expand_pattern(pattern, &mut out)
            .expect("within bounds");
        out.sort();
        out
    }

    #[test]
    fn like_within_a_component() {
        assert!(component_like("%.conf", "resolv.conf"));
        assert!(component_like("pass_d", "passwd"));
        assert!(!component_like("%.conf", "hosts"));
        assert!(component_like("%", ""));
        assert!(component_like("a%", "a"));
        assert!(!component_like("a_", "a"));
        assert!(component_like("%a%b", "xxaxxab"));
        assert!(component_like("a%%b", "ab"));
        assert!(!component_like("a%b", "abc"));
        assert!(component_like("é_%", "éàz"), "characters, not bytes");
    }

    #[test]
    fn a_pathological_pattern_takes_at_most_pattern_times_name_steps() {
        let pattern = "%a%a%a%a%a%a%a%a%a%a%a%a%b";
        let name = "a".repeat(200);
        let (matched, steps) = like_with_steps(pattern, &name);
        assert!(!matched);
        // The recursive matcher this replaced took more than C(200, 12) ≈ 10^19 steps here.
        let bound = (pattern.len() + 1) * (name.len() + 1);
        assert!(steps <= bound, "{steps} steps, more than {bound}");
        let (matched, steps) = like_with_steps(pattern, &format!("{name}b"));
        assert!(matched);
        assert!(steps <= bound + pattern.len(), "{steps} steps");
    }

    #[test]
    fn a_pathological_pattern_over_long_names_returns_the_right_files() {
        let dir = tempfile::tempdir().expect("dir");
        let long = "a".repeat(200);
        for name in [long.clone(), format!("{long}b"), format!("b{long}")] {
            std::fs::write(dir.path().join(name), "").expect("file");
        }
        let found = expand(&format!(
            "{}/%a%a%a%a%a%a%a%a%a%a%a%a%b",
            dir.path().display()
        ));
        assert_eq!(found, vec![dir.path().join(format!("{long}b"))]);
    }

    #[test]
    fn patterns_expand_one_level_or_everything_below() {
        let dir = tempfile::tempdir().expect("dir");
        let root = dir.path();
        std::fs::create_dir_all(root.join("a/b")).expect("dirs");
        std::fs::write(root.join("a/one.txt"), "1").expect("file");
        std::fs::write(root.join("a/b/two.txt"), "2").expect("file");
        assert_eq!(
            expand(&format!("{}/a/%", root.display())),
            vec![root.join("a/b"), root.join("a/one.txt")]
        );
        assert_eq!(
            expand(&format!("{}/a/%%", root.display())),
            vec![
                root.join("a/b"),
                root.join("a/b/two.txt"),
                root.join("a/one.txt")
            ]
        );
        assert_eq!(
            expand(&format!("{}/%/%.txt", root.display())),
            vec![root.join("a/one.txt")]
        );
    }

    #[test]
    fn a_symlink_loop_is_listed_and_never_entered() {
        let dir = tempfile::tempdir().expect("dir");
        let root = dir.path();
        std::fs::create_dir(root.join("d")).expect("dir");
        std::os::unix::fs::symlink(root, root.join("d/up")).expect("loop to the root");
        std::os::unix::fs::symlink("self", root.join("self")).expect("link to itself");
        assert_eq!(
            expand(&format!("{}/%%", root.display())),
            vec![root.join("d"), root.join("d/up"), root.join("self")]
        );
    }

    #[test]
    fn a_deep_tree_is_walked_to_the_depth_bound_without_recursion() {
        let dir = tempfile::tempdir().expect("dir");
        // Deeper than PATH_MAX allows to name at once: built one level at a time, relative to
        // the previous level.
        let levels = 2100;
        let mut fd = std::fs::File::open(dir.path()).expect("root");
        for _ in 0..levels {
            use std::os::fd::AsRawFd as _;
            let name = c"d";
            // SAFETY: a valid directory fd and a NUL-terminated name.
            let made = unsafe { libc::mkdirat(fd.as_raw_fd(), name.as_ptr(), 0o755) };
            assert_eq!(made, 0, "mkdirat: {}", std::io::Error::last_os_error());
            // SAFETY: as above; the returned fd is owned by the File below.
            let next = unsafe {
                libc::openat(
                    fd.as_raw_fd(),
                    name.as_ptr(),
                    libc::O_DIRECTORY | libc::O_RDONLY | libc::O_CLOEXEC,
                )
            };
            assert!(next >= 0, "openat: {}", std::io::Error::last_os_error());
            // SAFETY: `next` is a fresh fd nobody else owns.
            fd = unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(next) };
        }
        let mut out = Vec::new();
        let mut walk = Walk::bounded("file", 10, MAX_ENTRIES);
        walk.expand_pattern(&format!("{}/%%", dir.path().display()), &mut out)
            .expect("within bounds");
        assert_eq!(out.len(), 10, "ten levels listed: {out:?}");
        let tenth = dir.path().join(["d"; 10].join("/"));
        assert_eq!(walk.too_deep.as_deref(), Some(tenth.as_path()));

        let mut out = Vec::new();
        Walk::new("file")
            .expand_pattern(&format!("{}/%%", dir.path().display()), &mut out)
            .expect("within bounds");
        assert_eq!(out.len(), MAX_DEPTH);
        remove_deep(dir.path(), levels);
    }

    /// `rm -r` of a tree deeper than PATH_MAX (tempdir's removal cannot name its bottom).
    fn remove_deep(root: &Path, levels: usize) {
        let status = std::process::Command::new("rm")
            .arg("-rf")
            .arg(root.join("d"))
            .status()
            .expect("rm runs");
        assert!(status.success(), "rm -rf of a {levels}-level tree");
    }

    #[test]
    fn a_scan_over_its_entry_bound_fails_naming_it() {
        let dir = tempfile::tempdir().expect("dir");
        for i in 0..20 {
            std::fs::write(dir.path().join(i.to_string()), "").expect("file");
        }
        let mut out = Vec::new();
        let error = Walk::bounded("hash", MAX_DEPTH, 10)
            .expand_pattern(&format!("{}/%%", dir.path().display()), &mut out)
            .expect_err("over the bound");
        let text = error.to_string();
        assert!(text.contains("more than 10 files"), "{text}");
        assert!(text.contains("hash"), "{text}");
    }
}
