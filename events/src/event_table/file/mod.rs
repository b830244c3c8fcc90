//! `bpf_file_events`: file calls, from the eBPF publisher's file records.

#[cfg(target_os = "linux")]
pub(crate) mod ebpf;
pub(crate) mod stored;
mod view;

pub use stored::{decode_file_event, decode_file_event_view, encode_file_event};
pub use view::FileEventView;

use super::TableEvent;
use crate::{
    codec::DecodeError,
    model::{Actor, Syscall},
};

/// What a file event did, in the words of the `operation` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileOperation {
    /// Opened for writing (`flags` tells whether it created or truncated).
    Open,
    /// Opened read-only, under a directory whose reads are watched (`file_accesses`).
    Read,
    Truncate,
    Unlink,
    Rmdir,
    Rename,
    Chmod,
    Chown,
    Link,
    Symlink,
    Mkdir,
}

impl FileOperation {
    pub fn as_str(self) -> &'static str {
        match self {
            FileOperation::Open => "open",
            FileOperation::Read => "read",
            FileOperation::Truncate => "truncate",
            FileOperation::Unlink => "unlink",
            FileOperation::Rmdir => "rmdir",
            FileOperation::Rename => "rename",
            FileOperation::Chmod => "chmod",
            FileOperation::Chown => "chown",
            FileOperation::Link => "link",
            FileOperation::Symlink => "symlink",
            FileOperation::Mkdir => "mkdir",
        }
    }

    pub(crate) fn code(self) -> u8 {
        self as u8
    }

    pub(crate) fn from_code(code: u8) -> Option<Self> {
        use FileOperation::*;
        [
            Open, Read, Truncate, Unlink, Rmdir, Rename, Chmod, Chown, Link, Symlink, Mkdir,
        ]
        .into_iter()
        .find(|op| op.code() == code)
    }
}

/// One file call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEvent {
    pub operation: FileOperation,
    pub syscall: Syscall,
    pub time_ns: u64,
    pub actor: Actor,
    /// Absolute, exact; when it could not be resolved exactly (a `..` after a component the
    /// caller named, or a directory not walked), as given or joined and `path_resolved` false.
    pub path: String,
    pub path_resolved: bool,
    /// rename: the new name; link: the new link; symlink: the link's target as written.
    pub dest_path: String,
    pub mode: u32,
    pub flags: u32,
    /// Inode and device (userspace `st_dev` encoding) when the file was at hand, else 0.
    pub inode: u64,
    pub device: u64,
    pub fd: i32,
    /// The syscall's return value: 0 or an fd, or -errno.
    pub result: i64,
    /// chown: the requested owner and group (`u32::MAX`: unchanged).
    pub new_uid: u32,
    pub new_gid: u32,
    /// truncate: the new size.
    pub size: i64,
    pub duration_ns: u64,
    pub probe_error: u32,
}

impl TableEvent for FileEvent {
    fn time_ns(&self) -> u64 {
        self.time_ns
    }

    fn actor_mut(&mut self) -> Option<&mut Actor> {
        Some(&mut self.actor)
    }

    fn encode(&self) -> Vec<u8> {
        stored::encode_file_event(self)
    }

    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        stored::decode_file_event(bytes)
    }
}
