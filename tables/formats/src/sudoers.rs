//! sudoers(5) files, split as osquery's `sudoers` splits them: each rule line into its first
//! word (`header`: a user, `%group`, `Defaults`, an alias keyword, `@includedir`) and the rest
//! (`rule_details`), lines ended by `\` joined to the next. Includes are reported as rows and
//! named, so the table can read the files they name.

/// One rule line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SudoersRule {
    pub header: String,
    pub details: String,
    /// For `@include`/`#include` and `@includedir`/`#includedir` lines: what they name.
    pub include: Option<Include>,
}

/// What an include line names, as written (relative paths are relative to the including file's
/// directory; the caller resolves them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Include {
    File(String),
    Directory(String),
}

const BLANKS: &[char] = &[' ', '\t', '\x0b'];

/// Every rule of one sudoers file, in order.
pub fn rules(text: &str) -> Vec<SudoersRule> {
    let mut out: Vec<SudoersRule> = Vec::new();
    let mut continues = false;
    for line in text.lines() {
        let line = line.trim_matches(BLANKS);
        if line.is_empty() {
            continue;
        }
        if continues {
            continues = line.ends_with('\\');
            if let Some(last) = out.last_mut() {
                let target = if last.details.is_empty() {
                    &mut last.header
                } else {
                    &mut last.details
                };
                if target.ends_with('\\') {
                    target.pop();
                }
                target.push_str(line);
            }
            continue;
        }
        let (header, details) = match line.split_once(BLANKS) {
            Some((header, details)) => (header, details.trim_matches(BLANKS)),
            None => (line, ""),
        };
        let include = match header {
            "#include" | "@include" => Some(Include::File(details.to_owned())),
            "#includedir" | "@includedir" => Some(Include::Directory(details.to_owned())),
            _ => None,
        };
        if include.is_none() && line.starts_with('#') {
            continue;
        }
        if include.is_some() && details.is_empty() {
            continue;
        }
        continues = include.is_none() && line.ends_with('\\');
        out.push(SudoersRule {
            header: header.to_owned(),
            details: details.to_owned(),
            include,
        });
    }
    out
}

/// Whether sudo reads a file of an `@includedir` directory: names holding a `.` or ending in
/// `~` are skipped (editor backups, package manager leftovers).
pub fn included_from_directory(file_name: &str) -> bool {
    !file_name.is_empty() && !file_name.contains('.') && !file_name.ends_with('~')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debian_default_file_with_includes_and_continuations() {
        let text = "\
#
# This file MUST be edited with the 'visudo' command as root.
Defaults\tenv_reset
Defaults\tsecure_path=\"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin\"
Cmnd_Alias  BACKUP = /usr/bin/rsync, \\
    /usr/bin/tar
# User privilege specification
root\tALL=(ALL:ALL) ALL
%sudo\tALL=(ALL:ALL) ALL
@includedir /etc/sudoers.d
#include extra
#includedir
";
        let rules = rules(text);
        let pairs: Vec<_> = rules
            .iter()
            .map(|r| (r.header.as_str(), r.details.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("Defaults", "env_reset"),
                (
                    "Defaults",
                    "secure_path=\"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin\""
                ),
                ("Cmnd_Alias", "BACKUP = /usr/bin/rsync, /usr/bin/tar"),
                ("root", "ALL=(ALL:ALL) ALL"),
                ("%sudo", "ALL=(ALL:ALL) ALL"),
                ("@includedir", "/etc/sudoers.d"),
                ("#include", "extra"),
            ]
        );
        assert_eq!(
            rules[5].include,
            Some(Include::Directory("/etc/sudoers.d".into()))
        );
        assert_eq!(rules[6].include, Some(Include::File("extra".into())));
        assert_eq!(rules[0].include, None);
    }

    #[test]
    fn directory_entries_sudo_skips() {
        assert!(included_from_directory("90-cloud-init-users"));
        assert!(!included_from_directory("README.txt"));
        assert!(!included_from_directory("admins~"));
        assert!(!included_from_directory(""));
    }

    #[test]
    fn a_continuation_at_the_end_or_alone() {
        assert_eq!(rules("\\\n\\\n").len(), 1);
        assert_eq!(rules("x \\").len(), 1);
        assert!(rules("# only\n\t\n").is_empty());
    }
}
