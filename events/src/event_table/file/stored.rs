//! How a file event is stored.

use super::{FileEvent, FileOperation, view::FileEventView};
use crate::{
    codec::{
        DecodeError,
        caller::{read_actor_view, write_actor},
        wire::{Reader, Writer},
    },
    model::Syscall,
};

const FILE_EVENT_V1: u8 = 1;

pub fn encode_file_event(event: &FileEvent) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(
        96 + event.path.len() + event.dest_path.len(),
    ));
    w.0.push(FILE_EVENT_V1);
    w.0.push(event.operation.code());
    w.0.push(event.syscall.code());
    w.uint(event.time_ns);
    write_actor(&mut w, &event.actor);
    w.str(&event.path);
    w.0.push(u8::from(event.path_resolved));
    w.str(&event.dest_path);
    w.uint(event.mode.into());
    w.uint(event.flags.into());
    w.uint(event.inode);
    w.uint(event.device);
    w.int(event.fd.into());
    w.int(event.result);
    w.uint(event.new_uid.into());
    w.uint(event.new_gid.into());
    w.int(event.size);
    w.uint(event.duration_ns);
    w.uint(event.probe_error.into());
    w.0
}

pub fn decode_file_event(bytes: &[u8]) -> Result<FileEvent, DecodeError> {
    decode_file_event_view(bytes).and_then(|view| view.to_event())
}

/// Reads a stored file event in place (see [`FileEventView`]); the same checks as
/// [`decode_file_event`] but UTF-8, which is checked where a string is read.
pub fn decode_file_event_view(bytes: &[u8]) -> Result<FileEventView<'_>, DecodeError> {
    let mut r = Reader(bytes);
    let version = r.byte()?;
    if version != FILE_EVENT_V1 {
        return Err(DecodeError::Version(version));
    }
    let operation = FileOperation::from_code(r.byte()?).ok_or(DecodeError::Invalid("operation"))?;
    let syscall = Syscall::from_code(r.byte()?).ok_or(DecodeError::Invalid("syscall"))?;
    let time_ns = r.uint()?;
    let actor = read_actor_view(&mut r)?;
    let path = r.text_ref("path")?;
    let path_resolved = match r.byte()? {
        0 => false,
        1 => true,
        _ => return Err(DecodeError::Invalid("path_resolved")),
    };
    let event = FileEventView {
        operation,
        syscall,
        time_ns,
        actor,
        path,
        path_resolved,
        dest_path: r.text_ref("dest_path")?,
        mode: r.u32("mode")?,
        flags: r.u32("flags")?,
        inode: r.uint()?,
        device: r.uint()?,
        fd: i32::try_from(r.int()?).map_err(|_| DecodeError::Invalid("fd"))?,
        result: r.int()?,
        new_uid: r.u32("new_uid")?,
        new_gid: r.u32("new_gid")?,
        size: r.int()?,
        duration_ns: r.uint()?,
        probe_error: r.u32("probe_error")?,
    };
    r.finish()?;
    Ok(event)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::event_table::socket::stored::tests::sample_socket_event;

    #[test]
    fn file_events_round_trip_and_reject_truncation() {
        let event = FileEvent {
            operation: FileOperation::Rename,
            syscall: Syscall::Renameat2,
            time_ns: 9,
            actor: sample_socket_event(1).actor,
            path: "/tmp/a".into(),
            path_resolved: true,
            dest_path: "/tmp/b/c".into(),
            mode: 0o644,
            flags: 1,
            inode: 1234,
            device: 2049,
            fd: -1,
            result: -2,
            new_uid: u32::MAX,
            new_gid: u32::MAX,
            size: -7,
            duration_ns: 3,
            probe_error: 0,
        };
        let bytes = encode_file_event(&event);
        assert_eq!(decode_file_event(&bytes), Ok(event));
        for len in 0..bytes.len() {
            assert!(decode_file_event(&bytes[..len]).is_err(), "prefix {len}");
        }
    }
}
