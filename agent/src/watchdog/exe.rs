//! The worker is this executable run again, through `/proc/self/exe`. Before each start the
//! watcher checks that nobody but root or its own user could have changed that file
//! ([`crate::safe_files`]): a root daemon that re-executes a file others can write would run
//! their code.

use std::path::PathBuf;

/// The file this process runs from; through `/proc/self/exe` it stays the same file even if the
/// path is later replaced (an upgrade takes effect at the next daemon start, not mid-flight).
pub const SELF_EXE: &str = "/proc/self/exe";

/// This executable's path as the file system names it (for messages and the directory check).
pub fn real_path() -> PathBuf {
    std::fs::read_link(SELF_EXE).unwrap_or_else(|_| PathBuf::from(SELF_EXE))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_test_binary_is_found_through_proc() {
        let path = real_path();
        assert!(path.is_absolute(), "{}", path.display());
        assert!(path.exists(), "{}", path.display());
    }
}
