//! A file event read in place, as `ProcessEventView` reads a process event: its strings borrowed
//! from where it is stored and checked as UTF-8 only when read.

use super::{FileEvent, FileOperation};
use crate::{
    codec::DecodeError,
    model::{ActorView, StoredText, Syscall},
};

#[derive(Debug, Clone, Copy)]
pub struct FileEventView<'a> {
    pub operation: FileOperation,
    pub syscall: Syscall,
    pub time_ns: u64,
    pub actor: ActorView<'a>,
    pub path: StoredText<'a>,
    pub path_resolved: bool,
    pub dest_path: StoredText<'a>,
    pub mode: u32,
    pub flags: u32,
    pub inode: u64,
    pub device: u64,
    pub fd: i32,
    pub result: i64,
    pub new_uid: u32,
    pub new_gid: u32,
    pub size: i64,
    pub duration_ns: u64,
    pub probe_error: u32,
}

impl FileEventView<'_> {
    /// The owned event; a string that is not UTF-8 (a damaged row) is an error naming its field.
    pub fn to_event(&self) -> Result<FileEvent, DecodeError> {
        Ok(FileEvent {
            operation: self.operation,
            syscall: self.syscall,
            time_ns: self.time_ns,
            actor: self.actor.to_actor()?,
            path: self.path.to_str()?.to_owned(),
            path_resolved: self.path_resolved,
            dest_path: self.dest_path.to_str()?.to_owned(),
            mode: self.mode,
            flags: self.flags,
            inode: self.inode,
            device: self.device,
            fd: self.fd,
            result: self.result,
            new_uid: self.new_uid,
            new_gid: self.new_gid,
            size: self.size,
            duration_ns: self.duration_ns,
            probe_error: self.probe_error,
        })
    }
}

impl FileEvent {
    pub fn view(&self) -> FileEventView<'_> {
        FileEventView {
            operation: self.operation,
            syscall: self.syscall,
            time_ns: self.time_ns,
            actor: self.actor.view(),
            path: StoredText::of(&self.path),
            path_resolved: self.path_resolved,
            dest_path: StoredText::of(&self.dest_path),
            mode: self.mode,
            flags: self.flags,
            inode: self.inode,
            device: self.device,
            fd: self.fd,
            result: self.result,
            new_uid: self.new_uid,
            new_gid: self.new_gid,
            size: self.size,
            duration_ns: self.duration_ns,
            probe_error: self.probe_error,
        }
    }
}
