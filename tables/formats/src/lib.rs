//! Parsers of files that come from outside vigil: package databases, repository lists, cron
//! tables, sudoers, shell history, SSH keys, name-service files, on-disk headers, and the
//! hardware descriptions the firmware and the PCI ID database give (SMBIOS tables, `pci.ids`),
//! sysctl settings and PEM certificate bundles. They read
//! text or bytes already in memory and never do I/O, so the fuzz targets (`fuzz/`) call them
//! directly; the tables in `vigil-tables` read the files (bounded) and turn these into rows.
//!
//! Every parser takes arbitrary input: what it cannot make sense of is skipped, never a panic.

#![forbid(unsafe_code)]

pub mod apt;
pub mod authorized_keys;
pub mod certificates;
pub mod checks;
pub mod crontab;
pub mod deb822;
pub mod dpkg;
pub mod hosts;
pub mod ini;
pub mod luks;
pub mod pci_ids;
pub mod resolv_conf;
pub mod rpm_header;
pub mod shell_history;
pub mod smbios;
pub mod sudoers;
pub mod sysctl;
