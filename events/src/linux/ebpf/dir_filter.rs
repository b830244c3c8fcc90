//! The kernel's share of the file filter: the configured directories by identity (device and
//! inode), which the file programs check while they walk a path, and the mode bits that say
//! which filters are on. Userspace applies the patterns exactly afterwards.

use aya::Ebpf;
use vigil_ebpf_common::{DirKey, dir_filter, filter_mode, names};

use super::config::EbpfError;
use crate::file_filter::{FileFilter, PathPattern};

/// The directories and mode the kernel side filters file events by.
pub(super) struct KernelDirFilter {
    entries: Vec<(DirKey, u32)>,
    /// Bit set of `filter_mode`, for the programs' settings.
    pub mode: u32,
}

impl KernelDirFilter {
    pub fn of(filter: &FileFilter) -> Self {
        let mut entries: Vec<(DirKey, u32)> = Vec::new();
        let mut add = |key: DirKey, bits: u32| match entries.iter_mut().find(|(k, _)| *k == key) {
            Some((_, existing)) => *existing |= bits,
            None => entries.push((key, bits)),
        };
        for pattern in &filter.exclude {
            // Only a plain directory can be excluded by identity: excluding its parent instead
            // would hide events the pattern does not name.
            if pattern.is_plain_prefix() {
                match dir_key(std::path::Path::new(&pattern.static_prefix())) {
                    Some(key) => add(key, dir_filter::EXCLUDE),
                    None => {
                        tracing::debug!(pattern = pattern.text(), "exclude path does not exist");
                    }
                }
            }
        }
        for pattern in &filter.include {
            if let Some(key) = nearest_existing(pattern) {
                add(key, dir_filter::INCLUDE);
            }
        }
        for pattern in &filter.accesses {
            if let Some(key) = nearest_existing(pattern) {
                add(key, dir_filter::ACCESSES);
            }
        }
        let mut mode = 0;
        if !filter.include.is_empty() {
            mode |= filter_mode::INCLUDE_ONLY;
        }
        if !filter.accesses.is_empty() {
            mode |= filter_mode::READ_OPENS;
        }
        if !entries.is_empty() {
            mode |= filter_mode::DIRECTORIES;
        }
        Self { entries, mode }
    }

    /// Writes the directories into the loaded object's filter map.
    pub fn fill(&self, ebpf: &mut Ebpf) -> Result<(), EbpfError> {
        let map = ebpf
            .map_mut(names::DIR_FILTER_MAP)
            .ok_or(EbpfError::MissingMap(names::DIR_FILTER_MAP))?;
        let mut dirs: aya::maps::HashMap<_, DirKey, u32> = aya::maps::HashMap::try_from(map)?;
        for (key, bits) in &self.entries {
            dirs.insert(key, bits, 0)?;
        }
        Ok(())
    }
}

/// A path's identity as the kernel's `super_block.s_dev` and inode number.
fn dir_key(path: &std::path::Path) -> Option<DirKey> {
    use std::os::unix::fs::MetadataExt as _;
    let meta = std::fs::metadata(path).ok()?;
    let dev = meta.dev();
    let (major, minor) = (libc::major(dev), libc::minor(dev));
    Some(DirKey {
        dev: (major << 20) | (minor & 0xf_ffff),
        _pad: 0,
        ino: meta.ino(),
    })
}

/// The nearest existing directory at or above a pattern's fixed part: a superset the kernel can
/// recognise; userspace then applies the pattern exactly.
fn nearest_existing(pattern: &PathPattern) -> Option<DirKey> {
    let prefix = pattern.static_prefix();
    std::path::Path::new(&prefix).ancestors().find_map(dir_key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_are_keyed_by_identity_and_patterns_by_their_nearest_existing_parent() {
        let dir = tempfile::tempdir().expect("dir");
        let watched = dir.path().join("watched");
        std::fs::create_dir(&watched).expect("mkdir");
        let text = |p: &std::path::Path| p.to_string_lossy().into_owned();
        let filter = FileFilter {
            include: vec![PathPattern::parse(&format!(
                "{}/not-yet/%%",
                text(&watched)
            ))],
            exclude: vec![PathPattern::parse(&format!("{}/%%", text(&watched)))],
            accesses: Vec::new(),
        };
        let kernel = KernelDirFilter::of(&filter);
        assert_eq!(
            kernel.mode,
            filter_mode::INCLUDE_ONLY | filter_mode::DIRECTORIES
        );
        // Both name `watched`: one entry, both bits.
        let key = dir_key(&watched).expect("key");
        assert_eq!(
            kernel.entries,
            vec![(key, dir_filter::EXCLUDE | dir_filter::INCLUDE)]
        );
    }

    #[test]
    fn the_walks_look_directories_up_only_when_one_is_configured() {
        let none = KernelDirFilter::of(&FileFilter::default());
        assert_eq!(none.mode, 0);
        assert!(none.entries.is_empty());
        let dir = tempfile::tempdir().expect("dir");
        let filter = FileFilter {
            include: Vec::new(),
            exclude: vec![PathPattern::parse(&format!(
                "{}/%%",
                dir.path().to_string_lossy()
            ))],
            accesses: Vec::new(),
        };
        // An exclusion alone sets no other mode bit, but its directory must still be looked up.
        assert_eq!(KernelDirFilter::of(&filter).mode, filter_mode::DIRECTORIES);
    }
}
