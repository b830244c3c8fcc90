//! `os_version` on Windows: the registry's `CurrentVersion` key (what WMI's
//! `Win32_OperatingSystem`, which osquery queries, reads too), shaped by
//! [`super::convert::windows_version`].

use super::convert::{CurrentVersion, windows_version};
use super::rows::OsVersionRow;
use crate::snapshot::util::{failed, rows};
use crate::table::{Column, Row, Rows, ScanRequest, Table, TableError, Value};

const NAME: &str = "os_version";
const CURRENT_VERSION: &str = r"SOFTWARE\Microsoft\Windows NT\CurrentVersion";

pub struct OsVersion;

impl Table for OsVersion {
    fn name(&self) -> &'static str {
        NAME
    }

    fn columns(&self) -> &'static [Column] {
        OsVersionRow::COLUMNS
    }

    fn scan(&self, _request: &ScanRequest) -> Result<Rows, TableError> {
        let key = windows_registry::LOCAL_MACHINE
            .open(CURRENT_VERSION)
            .map_err(|e| failed(NAME, format!(r"reading HKLM\{CURRENT_VERSION}: {e}")))?;
        let current = CurrentVersion {
            product_name: key.get_string("ProductName").ok(),
            major: key.get_u32("CurrentMajorVersionNumber").ok(),
            minor: key.get_u32("CurrentMinorVersionNumber").ok(),
            build: key.get_string("CurrentBuildNumber").ok(),
            ubr: key.get_u32("UBR").ok(),
            install_date: key.get_u32("InstallDate").ok(),
        };
        let version = windows_version(&current);
        let row = Row::from(OsVersionRow {
            codename: version.name.clone().into(),
            name: version.name.into(),
            version: version.version.into(),
            major: version.major.into(),
            minor: version.minor.into(),
            patch: Value::Null,
            build: version.build.into(),
            platform: "windows".into(),
            platform_like: "windows".into(),
            // WMI's OSArchitecture, which osquery reports; vigil is built 64-bit only.
            arch: "64-bit".into(),
            install_date: version.install_date.map_or(Value::Null, Value::Int),
            revision: version.revision.map_or(Value::Null, Value::Int),
        });
        Ok(rows(vec![row]))
    }
}
