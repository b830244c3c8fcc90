//! `block_devices`: the block devices the kernel has (disks, partitions, loop, device-mapper and
//! md devices), from sysfs, with the filesystem identity udev recorded and LUKS containers
//! recognised from their header. `name = '/dev/sda'` narrows.

use crate::row::table_row;
use crate::snapshot::linux::block::{self, BlockDevice, Roots};
use crate::snapshot::util::rows;
use crate::table::{Column, Row, Rows, ScanRequest, Table, TableError, Value};

const NAME: &str = "block_devices";

table_row! {
    struct BlockDeviceRow {
        name: Text,
        parent: Text,
        vendor: Text,
        model: Text,
        serial: Text,
        size: BigInt,
        block_size: Integer,
        uuid: Text,
        r#type: Text,
        label: Text,
    }
}

pub struct BlockDevices;

impl Table for BlockDevices {
    fn name(&self) -> &'static str {
        NAME
    }

    fn columns(&self) -> &'static [Column] {
        BlockDeviceRow::COLUMNS
    }

    fn pushdown_columns(&self) -> &'static [usize] {
        &[BlockDeviceRow::name]
    }

    fn scan(&self, request: &ScanRequest) -> Result<Rows, TableError> {
        let names: Vec<&str> = request
            .equal_values(BlockDeviceRow::name)
            .filter_map(Value::as_text)
            .collect();
        let roots = Roots::default();
        Ok(rows(
            block::devices(&roots, NAME)
                .iter()
                .map(|d| row(d, &roots))
                .filter(|r| {
                    names.is_empty()
                        || r[BlockDeviceRow::name]
                            .as_text()
                            .is_some_and(|n| names.contains(&n))
                })
                .collect(),
        ))
    }
}

fn row(device: &BlockDevice, roots: &Roots) -> Row {
    let dev = |name: &str| {
        if name.is_empty() {
            String::new()
        } else {
            roots.dev.join(name).to_string_lossy().into_owned()
        }
    };
    let number = |n: Option<i64>| n.map_or(Value::Null, Value::Int);
    BlockDeviceRow {
        name: dev(&device.kernel_name).into(),
        parent: dev(&device.parent).into(),
        vendor: device.vendor.clone().into(),
        model: device.model.clone().into(),
        serial: device.serial.clone().into(),
        size: number(device.size),
        block_size: number(device.logical_block_size),
        uuid: device.uuid.clone().into(),
        r#type: device.fs_type.clone().into(),
        label: device.label.clone().into(),
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::linux::block::fixture::Machine;

    #[test]
    fn rows_name_devices_and_parents_by_path() {
        let machine = Machine::new();
        machine.device(
            "vdb",
            None,
            "254:16",
            &[("size", "2048"), ("queue/logical_block_size", "4096")],
            b"",
        );
        machine.device("vdb1", Some("vdb"), "254:17", &[("size", "1024")], b"");
        let rows: Vec<Row> = block::devices(&machine.roots, "t")
            .iter()
            .map(|d| row(d, &machine.roots))
            .collect();
        let dev = machine.roots.dev.to_string_lossy().into_owned();
        assert_eq!(
            rows[1][BlockDeviceRow::name],
            Value::Text(format!("{dev}/vdb1"))
        );
        assert_eq!(
            rows[1][BlockDeviceRow::parent],
            Value::Text(format!("{dev}/vdb"))
        );
        assert_eq!(rows[0][BlockDeviceRow::parent], Value::from(""));
        assert_eq!(rows[0][BlockDeviceRow::block_size], Value::Int(4096));
    }

    #[test]
    fn the_host_devices_match_sysfs_and_a_loop_device_with_a_luks_header_is_recognised() {
        // A real loop device over a file that starts with a LUKS1 header.
        let dir = tempfile::tempdir().expect("tempdir");
        let image = dir.path().join("luks.img");
        let uuid = "0b7a3c44-1f5e-4e8b-9d0c-6a2f9e7b1c11";
        let mut bytes = vigil_formats::luks::build::luks1("aes", "xts-plain64", uuid);
        bytes.resize(1024 * 1024, 0);
        std::fs::write(&image, bytes).expect("write");
        let attach = std::process::Command::new("losetup")
            .args(["--find", "--show"])
            .arg(&image)
            .output()
            .expect("losetup runs");
        assert!(
            attach.status.success(),
            "losetup: {}",
            String::from_utf8_lossy(&attach.stderr)
        );
        let loop_device = String::from_utf8_lossy(&attach.stdout).trim().to_owned();
        let in_sysfs: Vec<String> = std::fs::read_dir("/sys/class/block")
            .expect("sysfs")
            .flatten()
            .map(|e| format!("/dev/{}", e.file_name().to_string_lossy()))
            .collect();
        let rows: Vec<Row> = BlockDevices
            .scan(&ScanRequest::default())
            .expect("scan")
            .collect::<Result<_, _>>()
            .expect("rows");
        let _ = std::process::Command::new("losetup")
            .args(["-d", &loop_device])
            .status();

        for name in &in_sysfs {
            assert!(
                rows.iter()
                    .any(|r| r[BlockDeviceRow::name] == Value::Text(name.clone())),
                "{name} is in sysfs, not in the table"
            );
        }
        let found = rows
            .iter()
            .find(|r| r[BlockDeviceRow::name] == Value::Text(loop_device.clone()))
            .expect("the loop device is listed");
        assert_eq!(found[BlockDeviceRow::r#type], Value::from("crypto_LUKS"));
        assert_eq!(found[BlockDeviceRow::uuid], Value::from(uuid));
        assert_eq!(found[BlockDeviceRow::size], Value::Int(2048));
        for row in &rows {
            assert!(
                row[BlockDeviceRow::name]
                    .as_text()
                    .is_some_and(|n| n.starts_with("/dev/"))
            );
            assert!(row[BlockDeviceRow::size].as_i64().is_none_or(|s| s >= 0));
        }
    }
}
