//! Owner-only modes (0700, 0600) and a `MAP_SHARED` mapping.

use std::{
    fs::{File, OpenOptions},
    io,
    os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _},
    path::Path,
};

/// Creates `path` (and its parents) owner-only (0700), or tightens it if it exists.
pub fn create_dir(path: &Path) -> io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
}

/// Opens `path` for reading and writing, creating it owner-only (0600); never through a
/// symbolic link.
pub fn open_file(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
}

/// `len` bytes of a file, mapped shared and writable: what is written is in the page cache at
/// once, and outlives this process. Unmapped on drop.
pub struct SharedMap {
    base: *mut u8,
    len: usize,
}

impl SharedMap {
    /// Maps the first `len` bytes of `file` (which must be at least that long).
    pub fn new(file: &File, len: usize) -> io::Result<Self> {
        // SAFETY: a new shared mapping of a file we hold open; the kernel picks the address.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                std::os::fd::AsRawFd::as_raw_fd(file),
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        Ok(Self {
            base: base.cast::<u8>(),
            len,
        })
    }

    /// The first byte of the mapping (page-aligned).
    pub fn base(&self) -> *mut u8 {
        self.base
    }
}

impl Drop for SharedMap {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping `new` made; no reference into it outlives `self`.
        unsafe {
            libc::munmap(self.base.cast(), self.len);
        }
    }
}
