//! What the hardware tables read from the firmware and the system (SMBIOS tables for
//! `smbios_tables`, `pci.ids` for `pci_devices`, sysctl files for `system_controls`, PEM
//! certificate bundles for `certificates`): the first
//! byte picks the parser, the rest is the data. No parser may panic, and what each returns keeps
//! its promises (`vigil_formats::checks::check_hardware`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    vigil_formats::checks::check_hardware(data);
});
