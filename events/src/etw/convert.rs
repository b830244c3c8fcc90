//! Windows' encodings of times, accounts, paths and addresses, as ETW delivers them, turned into
//! what vigil's rows hold.

use std::net::{Ipv4Addr, Ipv6Addr};

/// 100 ns intervals between 1601-01-01 (FILETIME's epoch) and 1970-01-01.
const FILETIME_UNIX_EPOCH: u64 = 116_444_736_000_000_000;

/// A FILETIME (100 ns since 1601-01-01 UTC) in nanoseconds since the Unix epoch; a time before
/// 1970 (0 is what ETW writes for "unknown") becomes 0.
pub fn filetime_to_unix_ns(filetime: u64) -> u64 {
    filetime
        .saturating_sub(FILETIME_UNIX_EPOCH)
        .saturating_mul(100)
}

/// Why bytes are not a SID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SidError {
    Short,
    Revision,
    Length,
}

impl SidError {
    pub fn reason(self) -> &'static str {
        match self {
            SidError::Short => "shorter than a SID's 8-byte header",
            SidError::Revision => "revision is not 1",
            SidError::Length => "length does not match its sub-authority count",
        }
    }
}

/// A binary SID (revision, sub-authority count, 48-bit big-endian identifier authority,
/// little-endian 32-bit sub-authorities) in its string form, as `ConvertSidToStringSidW` writes
/// it: `S-1-5-21-...`, the authority in hex when it does not fit 32 bits.
pub fn sid_to_string(bytes: &[u8]) -> Result<String, SidError> {
    let [revision, count, authority @ ..] = bytes else {
        return Err(SidError::Short);
    };
    if authority.len() < 6 {
        return Err(SidError::Short);
    }
    if *revision != 1 {
        return Err(SidError::Revision);
    }
    let (authority, subs) = authority.split_at(6);
    if subs.len() != usize::from(*count) * 4 || *count > 15 {
        return Err(SidError::Length);
    }
    let authority = authority
        .iter()
        .fold(0u64, |value, byte| (value << 8) | u64::from(*byte));
    let mut text = if authority >> 32 == 0 {
        format!("S-1-{authority}")
    } else {
        format!("S-1-0x{authority:012X}")
    };
    for sub in subs.chunks_exact(4) {
        let sub = u32::from_le_bytes([sub[0], sub[1], sub[2], sub[3]]);
        text.push('-');
        text.push_str(&sub.to_string());
    }
    Ok(text)
}

/// `TOKEN_ELEVATION_TYPE` in the words of osquery's `token_elevation_type` column.
pub fn token_elevation_type(value: u32) -> &'static str {
    match value {
        1 => "TokenElevationTypeDefault",
        2 => "TokenElevationTypeFull",
        3 => "TokenElevationTypeLimited",
        _ => "TokenElevationTypeInvalid",
    }
}

/// NT device names of this machine's volumes and the drive letters they are mounted on, as
/// `QueryDosDeviceW("C:")` answers: ETW's paths name the device (`\Device\HarddiskVolume3\...`),
/// users know the letter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VolumeMap {
    /// (device, drive), longest device first so that `HarddiskVolume10` is not taken for
    /// `HarddiskVolume1`.
    volumes: Vec<(String, String)>,
}

impl VolumeMap {
    pub fn new(volumes: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut volumes: Vec<(String, String)> = volumes.into_iter().collect();
        volumes.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        Self { volumes }
    }

    /// The path with its device replaced by its drive letter (`C:\Windows\...`); an object
    /// manager path to a drive (`\??\C:\...`) loses its prefix. A path on a device the map does
    /// not know (a network redirector, a volume without a letter) stays as ETW wrote it.
    pub fn to_drive_path(&self, path: &str) -> String {
        if let Some(rest) = path.strip_prefix(r"\??\") {
            return rest.to_owned();
        }
        for (device, drive) in &self.volumes {
            let Some(rest) = strip_prefix_ignore_case(path, device) else {
                continue;
            };
            if rest.is_empty() || rest.starts_with('\\') {
                return format!("{drive}{rest}");
            }
        }
        path.to_owned()
    }
}

// NT device names compare without case, as the object manager does.
fn strip_prefix_ignore_case<'a>(path: &'a str, prefix: &str) -> Option<&'a str> {
    let head = path.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &path[prefix.len()..])
}

/// An IPv4 address as Kernel-Network's `UInt32`/`IPv4` properties hold it: the address's bytes
/// in network order, read as a little-endian integer.
pub fn ipv4_from_etw(value: u32) -> Ipv4Addr {
    Ipv4Addr::from(value.to_le_bytes())
}

/// An IPv6 address from Kernel-Network's 16-byte binary properties; `None` for another length.
pub fn ipv6_from_etw(bytes: &[u8]) -> Option<Ipv6Addr> {
    <[u8; 16]>::try_from(bytes).ok().map(Ipv6Addr::from)
}

/// A port as Kernel-Network's `UInt16`/`Port` properties hold it: network byte order, read as a
/// little-endian integer.
pub fn port_from_etw(value: u16) -> u16 {
    u16::from_be_bytes(value.to_le_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filetime_becomes_unix_nanoseconds() {
        // 2023-11-14 22:13:20 UTC = 1_700_000_000 s.
        assert_eq!(
            filetime_to_unix_ns(133_444_736_000_000_000),
            1_700_000_000_000_000_000
        );
        // 100 ns resolution survives.
        assert_eq!(
            filetime_to_unix_ns(133_444_736_000_000_001),
            1_700_000_000_000_000_100
        );
        assert_eq!(filetime_to_unix_ns(0), 0);
        assert_eq!(filetime_to_unix_ns(FILETIME_UNIX_EPOCH - 1), 0);
    }

    #[test]
    fn sids_read_as_windows_writes_them() {
        // S-1-5-18, LocalSystem.
        assert_eq!(
            sid_to_string(&[1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0]).as_deref(),
            Ok("S-1-5-18")
        );
        // S-1-16-12288, the High mandatory label.
        assert_eq!(
            sid_to_string(&[1, 1, 0, 0, 0, 0, 0, 16, 0x00, 0x30, 0, 0]).as_deref(),
            Ok("S-1-16-12288")
        );
        let user = super::super::fixtures::USER_SID;
        assert_eq!(
            sid_to_string(user).as_deref(),
            Ok("S-1-5-21-3623811015-3361044348-30300820-1013")
        );
        // An authority past 32 bits is written in hex.
        assert_eq!(
            sid_to_string(&[1, 0, 1, 0, 0, 0, 0, 0]).as_deref(),
            Ok("S-1-0x010000000000")
        );
        assert_eq!(sid_to_string(&[1, 1, 0]), Err(SidError::Short));
        assert_eq!(
            sid_to_string(&[2, 0, 0, 0, 0, 0, 0, 5]),
            Err(SidError::Revision)
        );
        assert_eq!(
            sid_to_string(&[1, 2, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0]),
            Err(SidError::Length)
        );
    }

    #[test]
    fn device_paths_become_drive_paths_on_whole_device_names() {
        let volumes = VolumeMap::new([
            (r"\Device\HarddiskVolume1".to_owned(), "D:".to_owned()),
            (r"\Device\HarddiskVolume3".to_owned(), "C:".to_owned()),
            (r"\Device\HarddiskVolume10".to_owned(), "E:".to_owned()),
        ]);
        assert_eq!(
            volumes.to_drive_path(r"\Device\HarddiskVolume3\Windows\System32\notepad.exe"),
            r"C:\Windows\System32\notepad.exe"
        );
        assert_eq!(
            volumes.to_drive_path(r"\Device\HarddiskVolume10\data\x.txt"),
            r"E:\data\x.txt"
        );
        assert_eq!(volumes.to_drive_path(r"\device\harddiskvolume1\x"), r"D:\x");
        // A volume without a letter, and a redirector, stay as they are.
        assert_eq!(
            volumes.to_drive_path(r"\Device\HarddiskVolume2\EFI\Boot"),
            r"\Device\HarddiskVolume2\EFI\Boot"
        );
        assert_eq!(
            volumes.to_drive_path(r"\Device\Mup\server\share\f.txt"),
            r"\Device\Mup\server\share\f.txt"
        );
        assert_eq!(
            volumes.to_drive_path(r"\??\C:\Temp\a.txt"),
            r"C:\Temp\a.txt"
        );
        // Not a prefix of a longer device name.
        assert_eq!(
            volumes.to_drive_path(r"\Device\HarddiskVolume31\x"),
            r"\Device\HarddiskVolume31\x"
        );
    }

    #[test]
    fn addresses_and_ports_are_in_network_order() {
        // 93.184.215.14 as the bytes 5D B8 D7 0E read little-endian.
        assert_eq!(ipv4_from_etw(0x0ED7_B85D).to_string(), "93.184.215.14");
        assert_eq!(port_from_etw(0xBB01), 443);
        assert_eq!(port_from_etw(0x3AC3), 49978);
        let mut v6 = [0u8; 16];
        v6[0] = 0x20;
        v6[1] = 0x01;
        v6[2] = 0x0d;
        v6[3] = 0xb8;
        v6[15] = 1;
        assert_eq!(
            ipv6_from_etw(&v6).map(|a| a.to_string()).as_deref(),
            Some("2001:db8::1")
        );
        assert_eq!(ipv6_from_etw(&v6[..4]), None);
    }

    #[test]
    fn elevation_types_have_osquerys_names() {
        assert_eq!(token_elevation_type(1), "TokenElevationTypeDefault");
        assert_eq!(token_elevation_type(2), "TokenElevationTypeFull");
        assert_eq!(token_elevation_type(3), "TokenElevationTypeLimited");
        assert_eq!(token_elevation_type(0), "TokenElevationTypeInvalid");
    }
}
