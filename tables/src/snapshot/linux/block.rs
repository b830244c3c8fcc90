//! The block devices the kernel lists in `/sys/class/block`, with what `block_devices` and
//! `disk_encryption` report of them: sysfs attributes, the filesystem identity udev recorded
//! (`/run/udev/data/b<major>:<minor>`, when udev runs), and a LUKS header read from the device
//! itself. The sysfs and `/dev` roots are parameters so tests can lay out a machine of their own.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use vigil_formats::luks::{self, LuksHeader};

use crate::snapshot::linux::bounded;
use crate::snapshot::util::read_trimmed;

/// Where a machine's block devices are described.
#[derive(Debug, Clone)]
pub struct Roots {
    /// `/sys/class/block`.
    pub sys_block: PathBuf,
    /// `/dev`.
    pub dev: PathBuf,
    /// `/run/udev/data`.
    pub udev_data: PathBuf,
}

impl Default for Roots {
    fn default() -> Self {
        Self {
            sys_block: "/sys/class/block".into(),
            dev: "/dev".into(),
            udev_data: "/run/udev/data".into(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlockDevice {
    /// The kernel's name (`sda1`, `dm-0`, `nvme0n1p2`).
    pub kernel_name: String,
    /// The kernel name of the device this one is part of (a partition's disk) or built on (a
    /// device-mapper or md device's first component); empty for a whole disk.
    pub parent: String,
    pub vendor: String,
    pub model: String,
    pub serial: String,
    /// In 512-byte sectors, as sysfs counts.
    pub size: Option<i64>,
    pub logical_block_size: Option<i64>,
    pub uuid: String,
    /// The filesystem or container type (`ext4`, `crypto_LUKS`, `LVM2_member`).
    pub fs_type: String,
    pub label: String,
    /// For a device-mapper device: its `dm/uuid` (`CRYPT-LUKS2-<uuid>-<name>` for dm-crypt).
    pub dm_uuid: String,
    /// The LUKS header at the device's start, if there is one.
    pub luks: Option<LuksHeader>,
}

impl BlockDevice {
    pub fn dev_path(&self, roots: &Roots) -> PathBuf {
        roots.dev.join(&self.kernel_name)
    }
}

/// Every block device, by kernel name order.
pub fn devices(roots: &Roots, table: &str) -> Vec<BlockDevice> {
    bounded::list_dir(table, &roots.sys_block, bounded::MAX_DIR_ENTRIES)
        .iter()
        .filter_map(|dir| device(roots, dir))
        .collect()
}

fn device(roots: &Roots, sys_dir: &Path) -> Option<BlockDevice> {
    let kernel_name = sys_dir.file_name()?.to_string_lossy().into_owned();
    let attribute = |name: &str| read_trimmed(sys_dir.join(name)).unwrap_or_default();
    let number = |name: &str| read_trimmed(sys_dir.join(name)).and_then(|v| v.parse().ok());
    let parent = if sys_dir.join("partition").exists() {
        // A partition's sysfs directory sits inside its disk's.
        std::fs::canonicalize(sys_dir)
            .ok()
            .and_then(|p| Some(p.parent()?.file_name()?.to_string_lossy().into_owned()))
            .unwrap_or_default()
    } else {
        bounded::list_dir("block", &sys_dir.join("slaves"), 64)
            .first()
            .and_then(|p| Some(p.file_name()?.to_string_lossy().into_owned()))
            .unwrap_or_default()
    };
    let udev = read_trimmed(sys_dir.join("dev"))
        .map(|dev| udev_properties(&roots.udev_data.join(format!("b{dev}"))))
        .unwrap_or_default();
    let property = |key: &str| udev.get(key).cloned().unwrap_or_default();
    let mut device = BlockDevice {
        parent,
        vendor: attribute("device/vendor"),
        model: attribute("device/model"),
        serial: Some(attribute("device/serial"))
            .filter(|s| !s.is_empty())
            .or_else(|| Some(attribute("serial")).filter(|s| !s.is_empty()))
            .unwrap_or_else(|| property("ID_SERIAL_SHORT")),
        size: number("size"),
        logical_block_size: number("queue/logical_block_size"),
        uuid: property("ID_FS_UUID"),
        fs_type: property("ID_FS_TYPE"),
        label: property("ID_FS_LABEL"),
        dm_uuid: attribute("dm/uuid"),
        luks: None,
        kernel_name,
    };
    device.luks = read_luks(&device.dev_path(roots));
    if let Some(header) = &device.luks {
        // What blkid would say of a LUKS container, where udev has not said it.
        if device.uuid.is_empty() {
            device.uuid.clone_from(&header.uuid);
        }
        if device.fs_type.is_empty() {
            device.fs_type = "crypto_LUKS".into();
        }
    }
    Some(device)
}

/// A LUKS header at the start of a device: the first bytes only, a LUKS2 JSON area up to its
/// cap. A device that cannot be opened (not root, gone) has none.
fn read_luks(dev: &Path) -> Option<LuksHeader> {
    let mut file = std::fs::File::open(dev).ok()?;
    let mut magic = [0u8; 8];
    file.read_exact(&mut magic).ok()?;
    if magic.get(..6)? != luks::MAGIC {
        return None;
    }
    let mut bytes = magic.to_vec();
    file.take(luks::MAX_HEADER_BYTES as u64)
        .read_to_end(&mut bytes)
        .ok()?;
    luks::header(&bytes)
}

/// `E:KEY=value` lines of a udev database entry.
fn udev_properties(path: &Path) -> HashMap<String, String> {
    let text = bounded::read_text("block", path, 1024 * 1024).unwrap_or_default();
    text.lines()
        .filter_map(|l| l.strip_prefix("E:")?.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

#[cfg(test)]
pub mod fixture {
    //! A machine laid out in a temporary directory: sysfs entries, device files, udev data.
    use super::*;

    pub struct Machine {
        pub dir: tempfile::TempDir,
        pub roots: Roots,
    }

    impl Machine {
        pub fn new() -> Self {
            let dir = tempfile::tempdir().expect("tempdir");
            let roots = Roots {
                sys_block: dir.path().join("sys/class/block"),
                dev: dir.path().join("dev"),
                udev_data: dir.path().join("run/udev/data"),
            };
            for d in [&roots.sys_block, &roots.dev, &roots.udev_data] {
                std::fs::create_dir_all(d).expect("mkdir");
            }
            Self { dir, roots }
        }

        /// A device: its sysfs directory (inside `parent`'s for a partition), `dev` number,
        /// attributes, and its device file holding `content`.
        pub fn device(
            &self,
            name: &str,
            partition_of: Option<&str>,
            dev: &str,
            attributes: &[(&str, &str)],
            content: &[u8],
        ) {
            let devices = self.dir.path().join("sys/devices");
            let real = match partition_of {
                Some(disk) => devices.join(disk).join(name),
                None => devices.join(name),
            };
            std::fs::create_dir_all(&real).expect("mkdir");
            std::os::unix::fs::symlink(&real, self.roots.sys_block.join(name)).expect("symlink");
            std::fs::write(real.join("dev"), dev).expect("write");
            if partition_of.is_some() {
                std::fs::write(real.join("partition"), "1").expect("write");
            }
            for (attribute, value) in attributes {
                let path = real.join(attribute);
                std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
                std::fs::write(path, value).expect("write");
            }
            std::fs::write(self.roots.dev.join(name), content).expect("write");
        }

        /// `holder` is built on `component` (device mapper's `slaves/`).
        pub fn slave(&self, holder: &str, component: &str) {
            let slaves = self.roots.sys_block.join(holder).join("slaves");
            std::fs::create_dir_all(&slaves).expect("mkdir");
            std::fs::write(slaves.join(component), "").expect("write");
        }

        pub fn udev(&self, dev: &str, properties: &str) {
            std::fs::write(self.roots.udev_data.join(format!("b{dev}")), properties)
                .expect("write");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fixture::Machine;
    use super::*;

    #[test]
    fn disks_partitions_udev_and_luks() {
        let machine = Machine::new();
        machine.device(
            "sda",
            None,
            "8:0",
            &[
                ("size", "2097152"),
                ("queue/logical_block_size", "512"),
                ("device/vendor", "ATA     "),
                ("device/model", "Samsung SSD 870 "),
                ("device/serial", "S5Y1NX0R"),
            ],
            b"",
        );
        machine.device("sda1", Some("sda"), "8:1", &[("size", "1024")], b"");
        machine.udev(
            "8:1",
            "S:disk/by-uuid/1234\nE:ID_FS_UUID=1234-ABCD\nE:ID_FS_TYPE=vfat\nE:ID_FS_LABEL=EFI\n",
        );
        let uuid = "6e5ddc2f-6c6e-4a56-8f2d-3c3b0ad2f0a1";
        machine.device(
            "sda2",
            Some("sda"),
            "8:2",
            &[],
            &luks::build::luks2("aes-xts-plain64", uuid),
        );

        let devices = devices(&machine.roots, "t");
        let names: Vec<_> = devices.iter().map(|d| d.kernel_name.as_str()).collect();
        assert_eq!(names, ["sda", "sda1", "sda2"]);
        let disk = &devices[0];
        assert_eq!(
            (disk.vendor.as_str(), disk.model.as_str()),
            ("ATA", "Samsung SSD 870")
        );
        assert_eq!(disk.serial, "S5Y1NX0R");
        assert_eq!(
            (disk.size, disk.logical_block_size),
            (Some(2_097_152), Some(512))
        );
        assert_eq!(disk.parent, "");
        let efi = &devices[1];
        assert_eq!(efi.parent, "sda");
        assert_eq!(
            (efi.uuid.as_str(), efi.fs_type.as_str(), efi.label.as_str()),
            ("1234-ABCD", "vfat", "EFI")
        );
        let container = &devices[2];
        assert_eq!(container.fs_type, "crypto_LUKS");
        assert_eq!(container.uuid, uuid);
        assert_eq!(
            container
                .luks
                .as_ref()
                .map(LuksHeader::type_name)
                .as_deref(),
            Some("LUKS2-aes-xts-plain64")
        );
    }
}
