//! dpkg's database of installed packages: `/var/lib/dpkg/status`, as `deb_packages` reports it
//! (osquery's meanings, which it takes from libdpkg).

use crate::deb822;

/// A package dpkg knows as installed, or half-installed, or configured but removed: anything
/// whose status is not `not-installed`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DebPackage {
    pub name: String,
    /// As dpkg prints it: `[epoch:]upstream[-revision]`.
    pub version: String,
    /// The `Source` field as written (it may carry a version in parentheses); empty when the
    /// source package has the binary package's name.
    pub source: String,
    /// `Installed-Size`, in KiB as dpkg records it; `None` when absent or not a number.
    pub installed_size: Option<i64>,
    pub arch: String,
    /// The Debian revision: what follows the version's last `-`, empty for a native package.
    pub revision: String,
    /// `want flag status`, e.g. `install ok installed`.
    pub status: String,
    pub maintainer: String,
    pub section: String,
    pub priority: String,
}

/// The packages of a dpkg `status` file, in file order.
pub fn installed_packages(status_file: &str) -> Vec<DebPackage> {
    deb822::paragraphs(status_file)
        .iter()
        .filter_map(package)
        .collect()
}

fn package(paragraph: &deb822::Paragraph) -> Option<DebPackage> {
    let name = paragraph.get("Package").filter(|n| !n.is_empty())?;
    // `want flag status`: exactly three words, as dpkg writes and requires it.
    let status: Vec<&str> = paragraph
        .get("Status")
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let [_want, _flag, state] = status.as_slice() else {
        return None;
    };
    if *state == "not-installed" {
        return None;
    }
    let field = |n: &str| paragraph.get(n).unwrap_or("").to_owned();
    let version = field("Version");
    Some(DebPackage {
        name: name.to_owned(),
        revision: revision(&version).to_owned(),
        version,
        source: field("Source"),
        installed_size: paragraph
            .get("Installed-Size")
            .and_then(|s| s.trim().parse().ok()),
        arch: field("Architecture"),
        status: status.join(" "),
        maintainer: field("Maintainer"),
        section: field("Section"),
        priority: field("Priority"),
    })
}

/// dpkg splits the revision at the last hyphen of the version (deb-version(7)).
fn revision(version: &str) -> &str {
    version
        .rsplit_once('-')
        .map_or("", |(_, revision)| revision)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An excerpt of a real Debian 12 status file: a package with a source and an epoch-less
    /// revision, one with an epoch, one removed with its configuration kept, one purged.
    const STATUS: &str = "\
Package: libc6
Status: install ok installed
Priority: optional
Section: libs
Installed-Size: 12986
Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>
Architecture: amd64
Multi-Arch: same
Source: glibc
Version: 2.36-9+deb12u10
Replaces: libc6-amd64
Depends: libgcc-s1
Description: GNU C Library: Shared libraries
 Contains the standard libraries that are used by nearly all programs on
 the system.

Package: dpkg
Essential: yes
Status: install ok installed
Priority: required
Section: admin
Installed-Size: 6491
Origin: debian
Maintainer: Dpkg Developers <debian-dpkg@lists.debian.org>
Architecture: amd64
Multi-Arch: foreign
Version: 1.21.22
Description: Debian package management system

Package: bsdutils
Status: install ok installed
Priority: required
Section: utils
Installed-Size: 335
Maintainer: util-linux packagers <util-linux@packages.debian.org>
Architecture: amd64
Source: util-linux (2.38.1-5)
Version: 1:2.38.1-5+deb12u3
Description: basic utilities from 4.4BSD-Lite

Package: old-tool
Status: deinstall ok config-files
Priority: optional
Architecture: all
Version: 0.9-1
Conffiles:
 /etc/old-tool.conf 5d41402abc4b2a76b9719d911017c592

Package: purged
Status: purge ok not-installed
Architecture: amd64
";

    #[test]
    fn a_status_excerpt_reads_as_osquery_reports_it() {
        let packages = installed_packages(STATUS);
        let names: Vec<_> = packages.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["libc6", "dpkg", "bsdutils", "old-tool"]);
        let libc = &packages[0];
        assert_eq!(libc.version, "2.36-9+deb12u10");
        assert_eq!(libc.revision, "9+deb12u10");
        assert_eq!(libc.source, "glibc");
        assert_eq!(libc.installed_size, Some(12986));
        assert_eq!(libc.arch, "amd64");
        assert_eq!(libc.status, "install ok installed");
        assert_eq!(libc.section, "libs");
        assert_eq!(libc.priority, "optional");
        assert!(libc.maintainer.starts_with("GNU Libc Maintainers"));
        let dpkg = &packages[1];
        assert_eq!((dpkg.revision.as_str(), dpkg.source.as_str()), ("", ""));
        let bsdutils = &packages[2];
        assert_eq!(bsdutils.version, "1:2.38.1-5+deb12u3");
        assert_eq!(bsdutils.revision, "5+deb12u3");
        assert_eq!(bsdutils.source, "util-linux (2.38.1-5)");
        assert_eq!(packages[3].status, "deinstall ok config-files");
        assert_eq!(packages[3].installed_size, None);
    }

    #[test]
    fn a_status_of_other_than_three_words_is_not_a_package() {
        // dpkg's Status is `want flag status`; dpkg itself refuses a file with another shape.
        let text =
            "Package: a\nStatus: install ok inction: gnome\n\nPackage: b\nStatus: install ok\n";
        assert!(installed_packages(text).is_empty());
    }

    #[test]
    fn paragraphs_without_a_name_or_status_are_not_packages() {
        assert!(installed_packages("Status: install ok installed\n").is_empty());
        assert!(installed_packages("Package: x\n").is_empty());
        assert!(installed_packages("Package: x\nStatus: install\n").is_empty());
    }
}
