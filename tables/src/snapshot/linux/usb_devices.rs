//! `usb_devices`: the USB devices attached (hubs included), from sysfs
//! (`/sys/bus/usb/devices`): each device directory (those with a bus and device number, not
//! their interfaces). A host without USB has no rows.

use std::path::Path;

use crate::row::table_row;
use crate::snapshot::linux::bounded;
use crate::snapshot::util::{read_trimmed, rows};
use crate::table::{Column, Row, Rows, ScanRequest, Table, TableError, Value};

const NAME: &str = "usb_devices";
const USB_DEVICES: &str = "/sys/bus/usb/devices";

table_row! {
    struct UsbDeviceRow {
        usb_address: Integer,
        usb_port: Integer,
        vendor: Text,
        vendor_id: Text,
        version: Text,
        model: Text,
        model_id: Text,
        serial: Text,
        class: Text,
        subclass: Text,
        protocol: Text,
        removable: Integer,
    }
}

pub struct UsbDevices;

impl Table for UsbDevices {
    fn name(&self) -> &'static str {
        NAME
    }

    fn columns(&self) -> &'static [Column] {
        UsbDeviceRow::COLUMNS
    }

    fn scan(&self, _request: &ScanRequest) -> Result<Rows, TableError> {
        Ok(rows(read(Path::new(USB_DEVICES))))
    }
}

fn read(root: &Path) -> Vec<Row> {
    bounded::list_dir(NAME, root, bounded::MAX_DIR_ENTRIES)
        .iter()
        .filter_map(|dir| device(dir))
        .collect()
}

fn device(dir: &Path) -> Option<Row> {
    let attribute = |name: &str| read_trimmed(dir.join(name)).unwrap_or_default();
    // As udev gives them: the bus number is the address, the device number the port.
    let bus: i64 = read_trimmed(dir.join("busnum"))?.parse().ok()?;
    let number: i64 = read_trimmed(dir.join("devnum"))?.parse().ok()?;
    // sysfs gives classes in hex (`09`); udev's TYPE, which osquery reads, in decimal.
    let decimal = |name: &str| -> String {
        read_trimmed(dir.join(name))
            .and_then(|hex| i64::from_str_radix(&hex, 16).ok())
            .map(|n| n.to_string())
            .unwrap_or_default()
    };
    let removable = match attribute("removable").as_str() {
        "removable" => 1,
        "fixed" => 0,
        _ => -1,
    };
    Some(
        UsbDeviceRow {
            usb_address: Value::Int(bus),
            usb_port: Value::Int(number),
            vendor: attribute("manufacturer").into(),
            vendor_id: attribute("idVendor").into(),
            version: attribute("bcdDevice").into(),
            model: attribute("product").into(),
            model_id: attribute("idProduct").into(),
            serial: attribute("serial").into(),
            class: decimal("bDeviceClass").into(),
            subclass: decimal("bDeviceSubClass").into(),
            protocol: decimal("bDeviceProtocol").into(),
            removable: Value::Int(removable),
        }
        .into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_not_interfaces() {
        let root = tempfile::tempdir().expect("tempdir");
        let write = |dir: &str, attributes: &[(&str, &str)]| {
            let path = root.path().join(dir);
            std::fs::create_dir_all(&path).expect("mkdir");
            for (name, value) in attributes {
                std::fs::write(path.join(name), format!("{value}\n")).expect("write");
            }
        };
        write(
            "1-1",
            &[
                ("busnum", "1"),
                ("devnum", "3"),
                ("idVendor", "0781"),
                ("idProduct", "5581"),
                ("manufacturer", "SanDisk"),
                ("product", "Ultra"),
                ("serial", "4C530001"),
                ("bcdDevice", "0100"),
                ("bDeviceClass", "00"),
                ("bDeviceSubClass", "00"),
                ("bDeviceProtocol", "00"),
                ("removable", "removable"),
            ],
        );
        write("1-1:1.0", &[("bInterfaceClass", "08")]);
        write(
            "usb1",
            &[
                ("busnum", "1"),
                ("devnum", "1"),
                ("bDeviceClass", "09"),
                ("removable", "unknown"),
            ],
        );
        let rows = read(root.path());
        assert_eq!(rows.len(), 2);
        let stick = &rows[0];
        assert_eq!(stick[UsbDeviceRow::usb_address], Value::Int(1));
        assert_eq!(stick[UsbDeviceRow::usb_port], Value::Int(3));
        assert_eq!(stick[UsbDeviceRow::vendor], Value::from("SanDisk"));
        assert_eq!(stick[UsbDeviceRow::vendor_id], Value::from("0781"));
        assert_eq!(stick[UsbDeviceRow::model_id], Value::from("5581"));
        assert_eq!(stick[UsbDeviceRow::version], Value::from("0100"));
        assert_eq!(stick[UsbDeviceRow::removable], Value::Int(1));
        let hub = &rows[1];
        assert_eq!(hub[UsbDeviceRow::class], Value::from("9"));
        assert_eq!(hub[UsbDeviceRow::removable], Value::Int(-1));
    }

    #[test]
    fn the_host_answers() {
        let rows: Vec<Row> = UsbDevices
            .scan(&ScanRequest::default())
            .expect("scan")
            .collect::<Result<_, _>>()
            .expect("rows");
        // This VM has no USB bus: no rows, no error.
        if !Path::new(USB_DEVICES).exists() {
            assert!(rows.is_empty());
        }
        for row in &rows {
            assert!(
                row[UsbDeviceRow::usb_address]
                    .as_i64()
                    .is_some_and(|a| a > 0)
            );
        }
    }
}
