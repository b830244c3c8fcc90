//! `file`: what is at a path now (type, owner, mode, size, times, a symlink's target), for the
//! paths and directories a query names, on the host or in a process's mount namespace
//! (`pid_with_namespace`).

use std::{
    os::unix::fs::{FileTypeExt, MetadataExt},
    time::UNIX_EPOCH,
};

use super::{
    namespace::{Root, roots},
    paths::{Requested, requested_paths},
    util::rows,
};
use crate::{
    row::table_row,
    table::{Column, Row, Rows, ScanRequest, Table, TableError, Value},
};

table_row! {
    struct FileRow {
        path: Text,
        directory: Text,
        filename: Text,
        inode: BigInt,
        uid: BigInt,
        gid: BigInt,
        mode: Text,
        device: BigInt,
        size: BigInt,
        block_size: Integer,
        atime: BigInt,
        mtime: BigInt,
        ctime: BigInt,
        btime: BigInt,
        hard_links: Integer,
        symlink: Integer,
        r#type: Text,
        symlink_target_path: Text,
        #[hidden]
        pid_with_namespace: Integer,
        #[hidden]
        mount_namespace_id: Text,
    }
}

const PATH: usize = FileRow::path;
const DIRECTORY: usize = FileRow::directory;
const PID_WITH_NAMESPACE: usize = FileRow::pid_with_namespace;

pub struct File;

fn file_type(meta: &std::fs::Metadata) -> &'static str {
    let t = meta.file_type();
    if t.is_symlink() {
        "symlink"
    } else if t.is_dir() {
        "directory"
    } else if t.is_file() {
        "regular"
    } else if t.is_block_device() {
        "block"
    } else if t.is_char_device() {
        "character"
    } else if t.is_fifo() {
        "fifo"
    } else if t.is_socket() {
        "socket"
    } else {
        "unknown"
    }
}

/// The row of the file `requested`, which the query names as `root.name(read)`.
fn file_row(requested: &Requested, root: &Root) -> Option<Row> {
    let read = requested.read.as_path();
    let link = std::fs::symlink_metadata(read).ok()?;
    let is_symlink = link.file_type().is_symlink();
    // Like osquery: a symlink's own metadata, marked; its target's when it can be read.
    let meta = if is_symlink {
        std::fs::metadata(read).unwrap_or(link)
    } else {
        link
    };
    // The target as the link holds it (osquery's `read_symlink`).
    let symlink_target = if is_symlink {
        std::fs::read_link(read)
            .map(|target| target.to_string_lossy().into_owned())
            .unwrap_or_default()
    } else {
        String::new()
    };
    let path = root.name(read);
    let path = path.as_path();
    let btime = meta
        .created()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(Value::Int(0), |d| Value::Int(d.as_secs() as i64));
    let row = FileRow {
        path: path.to_string_lossy().into_owned().into(),
        directory: requested.directory_cell(path),
        filename: path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
            .into(),
        inode: meta.ino().into(),
        uid: meta.uid().into(),
        gid: meta.gid().into(),
        mode: format!("{:04o}", meta.mode() & 0o7777).into(),
        device: meta.dev().into(),
        size: meta.size().into(),
        block_size: meta.blksize().into(),
        atime: Value::Int(meta.atime()),
        mtime: Value::Int(meta.mtime()),
        ctime: Value::Int(meta.ctime()),
        btime,
        hard_links: meta.nlink().into(),
        symlink: is_symlink.into(),
        r#type: file_type(&meta).into(),
        symlink_target_path: symlink_target.into(),
        pid_with_namespace: root.pid_cell(),
        mount_namespace_id: root.namespace_cell(),
    };
    Some(row.into())
}

impl Table for File {
    fn name(&self) -> &'static str {
        "file"
    }

    fn columns(&self) -> &'static [Column] {
        FileRow::COLUMNS
    }

    fn pushdown_columns(&self) -> &'static [usize] {
        &[PATH, DIRECTORY, PID_WITH_NAMESPACE]
    }

    fn row_identity(&self) -> &'static [usize] {
        &[PATH]
    }

    fn scan(&self, request: &ScanRequest) -> Result<Rows, TableError> {
        let mut found = Vec::new();
        for root in roots(request, PID_WITH_NAMESPACE) {
            let paths = requested_paths("file", request, PATH, DIRECTORY, &root)?;
            found.extend(paths.iter().filter_map(|p| file_row(p, &root)));
        }
        Ok(rows(found))
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::table::{Constraint, ConstraintOp};

    fn request(column: usize, op: ConstraintOp, value: &str) -> ScanRequest {
        ScanRequest {
            constraints: vec![Constraint {
                column,
                op,
                value: Value::Text(value.to_owned()),
            }],
            ..ScanRequest::default()
        }
    }

    fn scan(request: &ScanRequest) -> Vec<Row> {
        File.scan(request)
            .expect("scan")
            .collect::<Result<_, _>>()
            .expect("rows")
    }

    #[test]
    fn sizes_modes_and_types_of_files_the_test_wrote() {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("data.bin");
        std::fs::write(&file, vec![7u8; 1234]).expect("write");
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).expect("chmod");
        std::os::unix::fs::symlink(&file, dir.path().join("link")).expect("symlink");
        std::fs::create_dir(dir.path().join("sub")).expect("mkdir");

        let rows = scan(&request(PATH, ConstraintOp::Eq, &file.to_string_lossy()));
        assert_eq!(rows.len(), 1);
        let row = &rows[0];
        assert_eq!(row[FileRow::size], Value::Int(1234));
        assert_eq!(row[FileRow::mode], Value::Text("0640".into()));
        assert_eq!(row[FileRow::r#type], Value::Text("regular".into()));
        assert_eq!(row[FileRow::filename], Value::Text("data.bin".into()));

        let listed = scan(&request(
            DIRECTORY,
            ConstraintOp::Eq,
            &dir.path().to_string_lossy(),
        ));
        let kinds: Vec<(Value, Value)> = listed
            .iter()
            .map(|r| (r[FileRow::filename].clone(), r[FileRow::symlink].clone()))
            .collect();
        assert_eq!(listed.len(), 3, "{kinds:?}");
        assert!(kinds.contains(&(Value::Text("link".into()), Value::Int(1))));
        let link = listed
            .iter()
            .find(|r| r[FileRow::filename] == Value::from("link"))
            .expect("the link's row");
        assert_eq!(
            link[FileRow::symlink_target_path],
            Value::Text(file.to_string_lossy().into_owned())
        );
        assert_eq!(row[FileRow::symlink_target_path], Value::from(""));
        assert_eq!(row[FileRow::pid_with_namespace], Value::Int(0));
        let pattern = format!("{}/%.bin", dir.path().display());
        assert_eq!(scan(&request(PATH, ConstraintOp::Like, &pattern)).len(), 1);
    }

    #[test]
    fn without_a_path_or_directory_it_says_what_is_needed() {
        let Err(error) = File.scan(&ScanRequest::default()) else {
            panic!("an unconstrained file scan must fail");
        };
        let message = error.to_string();
        assert!(message.contains("needs a path or directory"), "{message}");
        assert!(message.contains("WHERE path = "), "{message}");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_process_namespace_names_paths_as_inside_it() {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("inside");
        std::fs::write(&file, "x").expect("write");
        let pid = i64::from(std::process::id());
        let mut request = request(PATH, ConstraintOp::Eq, &file.to_string_lossy());
        request.constraints.push(Constraint {
            column: PID_WITH_NAMESPACE,
            op: ConstraintOp::Eq,
            value: Value::Int(pid),
        });
        let rows = scan(&request);
        assert_eq!(rows.len(), 1);
        assert_eq!(
            rows[0][PATH],
            Value::Text(file.to_string_lossy().into_owned()),
            "the path as the process sees it, not /proc/{pid}/root/..."
        );
        assert_eq!(rows[0][PID_WITH_NAMESPACE], Value::Int(pid));
        let namespace = rows[0][FileRow::mount_namespace_id]
            .as_text()
            .unwrap_or_default();
        assert!(namespace.parse::<u64>().is_ok(), "{namespace}");
    }

    #[test]
    fn a_missing_path_is_no_row() {
        assert!(scan(&request(PATH, ConstraintOp::Eq, "/no/such/file/here")).is_empty());
    }
}
