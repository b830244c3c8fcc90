//! `etw_file_events` from Microsoft-Windows-Kernel-File: new files (CreateNewFile), the first
//! write through each open (Write, named through the file object its Create opened: writes
//! carry no name), deletes (DeletePath) and renames (RenamePath, which names the file before
//! its rename; the new name is not in the event).

use std::collections::HashMap;

use super::{
    EtwFileEvent, FileOperation, PropertyError, Provider, Record, VolumeMap,
    convert::filetime_to_unix_ns,
};

const CREATE: u16 = 12;
const CLOSE: u16 = 14;
const WRITE: u16 = 16;
const DELETE_PATH: u16 = 26;
const RENAME_PATH: u16 = 27;
const CREATE_NEW_FILE: u16 = 30;

/// Open file objects remembered: past this, the table is emptied (writes to files opened
/// before then are reported without a path).
const OPEN_FILES_KEPT: usize = 1 << 16;

#[derive(Debug)]
struct OpenFile {
    path: String,
    written: bool,
}

/// Names writes after the opens they go through.
#[derive(Debug, Default)]
pub struct FileTracker {
    volumes: VolumeMap,
    open: HashMap<u64, OpenFile>,
}

impl FileTracker {
    pub fn new(volumes: VolumeMap) -> Self {
        Self {
            volumes,
            open: HashMap::new(),
        }
    }

    /// Takes one Kernel-File event: a row for a new file, a delete, a rename, or the first write
    /// through an open (a program writing a file in a thousand pieces is one row, as an open for
    /// writing is one row in `bpf_file_events`); nothing for the others.
    pub fn push(&mut self, record: &Record) -> Result<Option<EtwFileEvent>, PropertyError> {
        if record.provider != Provider::KernelFile {
            return Ok(None);
        }
        match record.event_id {
            CREATE | CREATE_NEW_FILE => {
                let file_object = record.u64("FileObject")?;
                let path = self.volumes.to_drive_path(record.text("FileName")?);
                if self.open.len() >= OPEN_FILES_KEPT {
                    self.open.clear();
                }
                self.open.insert(
                    file_object,
                    OpenFile {
                        path: path.clone(),
                        written: false,
                    },
                );
                if record.event_id == CREATE {
                    return Ok(None);
                }
                let mut row = row(record, FileOperation::Create, path, file_object)?;
                row.create_options = record.u32("CreateOptions")?;
                row.attributes = record.u32("CreateAttributes")?;
                row.share_access = record.u32("ShareAccess")?;
                Ok(Some(row))
            }
            CLOSE => {
                self.open.remove(&record.u64("FileObject")?);
                Ok(None)
            }
            WRITE => {
                let file_object = record.u64("FileObject")?;
                let path = match self.open.get_mut(&file_object) {
                    Some(open) if open.written => return Ok(None),
                    Some(open) => {
                        open.written = true;
                        open.path.clone()
                    }
                    None => {
                        // Opened before the session started: reported once, without a name.
                        self.open.insert(
                            file_object,
                            OpenFile {
                                path: String::new(),
                                written: true,
                            },
                        );
                        String::new()
                    }
                };
                let mut row = row(record, FileOperation::Write, path, file_object)?;
                row.offset = record.u64("ByteOffset")?;
                row.size = record.u32("IOSize")?;
                Ok(Some(row))
            }
            DELETE_PATH | RENAME_PATH => {
                let operation = if record.event_id == DELETE_PATH {
                    FileOperation::Delete
                } else {
                    FileOperation::Rename
                };
                let path = self.volumes.to_drive_path(record.text("FilePath")?);
                row(record, operation, path, record.u64("FileObject")?).map(Some)
            }
            _ => Ok(None),
        }
    }
}

fn row(
    record: &Record,
    operation: FileOperation,
    path: String,
    file_object: u64,
) -> Result<EtwFileEvent, PropertyError> {
    Ok(EtwFileEvent {
        operation,
        time_ns: filetime_to_unix_ns(record.timestamp),
        pid: record.process_id,
        // The thread that asked; the header's may be a system worker's.
        tid: record.u32("IssuingThreadId")?,
        path,
        file_object,
        create_options: 0,
        attributes: 0,
        share_access: 0,
        offset: 0,
        size: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;

    #[test]
    fn a_new_file_then_its_writes_is_a_create_and_one_write() {
        let mut tracker = FileTracker::new(volumes());
        let create = tracker
            .push(&file_create_new())
            .expect("maps")
            .expect("a new file is a row");
        assert_eq!(create.operation, FileOperation::Create);
        assert_eq!(
            create.path,
            r"C:\Users\alice\AppData\Local\Temp\report.docx"
        );
        assert_eq!(create.pid, 7464);
        assert_eq!(create.tid, 8120);
        // FILE_OVERWRITE_IF in the top byte, FILE_NON_DIRECTORY_FILE | FILE_SYNCHRONOUS_IO_NONALERT.
        assert_eq!(create.create_options >> 24, 5);
        assert_eq!(create.create_options & 0xff_ffff, 0x60);
        assert_eq!(create.attributes, 0x80);
        assert_eq!(create.share_access, 0);
        assert_eq!(create.time_ns, 1_700_000_001_000_000_000);
        let write = tracker
            .push(&file_write(0))
            .expect("maps")
            .expect("the first write is a row");
        assert_eq!(write.operation, FileOperation::Write);
        assert_eq!(write.path, r"C:\Users\alice\AppData\Local\Temp\report.docx");
        assert_eq!(write.size, 4096);
        assert_eq!(write.file_object, create.file_object);
        assert_eq!(tracker.push(&file_write(4096)).expect("maps"), None);
        // Closed and opened again: a new open, a new first write.
        assert_eq!(tracker.push(&file_close()).expect("maps"), None);
        assert_eq!(tracker.push(&file_open()).expect("maps"), None);
        let again = tracker.push(&file_write(8192)).expect("maps").expect("row");
        assert_eq!(again.offset, 8192);
        assert_eq!(again.path, r"C:\Users\alice\AppData\Local\Temp\report.docx");
    }

    #[test]
    fn a_write_through_an_open_the_session_did_not_see_has_no_path() {
        let mut tracker = FileTracker::new(volumes());
        let write = tracker.push(&file_write(0)).expect("maps").expect("row");
        assert_eq!(write.path, "");
        assert_eq!(tracker.push(&file_write(4096)).expect("maps"), None);
    }

    #[test]
    fn deletes_and_renames_name_the_file() {
        let mut tracker = FileTracker::new(volumes());
        let delete = tracker
            .push(&file_delete_path())
            .expect("maps")
            .expect("row");
        assert_eq!(delete.operation, FileOperation::Delete);
        assert_eq!(delete.path, r"D:\builds\obj\main.obj");
        let rename = tracker
            .push(&file_rename_path())
            .expect("maps")
            .expect("row");
        assert_eq!(rename.operation, FileOperation::Rename);
        assert_eq!(rename.path, r"C:\Users\alice\Documents\draft.txt");
    }

    #[test]
    fn a_write_without_its_offset_is_an_error_naming_it() {
        let mut record = file_write(0);
        record.properties.remove("ByteOffset");
        let error = FileTracker::new(volumes())
            .push(&record)
            .expect_err("missing offset");
        assert!(error.to_string().contains("`ByteOffset`"), "{error}");
    }
}
