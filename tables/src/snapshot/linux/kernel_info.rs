//! `kernel_info`: the running kernel's release and the command line it was booted with.

use crate::row::table_row;
use crate::snapshot::util::{read_trimmed, rows};
use crate::table::{Column, Row, Rows, ScanRequest, Table, TableError};

const NAME: &str = "kernel_info";

table_row! {
    struct KernelInfoRow {
        version: Text,
        arguments: Text,
        path: Text,
        device: Text,
    }
}

pub struct KernelInfo;

impl Table for KernelInfo {
    fn name(&self) -> &'static str {
        NAME
    }

    fn columns(&self) -> &'static [Column] {
        KernelInfoRow::COLUMNS
    }

    fn scan(&self, _request: &ScanRequest) -> Result<Rows, TableError> {
        let version = read_trimmed("/proc/sys/kernel/osrelease");
        let cmdline = read_trimmed("/proc/cmdline");
        Ok(rows(vec![row(version, cmdline.as_deref())]))
    }
}

/// Like osquery, `BOOT_IMAGE=` and `root=` become `path` and `device` and are left out of
/// `arguments`, which keeps the rest in order.
fn row(version: Option<String>, cmdline: Option<&str>) -> Row {
    let mut path = None;
    let mut device = None;
    let mut arguments = Vec::new();
    let Some(cmdline) = cmdline else {
        let row = KernelInfoRow {
            version: version.into(),
            arguments: None.into(),
            path: None.into(),
            device: None.into(),
        };
        return row.into();
    };
    for argument in cmdline.split_whitespace() {
        if let Some(image) = argument.strip_prefix("BOOT_IMAGE=") {
            path = Some(image.to_owned());
        } else if let Some(root) = argument.strip_prefix("root=") {
            device = Some(root.to_owned());
        } else {
            arguments.push(argument);
        }
    }
    KernelInfoRow {
        version: version.into(),
        arguments: arguments.join(" ").into(),
        path: path.into(),
        device: device.into(),
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::Value;

    #[test]
    fn version_and_arguments_match_proc() {
        let rows: Vec<Row> = KernelInfo
            .scan(&ScanRequest::default())
            .expect("scan kernel_info")
            .collect::<Result<_, _>>()
            .expect("kernel_info rows");
        assert_eq!(rows.len(), 1);
        let release =
            std::fs::read_to_string("/proc/sys/kernel/osrelease").expect("read osrelease");
        assert_eq!(rows[0][0], Value::from(release.trim()));
        // The release is also the third word of /proc/version, which osquery reads.
        let version = std::fs::read_to_string("/proc/version").expect("read /proc/version");
        assert_eq!(version.split(' ').nth(2), rows[0][0].as_text());

        let cmdline = std::fs::read_to_string("/proc/cmdline").expect("read /proc/cmdline");
        let first = cmdline
            .split_whitespace()
            .find(|a| !a.starts_with("BOOT_IMAGE=") && !a.starts_with("root="));
        if let Some(first) = first {
            let arguments = rows[0][1].as_text().expect("arguments");
            assert!(arguments.starts_with(first), "{arguments:?} vs {first:?}");
        }
    }

    #[test]
    fn splits_boot_image_and_root() {
        let row = row(
            Some("6.1.0".to_owned()),
            Some("BOOT_IMAGE=/boot/vmlinuz-6.1.0 root=UUID=abcd ro quiet"),
        );
        assert_eq!(
            row,
            vec![
                Value::from("6.1.0"),
                Value::from("ro quiet"),
                Value::from("/boot/vmlinuz-6.1.0"),
                Value::from("UUID=abcd"),
            ]
        );
    }
}
