//! No owner-only files here yet (Windows would need ACLs): every call fails and says so.

use std::{fs::File, io, path::Path};

fn unsupported(what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        format!("{what} is not supported on this platform yet"),
    )
}

/// Fails: an owner-only directory is not supported on this platform yet.
pub fn create_dir(_path: &Path) -> io::Result<()> {
    Err(unsupported("an owner-only directory"))
}

/// Fails: an owner-only file is not supported on this platform yet.
pub fn open_file(_path: &Path) -> io::Result<File> {
    Err(unsupported("an owner-only file"))
}

/// Never made: there is no shared mapping here yet.
pub enum SharedMap {}

impl SharedMap {
    /// Fails: a shared mapping of a file is not supported on this platform yet.
    pub fn new(_file: &File, _len: usize) -> io::Result<Self> {
        Err(unsupported("a shared mapping of a file"))
    }

    pub fn base(&self) -> *mut u8 {
        match *self {}
    }
}
