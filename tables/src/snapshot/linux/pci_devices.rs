//! `pci_devices`: the PCI devices of the host, from sysfs (`/sys/bus/pci/devices/*/uevent`: the
//! slot, the class, vendor and device ids, the subsystem's, the driver bound), named from the
//! PCI ID database (`pci.ids`, from pciutils or hwdata) where the host has one, as osquery does
//! (which reads the same keys through udev). osquery gives no rows at all without `pci.ids`;
//! vigil gives the devices with their ids and empty names.

use std::path::Path;

use vigil_formats::pci_ids::{self, PciIds};

use crate::row::table_row;
use crate::snapshot::linux::bounded;
use crate::snapshot::util::rows;
use crate::table::{Column, Row, Rows, ScanRequest, Table, TableError, Value};

const NAME: &str = "pci_devices";
const PCI_DEVICES: &str = "/sys/bus/pci/devices";
/// Where distributions put the database, in osquery's order.
const PCI_IDS: &[&str] = &[
    "/usr/share/misc/pci.ids",
    "/usr/share/hwdata/pci.ids",
    "/usr/share/pci.ids",
];
/// A device's `uevent` is a few hundred bytes.
const MAX_UEVENT_BYTES: u64 = 64 * 1024;

table_row! {
    struct PciDeviceRow {
        pci_slot: Text,
        pci_class: Text,
        driver: Text,
        vendor: Text,
        vendor_id: Text,
        model: Text,
        model_id: Text,
        pci_class_id: Text,
        pci_subclass_id: Text,
        pci_subclass: Text,
        subsystem_vendor_id: Text,
        subsystem_vendor: Text,
        subsystem_model_id: Text,
        subsystem_model: Text,
    }
}

pub struct PciDevices;

impl Table for PciDevices {
    fn name(&self) -> &'static str {
        NAME
    }

    fn columns(&self) -> &'static [Column] {
        PciDeviceRow::COLUMNS
    }

    fn scan(&self, _request: &ScanRequest) -> Result<Rows, TableError> {
        let ids = PCI_IDS
            .iter()
            .find_map(|path| bounded::read_text(NAME, Path::new(path), bounded::MAX_FILE_BYTES))
            .map(|text| pci_ids::parse(&text))
            .unwrap_or_default();
        Ok(rows(read(Path::new(PCI_DEVICES), &ids)))
    }
}

fn read(root: &Path, ids: &PciIds) -> Vec<Row> {
    bounded::list_dir(NAME, root, bounded::MAX_DIR_ENTRIES)
        .iter()
        .filter_map(|dir| bounded::read_text(NAME, &dir.join("uevent"), MAX_UEVENT_BYTES))
        .map(|uevent| device(&uevent, ids))
        .collect()
}

/// `KEY=value` of a uevent file.
fn field<'a>(uevent: &'a str, key: &str) -> &'a str {
    uevent
        .lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix('='))
        .unwrap_or("")
}

/// `vvvv:dddd` (as `PCI_ID` and `PCI_SUBSYS_ID` give them) in lowercase, as pci.ids writes ids.
fn pair(value: &str) -> Option<(String, String)> {
    let (left, right) = value.split_once(':')?;
    if left.is_empty() || right.is_empty() || right.contains(':') {
        return None;
    }
    Some((left.to_ascii_lowercase(), right.to_ascii_lowercase()))
}

fn device(uevent: &str, ids: &PciIds) -> Row {
    let text = |value: Option<&str>| Value::from(value.unwrap_or("").to_owned());
    // `PCI_CLASS` is class, subclass and programming interface in hex, the leading zero dropped.
    let class_hex = field(uevent, "PCI_CLASS").to_ascii_lowercase();
    let all_hex = class_hex.bytes().all(|b| b.is_ascii_hexdigit());
    let (class_id, subclass_id) = match class_hex.len() {
        _ if !all_hex => (String::new(), String::new()),
        5 => (format!("0{}", &class_hex[..1]), class_hex[1..3].to_owned()),
        6 => (class_hex[..2].to_owned(), class_hex[2..4].to_owned()),
        _ => (String::new(), String::new()),
    };
    let prefixed = |id: &str| {
        if id.is_empty() {
            String::new()
        } else {
            format!("0x{id}")
        }
    };
    let device_ids = pair(field(uevent, "PCI_ID"));
    let subsystem_ids = pair(field(uevent, "PCI_SUBSYS_ID"));
    let (vendor_id, model_id) = match &device_ids {
        Some((v, d)) => (prefixed(v), prefixed(d)),
        // osquery's legacy value for ids it cannot read.
        None => ("0".to_owned(), "0".to_owned()),
    };
    let (vendor, model) = match &device_ids {
        Some((v, d)) => (ids.vendor(v), ids.device(v, d)),
        None => (None, None),
    };
    let subsystem = match (&device_ids, &subsystem_ids) {
        (Some((v, d)), Some((sv, sd))) => Some((
            prefixed(sv),
            prefixed(sd),
            ids.vendor(sv),
            ids.subsystem(v, d, sv, sd),
        )),
        _ => None,
    };
    let (subsystem_vendor_id, subsystem_model_id, subsystem_vendor, subsystem_model) =
        subsystem.unwrap_or_default();
    PciDeviceRow {
        pci_slot: field(uevent, "PCI_SLOT_NAME").into(),
        pci_class: text(ids.class(&class_id)),
        driver: field(uevent, "DRIVER").into(),
        vendor: text(vendor),
        vendor_id: vendor_id.into(),
        model: text(model),
        model_id: model_id.into(),
        pci_class_id: prefixed(&class_id).into(),
        pci_subclass_id: prefixed(&subclass_id).into(),
        pci_subclass: text(ids.subclass(&class_id, &subclass_id)),
        subsystem_vendor_id: subsystem_vendor_id.into(),
        subsystem_vendor: text(subsystem_vendor),
        subsystem_model_id: subsystem_model_id.into(),
        subsystem_model: text(subsystem_model),
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    const IDS: &str = "\
8086  Intel Corporation
\t2922  82801IR/IO/IH (ICH9R/DO/DH) 6 port SATA Controller [AHCI mode]
\t\t1af4 1100  QEMU Virtual Machine
1af4  Red Hat, Inc.
C 01  Mass storage controller
\t06  SATA controller
";

    #[test]
    fn a_device_named_from_the_database() {
        let root = tempfile::tempdir().expect("tempdir");
        let dir = root.path().join("0000:00:1f.2");
        std::fs::create_dir(&dir).expect("mkdir");
        std::fs::write(
            dir.join("uevent"),
            "DRIVER=ahci\nPCI_CLASS=10601\nPCI_ID=8086:2922\nPCI_SUBSYS_ID=1AF4:1100\n\
             PCI_SLOT_NAME=0000:00:1f.2\nMODALIAS=pci:v00008086d00002922\n",
        )
        .expect("write");
        let odd = root.path().join("0000:00:01.0");
        std::fs::create_dir(&odd).expect("mkdir");
        std::fs::write(odd.join("uevent"), "PCI_CLASS=x\nPCI_ID=nonsense\n").expect("write");
        let rows = read(root.path(), &pci_ids::parse(IDS));
        assert_eq!(rows.len(), 2);
        let unknown = &rows[0];
        assert_eq!(unknown[PciDeviceRow::vendor_id], Value::from("0"));
        assert_eq!(unknown[PciDeviceRow::pci_class_id], Value::from(""));
        let sata = &rows[1];
        let expect = [
            (PciDeviceRow::pci_slot, "0000:00:1f.2"),
            (PciDeviceRow::pci_class, "Mass storage controller"),
            (PciDeviceRow::driver, "ahci"),
            (PciDeviceRow::vendor, "Intel Corporation"),
            (PciDeviceRow::vendor_id, "0x8086"),
            (
                PciDeviceRow::model,
                "82801IR/IO/IH (ICH9R/DO/DH) 6 port SATA Controller [AHCI mode]",
            ),
            (PciDeviceRow::model_id, "0x2922"),
            (PciDeviceRow::pci_class_id, "0x01"),
            (PciDeviceRow::pci_subclass_id, "0x06"),
            (PciDeviceRow::pci_subclass, "SATA controller"),
            (PciDeviceRow::subsystem_vendor_id, "0x1af4"),
            (PciDeviceRow::subsystem_vendor, "Red Hat, Inc."),
            (PciDeviceRow::subsystem_model_id, "0x1100"),
            (PciDeviceRow::subsystem_model, "QEMU Virtual Machine"),
        ];
        for (column, value) in expect {
            assert_eq!(
                sata[column],
                Value::from(value),
                "{}",
                PciDeviceRow::COLUMNS[column].name
            );
        }
    }

    #[test]
    fn the_host_answers() {
        let rows: Vec<Row> = PciDevices
            .scan(&ScanRequest::default())
            .expect("scan")
            .collect::<Result<_, _>>()
            .expect("rows");
        let devices = bounded::list_dir(NAME, Path::new(PCI_DEVICES), bounded::MAX_DIR_ENTRIES);
        assert_eq!(rows.len(), devices.len());
        for row in &rows {
            assert!(
                row[PciDeviceRow::vendor_id]
                    .as_text()
                    .is_some_and(|v| v.starts_with("0x") && v.len() == 6),
                "{row:?}"
            );
        }
    }
}
