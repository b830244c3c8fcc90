//! LUKS headers read from the start of a block device (the on-disk formats of cryptsetup's
//! LUKS1 and LUKS2 specifications), for `disk_encryption`: the version, the UUID and the cipher
//! of the data segment, without libcryptsetup.

/// `LUKS\xba\xbe`: the magic of a LUKS1 header and of LUKS2's primary header.
pub const MAGIC: &[u8; 6] = b"LUKS\xba\xbe";
/// How much of a device to read: LUKS2's binary header (4 KiB) and its JSON area, whose size the
/// header gives (16 KiB by default; capped here, larger areas are read up to this).
pub const MAX_HEADER_BYTES: usize = 4096 + 4 * 1024 * 1024;
const BINARY_HEADER: usize = 4096;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LuksHeader {
    /// 1 or 2.
    pub version: u16,
    pub uuid: String,
    /// `aes`, `serpent`, ... (empty when the header does not say).
    pub cipher: String,
    /// `xts-plain64`, `cbc-essiv:sha256`, ...
    pub cipher_mode: String,
}

impl LuksHeader {
    /// As osquery's `type` column names it: `LUKS2-aes-xts-plain64`.
    pub fn type_name(&self) -> String {
        let mut parts = vec![format!("LUKS{}", self.version)];
        parts.extend(
            [&self.cipher, &self.cipher_mode]
                .into_iter()
                .filter(|p| !p.is_empty())
                .cloned(),
        );
        parts.join("-")
    }
}

/// The header at the start of `bytes` (a device's first bytes), or `None` when they do not
/// start with a LUKS header of version 1 or 2.
pub fn header(bytes: &[u8]) -> Option<LuksHeader> {
    if bytes.get(..6)? != MAGIC {
        return None;
    }
    let version = u16::from_be_bytes(bytes.get(6..8)?.try_into().ok()?);
    match version {
        1 => Some(LuksHeader {
            version,
            cipher: text(bytes.get(8..40)?),
            cipher_mode: text(bytes.get(40..72)?),
            uuid: text(bytes.get(168..208)?),
        }),
        2 => {
            let uuid = text(bytes.get(168..208)?);
            let header_size = u64::from_be_bytes(bytes.get(8..16)?.try_into().ok()?);
            let end = usize::try_from(header_size)
                .unwrap_or(usize::MAX)
                .min(bytes.len())
                .min(MAX_HEADER_BYTES);
            let json = bytes.get(BINARY_HEADER..end).unwrap_or(&[]);
            let (cipher, cipher_mode) = luks2_cipher(json).unwrap_or_default();
            Some(LuksHeader {
                version,
                uuid,
                cipher,
                cipher_mode,
            })
        }
        _ => None,
    }
}

/// The first data segment's `encryption` of a LUKS2 JSON area (`aes-xts-plain64`), split
/// into cipher and mode at its first `-`. The area is NUL-padded after the JSON.
fn luks2_cipher(area: &[u8]) -> Option<(String, String)> {
    let end = area.iter().position(|&b| b == 0).unwrap_or(area.len());
    let json: serde_json::Value = serde_json::from_slice(area.get(..end)?).ok()?;
    let segments = json.get("segments")?.as_object()?;
    let mut keys: Vec<(u64, &String)> = segments
        .keys()
        .filter_map(|k| Some((k.parse().ok()?, k)))
        .collect();
    keys.sort();
    let encryption = keys
        .iter()
        .filter_map(|(_, k)| segments.get(*k)?.get("encryption")?.as_str())
        .next()?;
    let (cipher, mode) = encryption.split_once('-').unwrap_or((encryption, ""));
    Some((cipher.to_owned(), mode.to_owned()))
}

/// A NUL-terminated field as text.
fn text(field: &[u8]) -> String {
    let end = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    String::from_utf8_lossy(field.get(..end).unwrap_or(&[]))
        .trim()
        .to_owned()
}

/// Builders of real headers, for tests here and in the tables crate.
pub mod build {
    use super::{BINARY_HEADER, MAGIC};

    /// A LUKS1 phdr (592 bytes), fields at the specification's offsets.
    pub fn luks1(cipher: &str, mode: &str, uuid: &str) -> Vec<u8> {
        let mut h = vec![0u8; 592];
        put(&mut h, 0, MAGIC);
        put(&mut h, 6, &1u16.to_be_bytes());
        put(&mut h, 8, cipher.as_bytes());
        put(&mut h, 40, mode.as_bytes());
        put(&mut h, 72, b"sha256");
        put(&mut h, 104, &4096u32.to_be_bytes());
        put(&mut h, 108, &64u32.to_be_bytes());
        put(&mut h, 168, uuid.as_bytes());
        h
    }

    /// A LUKS2 binary header and a 12 KiB JSON area with one crypt segment.
    pub fn luks2(encryption: &str, uuid: &str) -> Vec<u8> {
        let header_size: u64 = 16384;
        let mut h = vec![0u8; header_size as usize];
        put(&mut h, 0, MAGIC);
        put(&mut h, 6, &2u16.to_be_bytes());
        put(&mut h, 8, &header_size.to_be_bytes());
        put(&mut h, 16, &1u64.to_be_bytes());
        put(&mut h, 72, b"sha256");
        put(&mut h, 168, uuid.as_bytes());
        let json = format!(
            r#"{{"keyslots":{{}},"tokens":{{}},"segments":{{"0":{{"type":"crypt","offset":"16777216","size":"dynamic","iv_tweak":"0","encryption":"{encryption}","sector_size":512}}}},"digests":{{}},"config":{{"json_size":"12288","keyslots_size":"16744448"}}}}"#
        );
        put(&mut h, BINARY_HEADER, json.as_bytes());
        h
    }

    fn put(buffer: &mut [u8], at: usize, bytes: &[u8]) {
        if let Some(slot) = buffer.get_mut(at..at + bytes.len()) {
            slot.copy_from_slice(bytes);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UUID: &str = "6e5ddc2f-6c6e-4a56-8f2d-3c3b0ad2f0a1";

    #[test]
    fn luks1_header() {
        let header = header(&build::luks1("aes", "xts-plain64", UUID)).expect("LUKS1");
        assert_eq!(header.version, 1);
        assert_eq!(header.uuid, UUID);
        assert_eq!(header.type_name(), "LUKS1-aes-xts-plain64");
    }

    #[test]
    fn luks2_header_and_its_json_area() {
        let header = header(&build::luks2("aes-xts-plain64", UUID)).expect("LUKS2");
        assert_eq!(header.version, 2);
        assert_eq!(header.uuid, UUID);
        assert_eq!(
            (header.cipher.as_str(), header.cipher_mode.as_str()),
            ("aes", "xts-plain64")
        );
        assert_eq!(header.type_name(), "LUKS2-aes-xts-plain64");
        // A header cut short of its JSON area still gives the version and UUID.
        let cut = super::header(&build::luks2("aes-xts-plain64", UUID)[..4096]).expect("cut");
        assert_eq!(cut.type_name(), "LUKS2");
    }

    #[test]
    fn not_luks() {
        assert_eq!(header(b""), None);
        assert_eq!(header(&[0u8; 4096]), None);
        let mut other_version = build::luks1("aes", "cbc", UUID);
        other_version[7] = 3;
        assert_eq!(header(&other_version), None);
        assert_eq!(header(&MAGIC[..]), None);
    }
}
