//! Mounting the kernel's pseudo file systems the publishers need (tracefs, bpffs) on a fresh
//! machine that has not.

use std::ffi::CStr;

/// `mount -t <fstype> <fstype> <target>`.
pub fn mount_pseudo_fs(fstype: &CStr, target: &CStr) -> std::io::Result<()> {
    // SAFETY: NUL-terminated strings that outlive the call; no data argument.
    let rc = unsafe {
        libc::mount(
            fstype.as_ptr(),
            target.as_ptr(),
            fstype.as_ptr(),
            0,
            std::ptr::null(),
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}
