//! `disk_encryption`: for every block device, whether what is on it is encrypted, as osquery
//! decides on Linux: an active dm-crypt mapping (its device-mapper UUID starts with `CRYPT-`) is
//! encrypted, and so is every device built on one (a logical volume on an opened LUKS
//! container); anything else is not. `type` names the format and cipher, as libcryptsetup
//! would (`LUKS2-aes-xts-plain64`): the format from the mapping's UUID, the cipher from the
//! LUKS header read directly from the device under the mapping. Reading devices needs root, as
//! in osquery.

use std::collections::HashMap;

use crate::row::table_row;
use crate::snapshot::linux::block::{self, BlockDevice, Roots};
use crate::snapshot::util::rows;
use crate::table::{Column, Row, Rows, ScanRequest, Table, TableError, Value};

const NAME: &str = "disk_encryption";

table_row! {
    struct DiskEncryptionRow {
        name: Text,
        uuid: Text,
        encrypted: Integer,
        r#type: Text,
        encryption_status: Text,
    }
}

pub struct DiskEncryption;

impl Table for DiskEncryption {
    fn name(&self) -> &'static str {
        NAME
    }

    fn columns(&self) -> &'static [Column] {
        DiskEncryptionRow::COLUMNS
    }

    fn pushdown_columns(&self) -> &'static [usize] {
        &[DiskEncryptionRow::name]
    }

    fn scan(&self, request: &ScanRequest) -> Result<Rows, TableError> {
        let names: Vec<&str> = request
            .equal_values(DiskEncryptionRow::name)
            .filter_map(Value::as_text)
            .collect();
        let mut out = status(&Roots::default());
        if !names.is_empty() {
            out.retain(|r| {
                r[DiskEncryptionRow::name]
                    .as_text()
                    .is_some_and(|n| names.contains(&n))
            });
        }
        Ok(rows(out))
    }
}

/// What encrypts a device, if anything: the type column's text.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Encryption {
    type_name: String,
}

fn status(roots: &Roots) -> Vec<Row> {
    let devices = block::devices(roots, NAME);
    let by_name: HashMap<&str, &BlockDevice> = devices
        .iter()
        .map(|d| (d.kernel_name.as_str(), d))
        .collect();
    devices
        .iter()
        .map(|device| {
            let encryption = encryption(device, &by_name, 0);
            DiskEncryptionRow {
                name: device.dev_path(roots).to_string_lossy().into_owned().into(),
                uuid: device.uuid.clone().into(),
                encrypted: Value::from(encryption.is_some()),
                r#type: encryption
                    .as_ref()
                    .map_or(String::new(), |e| e.type_name.clone())
                    .into(),
                encryption_status: if encryption.is_some() {
                    "encrypted"
                } else {
                    "not encrypted"
                }
                .into(),
            }
            .into()
        })
        .collect()
}

/// A dm-crypt mapping's encryption, or its parent's (bounded: device stacks are shallow, and a
/// loop in sysfs cannot make this run forever).
fn encryption(
    device: &BlockDevice,
    by_name: &HashMap<&str, &BlockDevice>,
    depth: usize,
) -> Option<Encryption> {
    if let Some(format) = crypt_format(&device.dm_uuid) {
        let cipher = by_name
            .get(device.parent.as_str())
            .and_then(|under| under.luks.as_ref())
            .filter(|_| format.starts_with("LUKS"))
            .map(|header| {
                [header.cipher.as_str(), header.cipher_mode.as_str()]
                    .into_iter()
                    .filter(|p| !p.is_empty())
                    .collect::<Vec<_>>()
                    .join("-")
            })
            .unwrap_or_default();
        let type_name = if cipher.is_empty() {
            format
        } else {
            format!("{format}-{cipher}")
        };
        return Some(Encryption { type_name });
    }
    if depth >= 16 || device.parent.is_empty() {
        return None;
    }
    encryption(by_name.get(device.parent.as_str())?, by_name, depth + 1)
}

/// `CRYPT-LUKS2-<uuid>-<name>` → `LUKS2`; `CRYPT-PLAIN-<name>` → `PLAIN`; other mappings
/// (LVM, multipath) → `None`.
fn crypt_format(dm_uuid: &str) -> Option<String> {
    let rest = dm_uuid.strip_prefix("CRYPT-")?;
    let format = rest.split('-').next().filter(|f| !f.is_empty())?;
    Some(format.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::linux::block::fixture::Machine;
    use vigil_formats::luks;

    #[test]
    fn an_opened_luks_container_and_what_is_built_on_it() {
        // sda2 holds a LUKS2 container, opened as dm-0 (dm-crypt), with an LVM volume dm-1 on
        // it; sda1 is a plain filesystem.
        let machine = Machine::new();
        let uuid = "6e5ddc2f-6c6e-4a56-8f2d-3c3b0ad2f0a1";
        machine.device("sda", None, "8:0", &[], b"");
        machine.device("sda1", Some("sda"), "8:1", &[], b"");
        machine.device(
            "sda2",
            Some("sda"),
            "8:2",
            &[],
            &luks::build::luks2("aes-xts-plain64", uuid),
        );
        machine.device(
            "dm-0",
            None,
            "253:0",
            &[(
                "dm/uuid",
                "CRYPT-LUKS2-6e5ddc2f6c6e4a568f2d3c3b0ad2f0a1-sda2_crypt",
            )],
            b"",
        );
        machine.slave("dm-0", "sda2");
        machine.device("dm-1", None, "253:1", &[("dm/uuid", "LVM-abcdef")], b"");
        machine.slave("dm-1", "dm-0");

        let rows = status(&machine.roots);
        let by_name = |name: &str| {
            let path = machine.roots.dev.join(name).to_string_lossy().into_owned();
            rows.iter()
                .find(|r| r[DiskEncryptionRow::name] == Value::Text(path.clone()))
                .cloned()
                .unwrap_or_else(|| panic!("{name} listed"))
        };
        let summary = |name: &str| {
            let row = by_name(name);
            (
                row[DiskEncryptionRow::encrypted].clone(),
                row[DiskEncryptionRow::r#type].clone(),
                row[DiskEncryptionRow::encryption_status].clone(),
            )
        };
        let encrypted = (
            Value::Int(1),
            Value::from("LUKS2-aes-xts-plain64"),
            Value::from("encrypted"),
        );
        let plain = (Value::Int(0), Value::from(""), Value::from("not encrypted"));
        assert_eq!(summary("dm-0"), encrypted);
        assert_eq!(summary("dm-1"), encrypted);
        assert_eq!(summary("sda1"), plain);
        // The container itself holds ciphertext, not an encrypted filesystem (osquery's view).
        assert_eq!(summary("sda2"), plain);
        assert_eq!(by_name("sda2")[DiskEncryptionRow::uuid], Value::from(uuid));
        assert_eq!(summary("sda"), plain);
    }

    #[test]
    fn mapping_formats() {
        assert_eq!(
            crypt_format("CRYPT-LUKS1-0b7a3c441f5e-root").as_deref(),
            Some("LUKS1")
        );
        assert_eq!(crypt_format("CRYPT-PLAIN-swap").as_deref(), Some("PLAIN"));
        assert_eq!(crypt_format("LVM-xyz"), None);
        assert_eq!(crypt_format(""), None);
    }

    #[test]
    fn every_host_device_has_a_status() {
        let rows: Vec<Row> = DiskEncryption
            .scan(&ScanRequest::default())
            .expect("scan")
            .collect::<Result<_, _>>()
            .expect("rows");
        assert!(!rows.is_empty());
        for row in &rows {
            let encrypted = row[DiskEncryptionRow::encrypted].as_i64();
            let status = row[DiskEncryptionRow::encryption_status].as_text();
            assert!(matches!(
                (encrypted, status),
                (Some(1), Some("encrypted")) | (Some(0), Some("not encrypted"))
            ));
        }
    }
}
