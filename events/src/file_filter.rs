//! Which file events are reported: osquery's `file_paths` (include), `exclude_paths` and
//! `file_accesses` (read opens), with osquery's patterns: `%` matches within one path component
//! (a whole component on its own), `%%` at the end matches everything below.
//!
//! A path that could not be resolved (`resolved = 0`: a name with `..` after a component that
//! may be a symlink, or relative to a directory that could not be walked) could be anywhere, so
//! the filter fails open: such an event is reported unless an exclude pattern covers every path,
//! whatever `file_paths` says. `..` can make an event reported that its true path would have
//! excluded; it cannot hide one.

use std::collections::BTreeMap;

use crate::event_table::file::{FileEvent, FileOperation};

/// One osquery path pattern, split into components.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathPattern {
    text: String,
    components: Vec<String>,
    /// Ends with `%%`: matches anything below the components before it.
    recursive: bool,
}

/// `%` within a component matches any run of characters (SQL LIKE's `%`, as osquery uses).
fn component_matches(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('%').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let (first, rest) = parts.split_first().unwrap_or((&"", &[]));
    let Some(mut tail) = name.strip_prefix(first) else {
        return false;
    };
    let (last, middle) = rest.split_last().unwrap_or((&"", &[]));
    for part in middle {
        match tail.find(part) {
            Some(at) => tail = &tail[at + part.len()..],
            None => return false,
        }
    }
    tail.ends_with(last) && tail.len() >= last.len()
}

impl PathPattern {
    pub fn parse(text: &str) -> Self {
        let trimmed = text.trim_end_matches('/');
        let mut components: Vec<String> = trimmed
            .split('/')
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect();
        // `/etc/%%` and `/etc/` both mean "everything under /etc".
        let recursive = components.last().is_some_and(|c| c == "%%") || text.ends_with('/');
        if components.last().is_some_and(|c| c == "%%") {
            components.pop();
        }
        Self {
            text: text.to_owned(),
            components,
            recursive,
        }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn matches(&self, path: &str) -> bool {
        let names: Vec<&str> = path.split('/').filter(|c| !c.is_empty()).collect();
        if names.len() < self.components.len()
            || (!self.recursive && names.len() != self.components.len())
        {
            return false;
        }
        self.components
            .iter()
            .zip(&names)
            .all(|(pattern, name)| component_matches(pattern, name))
    }

    /// The longest leading part without wildcards: the directory the kernel can recognise.
    pub fn static_prefix(&self) -> String {
        let fixed: Vec<&str> = self
            .components
            .iter()
            .take_while(|c| !c.contains('%'))
            .map(String::as_str)
            .collect();
        format!("/{}", fixed.join("/"))
    }

    /// Whether the whole pattern is one directory (or file) and everything below it.
    pub fn is_plain_prefix(&self) -> bool {
        self.components.iter().all(|c| !c.contains('%'))
    }

    /// Whether the pattern matches every path there is (`/%%`).
    fn covers_everything(&self) -> bool {
        self.recursive && self.components.is_empty()
    }
}

/// Whether a path from a file event names its file exactly: decode keeps a path it could not
/// resolve relative, or with its `..` components.
fn is_exact(path: &str) -> bool {
    path.starts_with('/') && !path.split('/').any(|c| c == "..")
}

/// The file-event filter from the configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileFilter {
    /// `file_paths` (all categories): when not empty, only events under these are reported.
    pub include: Vec<PathPattern>,
    /// `exclude_paths`: events under these are never reported.
    pub exclude: Vec<PathPattern>,
    /// `file_paths` of the categories named in `file_accesses`: read-only opens are reported
    /// under these.
    pub accesses: Vec<PathPattern>,
}

/// Excluded when the configuration names no `exclude_paths`: pseudo-filesystems whose writes
/// are constant, meaningless noise (`/dev/null` above all).
pub const DEFAULT_EXCLUDES: &[&str] = &["/proc/%%", "/sys/%%", "/dev/%%"];

/// Decision for one event's path(s).
impl FileFilter {
    /// Builds the filter from osquery's config keys: `file_paths` (category → patterns),
    /// `exclude_paths` (category → patterns), `file_accesses` (categories).
    pub fn from_config(
        file_paths: &BTreeMap<String, Vec<String>>,
        exclude_paths: Option<&BTreeMap<String, Vec<String>>>,
        file_accesses: &[String],
    ) -> Self {
        let include = file_paths
            .values()
            .flatten()
            .map(|p| PathPattern::parse(p))
            .collect();
        let exclude = match exclude_paths {
            Some(map) => map
                .values()
                .flatten()
                .map(|p| PathPattern::parse(p))
                .collect(),
            None => DEFAULT_EXCLUDES
                .iter()
                .map(|p| PathPattern::parse(p))
                .collect(),
        };
        let accesses = file_accesses
            .iter()
            .filter_map(|category| file_paths.get(category))
            .flatten()
            .map(|p| PathPattern::parse(p))
            .collect();
        Self {
            include,
            exclude,
            accesses,
        }
    }

    /// The built-in excludes and nothing else.
    pub fn defaults() -> Self {
        Self::from_config(&BTreeMap::new(), None, &[])
    }

    /// Whether `event` is reported, by its path (and its new name, for renames and links; a
    /// symlink's target is text, matched but never a reason to doubt where the event was).
    pub fn reports(&self, event: &FileEvent) -> bool {
        let dest_exact = match event.operation {
            FileOperation::Symlink => true,
            _ => event.dest_path.is_empty() || is_exact(&event.dest_path),
        };
        self.allows(
            &event.path,
            event.path_resolved,
            &event.dest_path,
            dest_exact,
            event.operation == FileOperation::Read,
        )
    }

    /// Whether an event on `path` (and `dest_path`, for renames and links) is reported; each
    /// with whether it names its file exactly.
    fn allows(
        &self,
        path: &str,
        path_exact: bool,
        dest_path: &str,
        dest_exact: bool,
        read_only: bool,
    ) -> bool {
        let excluded = if path_exact {
            self.exclude.iter().any(|p| p.matches(path))
        } else {
            self.exclude.iter().any(PathPattern::covers_everything)
        };
        if excluded {
            return false;
        }
        // Not knowing where the file is, it may be under any pattern.
        let unsure = !path_exact || !dest_exact;
        let under = |patterns: &[PathPattern]| {
            unsure
                || patterns
                    .iter()
                    .any(|p| p.matches(path) || (!dest_path.is_empty() && p.matches(dest_path)))
        };
        if read_only {
            return !self.accesses.is_empty() && under(&self.accesses);
        }
        self.include.is_empty() || under(&self.include)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn osquery_patterns() {
        let recursive = PathPattern::parse("/etc/%%");
        assert!(recursive.matches("/etc/passwd"));
        assert!(recursive.matches("/etc/ssh/sshd_config"));
        assert!(!recursive.matches("/etcetera/x"));
        let one_level = PathPattern::parse("/etc/%");
        assert!(one_level.matches("/etc/passwd"));
        assert!(!one_level.matches("/etc/ssh/sshd_config"));
        let middle = PathPattern::parse("/home/%/.ssh/%%");
        assert!(middle.matches("/home/ann/.ssh/authorized_keys"));
        assert!(!middle.matches("/home/ann/notes"));
        assert_eq!(middle.static_prefix(), "/home");
        let within = PathPattern::parse("/etc/%.conf");
        assert!(within.matches("/etc/resolv.conf"));
        assert!(!within.matches("/etc/hosts"));
        let directory = PathPattern::parse("/var/www/");
        assert!(directory.matches("/var/www/index.html"));
        assert!(directory.is_plain_prefix());
        assert_eq!(directory.static_prefix(), "/var/www");
        let exact = PathPattern::parse("/etc/shadow");
        assert!(exact.matches("/etc/shadow"));
        assert!(!exact.matches("/etc/shadow-"));
    }

    /// `filter.allows` for exact paths.
    fn allows(filter: &FileFilter, path: &str, dest_path: &str, read_only: bool) -> bool {
        filter.allows(path, true, dest_path, true, read_only)
    }

    #[test]
    fn include_exclude_and_reads() {
        let mut paths = BTreeMap::new();
        paths.insert("etc".to_owned(), vec!["/etc/%%".to_owned()]);
        paths.insert("web".to_owned(), vec!["/srv/www/%%".to_owned()]);
        let mut excludes = BTreeMap::new();
        excludes.insert("etc".to_owned(), vec!["/etc/cache/%%".to_owned()]);
        let filter = FileFilter::from_config(&paths, Some(&excludes), &["web".to_owned()]);
        assert!(allows(&filter, "/etc/passwd", "", false));
        assert!(!allows(&filter, "/etc/cache/x", "", false));
        assert!(!allows(&filter, "/tmp/x", "", false));
        assert!(
            allows(&filter, "/tmp/x", "/etc/x", false),
            "a rename into a watched directory"
        );
        assert!(allows(&filter, "/srv/www/index.html", "", true));
        assert!(
            !allows(&filter, "/etc/passwd", "", true),
            "reads only where file_accesses says"
        );

        let defaults = FileFilter::defaults();
        assert!(allows(&defaults, "/tmp/x", "", false));
        assert!(!allows(&defaults, "/dev/null", "", false));
        assert!(!allows(&defaults, "/tmp/x", "", true));
    }

    fn event(operation: FileOperation, path: &str, resolved: bool, dest_path: &str) -> FileEvent {
        FileEvent {
            operation,
            syscall: crate::model::Syscall::Unknown,
            time_ns: 0,
            actor: crate::model::Actor::default(),
            path: path.to_owned(),
            path_resolved: resolved,
            dest_path: dest_path.to_owned(),
            mode: 0,
            flags: 0,
            inode: 0,
            device: 0,
            fd: -1,
            result: 0,
            new_uid: 0,
            new_gid: 0,
            size: 0,
            duration_ns: 0,
            probe_error: 0,
        }
    }

    #[test]
    fn an_unresolved_path_is_reported_unless_every_path_is_excluded() {
        let mut paths = BTreeMap::new();
        paths.insert("etc".to_owned(), vec!["/etc/%%".to_owned()]);
        let mut excludes = BTreeMap::new();
        excludes.insert("tmp".to_owned(), vec!["/tmp/%%".to_owned()]);
        let filter = FileFilter::from_config(&paths, Some(&excludes), &[]);
        // `/tmp/link` may point into /etc: neither the exclude nor the include can tell.
        let through_link = event(FileOperation::Unlink, "/tmp/link/../passwd", false, "");
        assert!(filter.reports(&through_link));
        let relative = event(FileOperation::Unlink, "passwd", false, "");
        assert!(filter.reports(&relative));
        let exact = event(FileOperation::Unlink, "/tmp/passwd", true, "");
        assert!(!filter.reports(&exact), "an exact path is excluded");
        let outside = event(FileOperation::Unlink, "/var/passwd", true, "");
        assert!(!filter.reports(&outside), "an exact path is not included");

        let renamed_in = event(FileOperation::Rename, "/var/x", true, "/var/l/../passwd");
        assert!(filter.reports(&renamed_in), "the new name may be in /etc");
        let relative_target = event(FileOperation::Symlink, "/var/l", true, "../lib/x");
        assert!(
            !filter.reports(&relative_target),
            "a symlink's target is text, not a place the event happened"
        );

        let mut everything = BTreeMap::new();
        everything.insert("all".to_owned(), vec!["/%%".to_owned()]);
        let silent = FileFilter::from_config(&paths, Some(&everything), &[]);
        assert!(!silent.reports(&through_link), "excluded with certainty");

        let mut watched = BTreeMap::new();
        watched.insert("etc".to_owned(), vec!["/etc/%%".to_owned()]);
        let reads = FileFilter::from_config(&watched, None, &["etc".to_owned()]);
        let unresolved_read = event(FileOperation::Read, "/tmp/l/../shadow", false, "");
        assert!(reads.reports(&unresolved_read));
        assert!(
            !FileFilter::defaults().reports(&unresolved_read),
            "no reads are watched at all"
        );
    }
}
