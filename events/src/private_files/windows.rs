//! Owner-only files on Windows: the database directory gets a protected access list (LocalSystem,
//! the Administrators and the folder's owner, inherited by what is made in it, nothing from the
//! parent), the ledger inherits it, and its shared mapping is a file mapping's view.

use std::{
    fs::{File, OpenOptions},
    io,
    os::windows::{fs::OpenOptionsExt as _, io::AsRawHandle as _},
    path::Path,
};

use windows::{
    Win32::{
        Foundation::{CloseHandle, HANDLE, HLOCAL, LocalFree},
        Security::{
            Authorization::{
                ConvertStringSecurityDescriptorToSecurityDescriptorW, SDDL_REVISION_1,
            },
            DACL_SECURITY_INFORMATION, PROTECTED_DACL_SECURITY_INFORMATION, PSECURITY_DESCRIPTOR,
            SetFileSecurityW,
        },
        Storage::FileSystem::FILE_FLAG_OPEN_REPARSE_POINT,
        System::Memory::{
            CreateFileMappingW, FILE_MAP_WRITE, MEMORY_MAPPED_VIEW_ADDRESS, MapViewOfFile,
            PAGE_READWRITE, UnmapViewOfFile,
        },
    },
    core::{HSTRING, PCWSTR, w},
};

/// Full control for LocalSystem (SY), the Administrators (BA) and the owner (OW), inherited by
/// files and folders inside (OICI), the parent's entries cut off (P): what 0700 is on Unix.
const OWNER_ONLY: PCWSTR = w!("D:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;OW)");

fn windows_error(error: windows::core::Error) -> io::Error {
    io::Error::from_raw_os_error(error.code().0 & 0xFFFF)
}

/// Creates `path` (and its parents) and gives it the owner-only access list, also when it
/// existed with another.
pub fn create_dir(path: &Path) -> io::Result<()> {
    std::fs::create_dir_all(path)?;
    let mut descriptor = PSECURITY_DESCRIPTOR::default();
    // SAFETY: a constant SDDL string; the descriptor is allocated by the call, freed below.
    unsafe {
        ConvertStringSecurityDescriptorToSecurityDescriptorW(
            OWNER_ONLY,
            SDDL_REVISION_1,
            &mut descriptor,
            None,
        )
    }
    .map_err(windows_error)?;
    let name = HSTRING::from(path.as_os_str());
    // SAFETY: a NUL-terminated path and the descriptor made above.
    let set = unsafe {
        SetFileSecurityW(
            &name,
            DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
            descriptor,
        )
    };
    let outcome = if set.as_bool() {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    };
    // SAFETY: the descriptor the conversion allocated, freed once.
    unsafe { LocalFree(HLOCAL(descriptor.0)) };
    outcome
}

/// Opens `path` for reading and writing, creating it with the directory's access list; never
/// through a symbolic link or junction (the reparse point itself is opened).
pub fn open_file(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .custom_flags(FILE_FLAG_OPEN_REPARSE_POINT.0)
        .open(path)
}

/// `len` bytes of a file, mapped shared and writable: what is written is in the system's cache
/// at once, and outlives this process. Unmapped on drop.
pub struct SharedMap {
    base: *mut u8,
}

impl SharedMap {
    /// Maps the first `len` bytes of `file` (which must be at least that long).
    pub fn new(file: &File, len: usize) -> io::Result<Self> {
        let handle = HANDLE(file.as_raw_handle() as isize);
        // SAFETY: a file this process holds open, mapped at its current size.
        let mapping = unsafe { CreateFileMappingW(handle, None, PAGE_READWRITE, 0, 0, None) }
            .map_err(windows_error)?;
        // SAFETY: a view of the mapping just made; the view keeps the mapping alive.
        let view = unsafe { MapViewOfFile(mapping, FILE_MAP_WRITE, 0, 0, len) };
        let mapped = if view.Value.is_null() {
            Err(io::Error::last_os_error())
        } else {
            Ok(Self {
                base: view.Value.cast::<u8>(),
            })
        };
        // SAFETY: the mapping's handle, closed once; an open view keeps the mapping.
        let _ = unsafe { CloseHandle(mapping) };
        mapped
    }

    /// The first byte of the mapping (aligned to the allocation granularity).
    pub fn base(&self) -> *mut u8 {
        self.base
    }
}

impl Drop for SharedMap {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the view `new` made; no reference into it outlives `self`.
        let _ = unsafe {
            UnmapViewOfFile(MEMORY_MAPPED_VIEW_ADDRESS {
                Value: self.base.cast(),
            })
        };
    }
}
