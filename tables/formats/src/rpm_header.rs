//! rpm package headers as the rpm database stores them (one blob per installed package in
//! `rpmdb.sqlite`'s `Packages` table, and in the ndb and BerkeleyDB back ends), read without
//! librpm: an index of tagged entries over a data store, big-endian.
//!
//! Layout: `il` (entries, u32) and `dl` (data bytes, u32), then `il` entries of 16 bytes (tag,
//! type, offset into the data, count), then the data. A header written with its 8-byte magic
//! (`8e ad e8 01 00 00 00 00`) is read too.

const MAGIC: [u8; 8] = [0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0];
/// rpm's own bounds on a header (`HEADER_TAGS_MAX`, `HEADER_DATA_MAX`).
const MAX_ENTRIES: usize = 0xffff;
const MAX_DATA: usize = 256 * 1024 * 1024;

const TAG_SHA1HEADER: u32 = 269;
const TAG_NAME: u32 = 1000;
const TAG_VERSION: u32 = 1001;
const TAG_RELEASE: u32 = 1002;
const TAG_EPOCH: u32 = 1003;
const TAG_INSTALLTIME: u32 = 1008;
const TAG_SIZE: u32 = 1009;
const TAG_VENDOR: u32 = 1011;
const TAG_GROUP: u32 = 1016;
const TAG_ARCH: u32 = 1022;
const TAG_SOURCERPM: u32 = 1044;
const TAG_LONGSIZE: u32 = 5009;

const TYPE_INT32: u32 = 4;
const TYPE_INT64: u32 = 5;
const TYPE_STRING: u32 = 6;
const TYPE_STRING_ARRAY: u32 = 8;
const TYPE_I18NSTRING: u32 = 9;

/// What `rpm_packages` reports of one package.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RpmPackage {
    pub name: String,
    pub version: String,
    pub release: String,
    /// The source rpm's file name (`bash-5.1.8-6.el9.src.rpm`); empty for a source package.
    pub source: String,
    pub size: Option<i64>,
    pub sha1: String,
    pub arch: String,
    pub epoch: Option<i64>,
    pub install_time: Option<i64>,
    pub vendor: String,
    pub package_group: String,
}

struct Entry {
    tag: u32,
    kind: u32,
    offset: usize,
    count: usize,
}

/// The package a header blob describes; `None` when the blob is not a header or has no name.
pub fn package(blob: &[u8]) -> Option<RpmPackage> {
    let blob = blob.strip_prefix(&MAGIC[..]).unwrap_or(blob);
    let il = usize::try_from(be32(blob, 0)?).ok()?;
    let dl = usize::try_from(be32(blob, 4)?).ok()?;
    if il > MAX_ENTRIES || dl > MAX_DATA {
        return None;
    }
    let index = blob.get(8..8 + il * 16)?;
    let data = blob.get(8 + il * 16..8 + il * 16 + dl)?;
    let entries: Vec<Entry> = index
        .chunks_exact(16)
        .filter_map(|e| {
            Some(Entry {
                tag: be32(e, 0)?,
                kind: be32(e, 4)?,
                offset: usize::try_from(be32(e, 8)?).ok()?,
                count: usize::try_from(be32(e, 12)?).ok()?,
            })
        })
        .collect();
    let find = |tag: u32| entries.iter().find(|e| e.tag == tag);
    let string = |tag: u32| -> String {
        find(tag)
            .filter(|e| {
                matches!(e.kind, TYPE_STRING | TYPE_STRING_ARRAY | TYPE_I18NSTRING) && e.count > 0
            })
            .and_then(|e| c_string(data, e.offset))
            .unwrap_or_default()
    };
    let number = |tag: u32| -> Option<i64> {
        let entry = find(tag).filter(|e| e.count > 0)?;
        match entry.kind {
            TYPE_INT32 => be32(data, entry.offset).map(i64::from),
            TYPE_INT64 => {
                let bytes = data.get(entry.offset..entry.offset.checked_add(8)?)?;
                Some(i64::from_be_bytes(bytes.try_into().ok()?))
            }
            _ => None,
        }
    };
    let name = string(TAG_NAME);
    if name.is_empty() {
        return None;
    }
    Some(RpmPackage {
        name,
        version: string(TAG_VERSION),
        release: string(TAG_RELEASE),
        source: string(TAG_SOURCERPM),
        size: number(TAG_LONGSIZE).or_else(|| number(TAG_SIZE)),
        sha1: string(TAG_SHA1HEADER),
        arch: string(TAG_ARCH),
        epoch: number(TAG_EPOCH),
        install_time: number(TAG_INSTALLTIME),
        vendor: string(TAG_VENDOR),
        package_group: string(TAG_GROUP),
    })
}

fn be32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(
        bytes.get(at..at.checked_add(4)?)?.try_into().ok()?,
    ))
}

/// The NUL-terminated string at `offset` (the first of an array).
fn c_string(data: &[u8], offset: usize) -> Option<String> {
    let rest = data.get(offset..)?;
    let end = rest.iter().position(|&b| b == 0)?;
    Some(String::from_utf8_lossy(rest.get(..end)?).into_owned())
}

/// A header blob builder, for tests here and in the tables crate (rpm writes the same layout:
/// entries sorted by tag, integers aligned to their size in the data store).
pub mod build {
    use super::*;

    /// A value of a header entry.
    pub enum Value<'a> {
        Str(&'a str),
        I18n(&'a str),
        Int32(u32),
        Int64(u64),
    }

    /// The blob of a header holding `entries` (tag, value).
    pub fn blob(entries: &[(u32, Value<'_>)]) -> Vec<u8> {
        let mut sorted: Vec<&(u32, Value<'_>)> = entries.iter().collect();
        sorted.sort_by_key(|(tag, _)| *tag);
        let mut index = Vec::new();
        let mut data: Vec<u8> = Vec::new();
        for (tag, value) in sorted {
            let (kind, align, bytes) = match value {
                Value::Str(s) => (TYPE_STRING, 1, [s.as_bytes(), &[0]].concat()),
                Value::I18n(s) => (TYPE_I18NSTRING, 1, [s.as_bytes(), &[0]].concat()),
                Value::Int32(v) => (TYPE_INT32, 4, v.to_be_bytes().to_vec()),
                Value::Int64(v) => (TYPE_INT64, 8, v.to_be_bytes().to_vec()),
            };
            while !data.len().is_multiple_of(align) {
                data.push(0);
            }
            for field in [*tag, kind, data.len() as u32, 1] {
                index.extend_from_slice(&field.to_be_bytes());
            }
            data.extend_from_slice(&bytes);
        }
        let mut out = Vec::new();
        out.extend_from_slice(&((index.len() / 16) as u32).to_be_bytes());
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        out.extend_from_slice(&index);
        out.extend_from_slice(&data);
        out
    }

    /// A typical installed package's header.
    pub fn package_blob(name: &str, version: &str, release: &str) -> Vec<u8> {
        blob(&[
            (TAG_NAME, Value::Str(name)),
            (TAG_VERSION, Value::Str(version)),
            (TAG_RELEASE, Value::Str(release)),
            (TAG_EPOCH, Value::Int32(1)),
            (TAG_INSTALLTIME, Value::Int32(1_700_000_000)),
            (TAG_SIZE, Value::Int32(7_340_032)),
            (
                TAG_VENDOR,
                Value::Str("Rocky Enterprise Software Foundation"),
            ),
            (TAG_GROUP, Value::I18n("Unspecified")),
            (TAG_ARCH, Value::Str("x86_64")),
            (TAG_SOURCERPM, Value::Str("bash-5.1.8-9.el9.src.rpm")),
            (
                TAG_SHA1HEADER,
                Value::Str("0123456789abcdef0123456789abcdef01234567"),
            ),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_package_header() {
        let blob = build::package_blob("bash", "5.1.8", "9.el9");
        let package = package(&blob).expect("a header");
        assert_eq!(package.name, "bash");
        assert_eq!(package.version, "5.1.8");
        assert_eq!(package.release, "9.el9");
        assert_eq!(package.epoch, Some(1));
        assert_eq!(package.install_time, Some(1_700_000_000));
        assert_eq!(package.size, Some(7_340_032));
        assert_eq!(package.arch, "x86_64");
        assert_eq!(package.source, "bash-5.1.8-9.el9.src.rpm");
        assert_eq!(package.package_group, "Unspecified");
        assert_eq!(package.sha1.len(), 40);
        // With the magic in front, as in a package file.
        let with_magic = [&MAGIC[..], &blob].concat();
        assert_eq!(super::package(&with_magic), Some(package));
    }

    #[test]
    fn a_large_package_has_a_64_bit_size_and_no_epoch() {
        use build::Value;
        let blob = build::blob(&[
            (TAG_NAME, Value::Str("texlive")),
            (TAG_LONGSIZE, Value::Int64(5_000_000_000)),
        ]);
        let package = package(&blob).expect("a header");
        assert_eq!(package.size, Some(5_000_000_000));
        assert_eq!(package.epoch, None);
    }

    #[test]
    fn not_a_header() {
        assert_eq!(package(b""), None);
        assert_eq!(package(&[0xff; 64]), None);
        let mut blob = build::package_blob("bash", "1", "1");
        blob.truncate(blob.len() - 1);
        assert_eq!(package(&blob), None);
        assert_eq!(
            package(&build::blob(&[(TAG_VERSION, build::Value::Str("1"))])),
            None
        );
    }
}
