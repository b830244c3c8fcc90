//! Windows' values as osquery's columns, as pure functions: compiled and tested on every
//! platform, called by the Windows tables with what the APIs and the registry return.

use vigil_events::etw::convert::filetime_to_unix_ns;

/// A FILETIME (100 ns units since 1601) as seconds since the Unix epoch; 0 before it.
pub fn filetime_to_unix_seconds(filetime: u64) -> i64 {
    i64::try_from(filetime_to_unix_ns(filetime) / 1_000_000_000).unwrap_or(i64::MAX)
}

/// A span of FILETIME units (a process's user or kernel time) in milliseconds.
pub fn filetime_span_ms(ticks: u64) -> i64 {
    i64::try_from(ticks / 10_000).unwrap_or(i64::MAX)
}

/// The two halves of a FILETIME as one count.
pub fn filetime_ticks(low: u32, high: u32) -> u64 {
    (u64::from(high) << 32) | u64::from(low)
}

/// A SID's relative id, its last sub-authority (`S-1-5-21-…-1001` → 1001): what osquery shows
/// as `uid` (and a primary group's as `gid`) on Windows.
pub fn rid(sid: &str) -> Option<i64> {
    let rest = sid.strip_prefix("S-")?;
    if rest.split('-').count() < 3 {
        return None;
    }
    rest.rsplit('-').next()?.parse().ok()
}

/// What osquery's `users.type` says of a profile's SID: `special` for the service accounts
/// (LocalSystem S-1-5-18, LocalService S-1-5-19, NetworkService S-1-5-20), `local` for an
/// account of this machine, `roaming` for one of a domain.
pub fn profile_type(sid: &str, local_sids: &[String]) -> &'static str {
    if matches!(sid, "S-1-5-18" | "S-1-5-19" | "S-1-5-20") {
        "special"
    } else if local_sids.iter().any(|local| local == sid) {
        "local"
    } else {
        "roaming"
    }
}

/// `HKLM\SOFTWARE\Microsoft\Windows NT\CurrentVersion`'s values that `os_version` reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CurrentVersion {
    /// `ProductName`, e.g. `Windows 10 Pro` (still "10" on Windows 11).
    pub product_name: Option<String>,
    /// `CurrentMajorVersionNumber`, `CurrentMinorVersionNumber` (Windows 10 and later).
    pub major: Option<u32>,
    pub minor: Option<u32>,
    /// `CurrentBuildNumber`, e.g. `22631`.
    pub build: Option<String>,
    /// `UBR`, the update build revision.
    pub ubr: Option<u32>,
    /// `InstallDate`, seconds since the Unix epoch.
    pub install_date: Option<u32>,
}

/// `os_version`'s Windows values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowsVersion {
    /// As WMI's `Caption`, which osquery reads: `Microsoft Windows 11 Pro`.
    pub name: String,
    /// `major.minor.build`, as osquery makes it.
    pub version: String,
    pub major: i64,
    pub minor: i64,
    pub build: String,
    pub revision: Option<i64>,
    pub install_date: Option<i64>,
}

/// The first build of Windows 11, whose `ProductName` still says Windows 10.
const WINDOWS_11_BUILD: u32 = 22_000;

pub fn windows_version(current: &CurrentVersion) -> WindowsVersion {
    let build = current.build.clone().unwrap_or_default();
    let build_number: u32 = build.parse().unwrap_or(0);
    let mut product = current
        .product_name
        .clone()
        .unwrap_or_else(|| "Windows".to_owned());
    if build_number >= WINDOWS_11_BUILD && product.starts_with("Windows 10") {
        product = product.replacen("Windows 10", "Windows 11", 1);
    }
    let major = i64::from(current.major.unwrap_or(0));
    let minor = i64::from(current.minor.unwrap_or(0));
    WindowsVersion {
        name: format!("Microsoft {product}"),
        version: format!("{major}.{minor}.{build}"),
        major,
        minor,
        build,
        revision: current.ubr.map(i64::from),
        install_date: current.install_date.map(i64::from),
    }
}

/// The SMBIOS system UUID from `HKLM\SYSTEM\HardwareConfig`'s `LastConfig` (`{4c4c4544-…}`), as
/// WMI and osquery print it: upper case, without braces.
pub fn smbios_uuid(last_config: &str) -> Option<String> {
    let uuid = last_config
        .trim()
        .trim_start_matches('{')
        .trim_end_matches('}');
    let shaped = uuid.len() == 36
        && uuid.char_indices().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        });
    shaped.then(|| uuid.to_ascii_uppercase())
}

/// What `GetLogicalProcessorInformation` lists, by its `Relationship`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relationship {
    ProcessorCore,
    ProcessorPackage,
    Other,
}

/// Physical cores and sockets: one entry of each kind per core and per package.
pub fn cores_and_sockets(entries: impl IntoIterator<Item = Relationship>) -> (i64, i64) {
    entries
        .into_iter()
        .fold((0, 0), |(cores, sockets), entry| match entry {
            Relationship::ProcessorCore => (cores + 1, sockets),
            Relationship::ProcessorPackage => (cores, sockets + 1),
            Relationship::Other => (cores, sockets),
        })
}

/// `cpu_type` and `emulated_cpu_type` as osquery reports them: a build for another architecture
/// running under emulation on an ARM64 host (`IsWow64Process2`'s native machine) shows `ARM` as
/// the CPU and its own architecture as the emulated one; otherwise nothing is emulated.
pub fn cpu_types(own_arch: &str, native_is_arm64: bool) -> (String, String) {
    if native_is_arm64 && own_arch != "aarch64" {
        ("ARM".to_owned(), own_arch.to_owned())
    } else {
        (own_arch.to_owned(), String::new())
    }
}

/// UTF-16 from a fixed buffer (up to its first NUL) as text.
pub fn wide_to_string(wide: &[u16]) -> String {
    let end = wide.iter().position(|&c| c == 0).unwrap_or(wide.len());
    String::from_utf16_lossy(&wide[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_emulated_build_shows_the_arm_host_and_its_own_architecture() {
        assert_eq!(
            cpu_types("x86_64", true),
            ("ARM".to_owned(), "x86_64".to_owned())
        );
        assert_eq!(
            cpu_types("aarch64", true),
            ("aarch64".to_owned(), String::new())
        );
        assert_eq!(
            cpu_types("x86_64", false),
            ("x86_64".to_owned(), String::new())
        );
    }

    #[test]
    fn filetimes_become_unix_seconds_and_spans_milliseconds() {
        // 2024-01-01T00:00:00Z.
        assert_eq!(
            filetime_to_unix_seconds(133_485_408_000_000_000),
            1_704_067_200
        );
        assert_eq!(filetime_to_unix_seconds(0), 0, "before 1970");
        assert_eq!(filetime_span_ms(15_625_000), 1_562);
        assert_eq!(filetime_ticks(1, 1), (1 << 32) + 1);
    }

    #[test]
    fn the_rid_is_the_last_sub_authority() {
        assert_eq!(
            rid("S-1-5-21-3623811015-3361044348-30300820-1001"),
            Some(1001)
        );
        assert_eq!(rid("S-1-5-18"), Some(18));
        assert_eq!(rid("S-1-5"), None);
        assert_eq!(rid("not a sid"), None);
    }

    #[test]
    fn profiles_are_special_local_or_roaming() {
        let local = vec!["S-1-5-21-1-2-3-1001".to_owned()];
        assert_eq!(profile_type("S-1-5-18", &local), "special");
        assert_eq!(profile_type("S-1-5-21-1-2-3-1001", &local), "local");
        assert_eq!(profile_type("S-1-5-21-9-9-9-1105", &local), "roaming");
    }

    #[test]
    fn windows_11_is_named_by_its_build_and_the_version_is_osquerys() {
        let current = CurrentVersion {
            product_name: Some("Windows 10 Pro".to_owned()),
            major: Some(10),
            minor: Some(0),
            build: Some("22631".to_owned()),
            ubr: Some(4602),
            install_date: Some(1_700_000_000),
        };
        assert_eq!(
            windows_version(&current),
            WindowsVersion {
                name: "Microsoft Windows 11 Pro".to_owned(),
                version: "10.0.22631".to_owned(),
                major: 10,
                minor: 0,
                build: "22631".to_owned(),
                revision: Some(4602),
                install_date: Some(1_700_000_000),
            }
        );
        let windows_10 = CurrentVersion {
            build: Some("19045".to_owned()),
            ..current.clone()
        };
        assert_eq!(
            windows_version(&windows_10).name,
            "Microsoft Windows 10 Pro"
        );
        let server = CurrentVersion {
            product_name: Some("Windows Server 2022 Datacenter".to_owned()),
            build: Some("20348".to_owned()),
            ..current
        };
        assert_eq!(
            windows_version(&server).name,
            "Microsoft Windows Server 2022 Datacenter"
        );
        let empty = windows_version(&CurrentVersion::default());
        assert_eq!(
            (empty.name.as_str(), empty.version.as_str()),
            ("Microsoft Windows", "0.0.")
        );
    }

    #[test]
    fn the_smbios_uuid_loses_its_braces_and_is_upper_case() {
        assert_eq!(
            smbios_uuid("{4c4c4544-0035-3010-8056-b4c04f4d4e32}").as_deref(),
            Some("4C4C4544-0035-3010-8056-B4C04F4D4E32")
        );
        assert_eq!(smbios_uuid("{not-a-uuid}"), None);
        assert_eq!(smbios_uuid(""), None);
    }

    #[test]
    fn cores_and_sockets_are_counted_by_relationship() {
        use Relationship::*;
        let entries = [
            ProcessorPackage,
            ProcessorCore,
            ProcessorCore,
            Other,
            ProcessorCore,
        ];
        assert_eq!(cores_and_sockets(entries), (3, 1));
    }

    #[test]
    fn wide_text_stops_at_its_nul() {
        let mut buf = [0u16; 8];
        for (slot, c) in buf.iter_mut().zip("vigil".encode_utf16()) {
            *slot = c;
        }
        assert_eq!(wide_to_string(&buf), "vigil");
        assert_eq!(wide_to_string(&[]), "");
    }
}
