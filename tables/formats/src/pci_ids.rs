//! The PCI ID database (`pci.ids`, from the pciutils/hwdata packages): vendor, device and
//! subsystem names by their hex ids, and the device class names of its `C` section, for
//! `pci_devices`. Read as osquery's `PciDB` reads it: a vendor line starts with its id, a device
//! line with one tab, a subsystem line with two; `#` starts a comment.

use std::collections::HashMap;

/// The most vendors kept: the real database has about 2,500.
pub const MAX_VENDORS: usize = 100_000;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Vendor {
    pub name: String,
    /// Device id (4 lowercase hex digits) to its device.
    pub devices: HashMap<String, Device>,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Device {
    pub name: String,
    /// `"<subvendor> <subdevice>"` (lowercase hex) to the subsystem's name.
    pub subsystems: HashMap<String, String>,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Class {
    pub name: String,
    /// Subclass id (2 lowercase hex digits) to its name.
    pub subclasses: HashMap<String, String>,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PciIds {
    /// Vendor id (4 lowercase hex digits) to its vendor.
    pub vendors: HashMap<String, Vendor>,
    /// Class id (2 lowercase hex digits) to its class.
    pub classes: HashMap<String, Class>,
}

impl PciIds {
    pub fn vendor(&self, vendor: &str) -> Option<&str> {
        self.vendors.get(vendor).map(|v| v.name.as_str())
    }

    pub fn device(&self, vendor: &str, device: &str) -> Option<&str> {
        self.vendors
            .get(vendor)?
            .devices
            .get(device)
            .map(|d| d.name.as_str())
    }

    pub fn subsystem(
        &self,
        vendor: &str,
        device: &str,
        sub_vendor: &str,
        sub_device: &str,
    ) -> Option<&str> {
        self.vendors
            .get(vendor)?
            .devices
            .get(device)?
            .subsystems
            .get(&format!("{sub_vendor} {sub_device}"))
            .map(String::as_str)
    }

    pub fn class(&self, class: &str) -> Option<&str> {
        self.classes.get(class).map(|c| c.name.as_str())
    }

    pub fn subclass(&self, class: &str, subclass: &str) -> Option<&str> {
        self.classes
            .get(class)?
            .subclasses
            .get(subclass)
            .map(String::as_str)
    }
}

/// Which section a line belongs to.
enum Section {
    Vendors,
    Classes,
    /// The sections after the classes (`ffff` ends osquery's read; unknown sections are
    /// skipped).
    Other,
}

/// Parses the database; lines it cannot make sense of are skipped.
pub fn parse(text: &str) -> PciIds {
    let mut ids = PciIds::default();
    let mut section = Section::Vendors;
    let mut vendor: Option<String> = None;
    let mut device: Option<String> = None;
    let mut class: Option<String> = None;
    for raw in text.lines() {
        let line = raw.split('#').next().unwrap_or_default().trim_end();
        if line.trim().is_empty() {
            continue;
        }
        let tabs = line.bytes().take_while(|&b| b == b'\t').count();
        let body = &line[tabs..];
        if tabs == 0 {
            vendor = None;
            device = None;
            class = None;
            if let Some(rest) = body.strip_prefix("C ") {
                section = Section::Classes;
                if let Some((id, name)) = id_and_name(rest, 2) {
                    ids.classes.entry(id.clone()).or_default().name = name;
                    class = Some(id);
                }
                continue;
            }
            match id_and_name(body, 4) {
                Some((id, name)) if matches!(section, Section::Vendors) => {
                    if id == "ffff" {
                        section = Section::Other;
                    } else if ids.vendors.len() < MAX_VENDORS {
                        ids.vendors.entry(id.clone()).or_default().name = name;
                        vendor = Some(id);
                    }
                }
                // A line that is no vendor is skipped; the section goes on.
                _ => {}
            }
            continue;
        }
        match section {
            Section::Vendors => match tabs {
                1 => {
                    device = None;
                    let (Some(v), Some((id, name))) = (&vendor, id_and_name(body, 4)) else {
                        continue;
                    };
                    if let Some(v) = ids.vendors.get_mut(v) {
                        v.devices.entry(id.clone()).or_default().name = name;
                        device = Some(id);
                    }
                }
                2 => {
                    let (Some(v), Some(d)) = (&vendor, &device) else {
                        continue;
                    };
                    let Some((sub_vendor, rest)) = body.split_once(' ') else {
                        continue;
                    };
                    let Some((sub_id, name)) = id_and_name(rest, 4) else {
                        continue;
                    };
                    if !is_hex(sub_vendor, 4) {
                        continue;
                    }
                    if let Some(d) = ids.vendors.get_mut(v).and_then(|v| v.devices.get_mut(d)) {
                        d.subsystems.insert(
                            format!("{} {sub_id}", sub_vendor.to_ascii_lowercase()),
                            name,
                        );
                    }
                }
                _ => {}
            },
            Section::Classes => {
                if tabs != 1 {
                    continue;
                }
                let (Some(c), Some((id, name))) = (&class, id_and_name(body, 2)) else {
                    continue;
                };
                if let Some(c) = ids.classes.get_mut(c) {
                    c.subclasses.insert(id, name);
                }
            }
            Section::Other => {}
        }
    }
    ids
}

/// `<id of `digits` hex digits>  <name>`: the id in lowercase and the name, trimmed.
fn id_and_name(text: &str, digits: usize) -> Option<(String, String)> {
    let id = text.get(..digits)?;
    if !is_hex(id, digits) {
        return None;
    }
    let rest = &text[digits..];
    if !rest.is_empty() && !rest.starts_with([' ', '\t']) {
        return None;
    }
    Some((id.to_ascii_lowercase(), rest.trim().to_owned()))
}

fn is_hex(text: &str, digits: usize) -> bool {
    text.len() == digits && text.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
# pci.ids sample
8086  Intel Corporation
\t2922  82801IR/IO/IH (ICH9R/DO/DH) 6 port SATA Controller [AHCI mode]
\t\t1af4 1100  QEMU Virtual Machine
1AF4  Red Hat, Inc.  # a comment
\t1000  Virtio network device
ffff  Illegal Vendor ID

C 01  Mass storage controller
\t06  SATA controller
\t\t01  AHCI 1.0
C 02  Network controller
\t00  Ethernet controller
";

    #[test]
    fn vendors_devices_subsystems_and_classes() {
        let ids = parse(SAMPLE);
        assert_eq!(ids.vendor("8086"), Some("Intel Corporation"));
        assert_eq!(
            ids.device("8086", "2922"),
            Some("82801IR/IO/IH (ICH9R/DO/DH) 6 port SATA Controller [AHCI mode]")
        );
        assert_eq!(
            ids.subsystem("8086", "2922", "1af4", "1100"),
            Some("QEMU Virtual Machine")
        );
        assert_eq!(ids.vendor("1af4"), Some("Red Hat, Inc."));
        assert_eq!(ids.device("1af4", "1000"), Some("Virtio network device"));
        assert_eq!(ids.vendor("ffff"), None);
        assert_eq!(ids.class("01"), Some("Mass storage controller"));
        assert_eq!(ids.subclass("01", "06"), Some("SATA controller"));
        assert_eq!(ids.subclass("02", "00"), Some("Ethernet controller"));
        assert_eq!(ids.class("03"), None);
    }

    #[test]
    fn malformed_lines_are_skipped() {
        let ids = parse("\tabcd  orphan device\nzzzz  not hex\n12  short\n10de\n\t\t1 2\n");
        assert_eq!(ids.vendor("10de"), Some(""));
        assert!(
            ids.vendors
                .get("10de")
                .is_some_and(|v| v.devices.is_empty())
        );
        assert_eq!(ids.vendors.len(), 1);
    }
}
