//! Which file events are reported: osquery's `file_paths` (include), `exclude_paths` and
//! `file_accesses` (read opens), with osquery's patterns: `%` matches within one path component
//! (a whole component on its own), `%%` at the end matches everything below.

use std::collections::BTreeMap;

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

    /// Whether an event on `path` (and `dest_path`, for renames and links) is reported.
    pub fn allows(&self, path: &str, dest_path: &str, read_only: bool) -> bool {
        if self.exclude.iter().any(|p| p.matches(path)) {
            return false;
        }
        let under = |patterns: &[PathPattern]| {
            patterns
                .iter()
                .any(|p| p.matches(path) || (!dest_path.is_empty() && p.matches(dest_path)))
        };
        if read_only {
            return under(&self.accesses);
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

    #[test]
    fn include_exclude_and_reads() {
        let mut paths = BTreeMap::new();
        paths.insert("etc".to_owned(), vec!["/etc/%%".to_owned()]);
        paths.insert("web".to_owned(), vec!["/srv/www/%%".to_owned()]);
        let mut excludes = BTreeMap::new();
        excludes.insert("etc".to_owned(), vec!["/etc/cache/%%".to_owned()]);
        let filter = FileFilter::from_config(&paths, Some(&excludes), &["web".to_owned()]);
        assert!(filter.allows("/etc/passwd", "", false));
        assert!(!filter.allows("/etc/cache/x", "", false));
        assert!(!filter.allows("/tmp/x", "", false));
        assert!(
            filter.allows("/tmp/x", "/etc/x", false),
            "a rename into a watched directory"
        );
        assert!(filter.allows("/srv/www/index.html", "", true));
        assert!(
            !filter.allows("/etc/passwd", "", true),
            "reads only where file_accesses says"
        );

        let defaults = FileFilter::defaults();
        assert!(defaults.allows("/tmp/x", "", false));
        assert!(!defaults.allows("/dev/null", "", false));
        assert!(!defaults.allows("/tmp/x", "", true));
    }
}
