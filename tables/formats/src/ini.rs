//! INI files as yum and dnf write repository definitions (`/etc/yum.conf`,
//! `/etc/yum.repos.d/*.repo`): `[section]` headers, `key=value` options, `#` and `;` comments,
//! and values continued on indented lines (a `baseurl` listing several mirrors).

/// One `[section]` and its options in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Section {
    pub name: String,
    pub options: Vec<(String, String)>,
}

impl Section {
    /// The last value given for `key` (a later line wins, as in yum).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.options
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Every section of `text`; options before the first header, and lines that are neither a
/// header, an option nor a continuation, are skipped.
pub fn sections(text: &str) -> Vec<Section> {
    let mut out: Vec<Section> = Vec::new();
    // Whether the line before was an option, so an indented line continues its value.
    let mut in_option = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            in_option = false;
            continue;
        }
        let indented = line.starts_with(' ') || line.starts_with('\t');
        if indented && in_option {
            if let Some((_, value)) = out.last_mut().and_then(|s| s.options.last_mut()) {
                value.push(' ');
                value.push_str(trimmed);
            }
            continue;
        }
        if let Some(name) = trimmed.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            out.push(Section {
                name: name.trim().to_owned(),
                options: Vec::new(),
            });
            in_option = false;
            continue;
        }
        in_option = false;
        let Some((key, value)) = trimmed.split_once('=') else {
            continue;
        };
        if let Some(section) = out.last_mut() {
            section
                .options
                .push((key.trim().to_owned(), value.trim().to_owned()));
            in_option = true;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repo_file() {
        let text = "\
orphan=1
[main]
gpgcheck=1

[baseos]
name=Rocky Linux $releasever - BaseOS
mirrorlist=https://mirrors.rockylinux.org/mirrorlist?arch=$basearch&repo=BaseOS-$releasever
#baseurl=http://dl.rockylinux.org/$contentdir/$releasever/BaseOS/$basearch/os/
gpgcheck=1
enabled=1
countme=1
gpgkey=file:///etc/pki/rpm-gpg/RPM-GPG-KEY-Rocky-9
; a comment
[mirrors]
baseurl=http://a.example/
  http://b.example/
enabled = 0
not an option
";
        let sections = sections(text);
        let names: Vec<_> = sections.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["main", "baseos", "mirrors"]);
        let baseos = &sections[1];
        assert_eq!(baseos.get("name"), Some("Rocky Linux $releasever - BaseOS"));
        assert_eq!(baseos.get("baseurl"), None);
        assert_eq!(baseos.get("enabled"), Some("1"));
        assert!(
            baseos
                .get("mirrorlist")
                .is_some_and(|m| m.contains("repo=BaseOS"))
        );
        let mirrors = &sections[2];
        assert_eq!(
            mirrors.get("baseurl"),
            Some("http://a.example/ http://b.example/")
        );
        assert_eq!(mirrors.get("enabled"), Some("0"));
    }

    #[test]
    fn odd_input() {
        assert!(
            sections("[\n]\n=\n  x\n")
                .iter()
                .all(|s| s.options.len() <= 1)
        );
        assert!(sections("").is_empty());
    }
}
