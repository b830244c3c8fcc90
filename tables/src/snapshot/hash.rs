//! `hash`: MD5, SHA-1 and SHA-256 of the files a query names, read in fixed-size chunks so a
//! large file never sits in memory whole.

use std::{io::Read as _, path::Path};

use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256};

use super::{
    namespace::{Root, roots},
    paths::{Requested, requested_paths},
    util::rows,
};
use crate::{
    row::table_row,
    table::{Column, Row, Rows, ScanRequest, Table, TableError},
};

table_row! {
    struct HashRow {
        path: Text,
        directory: Text,
        md5: Text,
        sha1: Text,
        sha256: Text,
        #[hidden]
        pid_with_namespace: Integer,
        #[hidden]
        mount_namespace_id: Text,
    }
}

const PATH: usize = HashRow::path;
const DIRECTORY: usize = HashRow::directory;
const PID_WITH_NAMESPACE: usize = HashRow::pid_with_namespace;
const CHUNK: usize = 64 * 1024;

pub struct Hash;

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Hashes of a regular file; `None` for anything else or when it cannot be read.
fn digests(path: &Path) -> Option<[String; 3]> {
    if !std::fs::metadata(path).ok()?.is_file() {
        return None;
    }
    let mut file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(error) => {
            tracing::warn!(path = %path.display(), %error, "cannot read file to hash");
            return None;
        }
    };
    let (mut md5, mut sha1, mut sha256) = (Md5::new(), Sha1::new(), Sha256::new());
    let mut buffer = vec![0u8; CHUNK];
    loop {
        match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => {
                let chunk = buffer.get(..n)?;
                md5.update(chunk);
                sha1.update(chunk);
                sha256.update(chunk);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => {
                tracing::warn!(path = %path.display(), %error, "reading file to hash failed");
                return None;
            }
        }
    }
    Some([
        hex(&md5.finalize()),
        hex(&sha1.finalize()),
        hex(&sha256.finalize()),
    ])
}

/// The row of the file `requested`, which the query names as `root.name(read)`.
fn hash_row(requested: &Requested, root: &Root) -> Option<Row> {
    let read = requested.read.as_path();
    let [md5, sha1, sha256] = digests(read)?;
    let path = root.name(read);
    let row = HashRow {
        path: path.to_string_lossy().into_owned().into(),
        directory: requested.directory_cell(&path),
        md5: md5.into(),
        sha1: sha1.into(),
        sha256: sha256.into(),
        pid_with_namespace: root.pid_cell(),
        mount_namespace_id: root.namespace_cell(),
    };
    Some(row.into())
}

impl Table for Hash {
    fn name(&self) -> &'static str {
        "hash"
    }

    fn columns(&self) -> &'static [Column] {
        HashRow::COLUMNS
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
            let paths = requested_paths("hash", request, PATH, DIRECTORY, &root)?;
            found.extend(paths.iter().filter_map(|p| hash_row(p, &root)));
        }
        Ok(rows(found))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::{Constraint, ConstraintOp, Value};

    #[test]
    fn known_digests_of_known_content_including_a_multi_chunk_file() {
        let dir = tempfile::tempdir().expect("dir");
        let abc = dir.path().join("abc");
        std::fs::write(&abc, "abc").expect("write");
        let big = dir.path().join("big");
        std::fs::write(&big, vec![b'a'; CHUNK * 3 + 17]).expect("write");
        let request = ScanRequest {
            constraints: vec![Constraint {
                column: DIRECTORY,
                op: ConstraintOp::Eq,
                value: Value::Text(dir.path().to_string_lossy().into_owned()),
            }],
            ..ScanRequest::default()
        };
        let rows: Vec<Row> = Hash
            .scan(&request)
            .expect("scan")
            .collect::<Result<_, _>>()
            .expect("rows");
        let row = rows
            .iter()
            .find(|r| r[0] == Value::Text(abc.to_string_lossy().into_owned()))
            .expect("abc hashed");
        assert_eq!(
            row[2],
            Value::Text("900150983cd24fb0d6963f7d28e17f72".into())
        );
        assert_eq!(
            row[3],
            Value::Text("a9993e364706816aba3e25717850c26c9cd0d89d".into())
        );
        assert_eq!(
            row[4],
            Value::Text("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad".into())
        );
        let big_row = rows
            .iter()
            .find(|r| r[0] == Value::Text(big.to_string_lossy().into_owned()))
            .expect("big hashed");
        let expected = hex(&Sha256::digest(vec![b'a'; CHUNK * 3 + 17]));
        assert_eq!(big_row[4], Value::Text(expected));
    }

    #[test]
    fn without_a_path_or_directory_it_says_what_is_needed() {
        let Err(error) = Hash.scan(&ScanRequest::default()) else {
            panic!("an unconstrained hash scan must fail");
        };
        assert!(error.to_string().contains("hash needs a path or directory"));
    }
}
