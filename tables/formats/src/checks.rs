//! What the `table_files` fuzz target asserts about every parser of this crate, shared with the
//! replay of its committed corpus in `cargo test` (`tests/corpus.rs`). The first byte of an
//! input picks the parser, the rest is the file; whatever the bytes, a parser returns (never
//! panics) and what it returns keeps the promises below.

use crate::{
    apt, authorized_keys, certificates, crontab, deb822, dpkg, hosts, ini, luks, pci_ids,
    resolv_conf, rpm_header, shell_history, smbios, sudoers, sysctl,
};

/// How many parsers an input's first byte chooses from.
pub const PARSERS: u8 = 12;

/// Runs the parser `input[0] % PARSERS` on the rest of `input` and checks what it gives.
pub fn check(input: &[u8]) {
    let Some((&selector, data)) = input.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(data);
    match selector % PARSERS {
        0 => {
            for paragraph in deb822::paragraphs(&text) {
                assert!(!paragraph.fields.is_empty());
                for (name, _) in &paragraph.fields {
                    assert!(!name.is_empty() && !name.contains('\n'), "field {name:?}");
                }
            }
        }
        1 => {
            for package in dpkg::installed_packages(&text) {
                assert!(!package.name.is_empty());
                assert_eq!(package.status.split(' ').count(), 3, "{:?}", package.status);
                assert!(package.version.ends_with(&package.revision));
            }
        }
        2 => {
            let sources = text
                .lines()
                .filter_map(apt::list_line)
                .chain(apt::deb822_sources(&text));
            for source in sources {
                assert!(source.base_uri.contains("://") && !source.base_uri.ends_with('/'));
                assert!(
                    !source.cache_prefix.contains('/'),
                    "{:?}",
                    source.cache_prefix
                );
                assert!(source.name.contains(' '));
            }
            let _ = apt::release(&text);
        }
        3 => {
            for section in ini::sections(&text) {
                for (key, _) in &section.options {
                    assert!(!key.contains('\n'));
                }
            }
        }
        4 => {
            for entry in text.lines().filter_map(crontab::line) {
                assert!(!entry.command.is_empty());
                if entry.event.is_empty() {
                    for field in [
                        &entry.minute,
                        &entry.hour,
                        &entry.day_of_month,
                        &entry.month,
                        &entry.day_of_week,
                    ] {
                        assert!(!field.is_empty() && !field.contains(char::is_whitespace));
                    }
                } else {
                    assert!(entry.event.starts_with('@'));
                }
            }
        }
        5 => {
            for rule in sudoers::rules(&text) {
                assert!(!rule.header.is_empty());
                if let Some(sudoers::Include::File(p) | sudoers::Include::Directory(p)) =
                    &rule.include
                {
                    assert!(!p.is_empty());
                }
            }
        }
        6 => {
            let entries = shell_history::entries(&text);
            assert!(entries.len() <= text.lines().count());
            assert!(entries.iter().all(|e| e.time >= 0));
        }
        7 => {
            for key in text.lines().filter_map(authorized_keys::line) {
                // sshd splits fields at spaces and tabs only (other blank bytes are key bytes).
                assert!(!key.key.is_empty() && !key.key.contains([' ', '\t']));
                assert!(!key.algorithm.is_empty());
            }
        }
        8 => {
            for entry in text.lines().filter_map(hosts::line) {
                assert!(!entry.address.is_empty() && !entry.hostnames.is_empty());
            }
            let resolver = resolv_conf::parse(&text);
            assert!(resolver.nameservers.len() <= 3 && resolver.search.len() <= 6);
            assert!(resolver.sortlist.len() <= 10);
        }
        9 => {
            if let Some(header) = luks::header(data) {
                assert!(matches!(header.version, 1 | 2));
                assert!(header.type_name().starts_with("LUKS"));
            }
        }
        10 => {
            if let Some(package) = rpm_header::package(data) {
                assert!(!package.name.is_empty());
            }
        }
        _ => {
            // The same bytes with the LUKS magic in front: the header's fields are the input.
            let mut with_magic = luks::MAGIC.to_vec();
            with_magic.extend_from_slice(data);
            let _ = luks::header(&with_magic);
        }
    }
}

/// How many parsers the `hardware_files` fuzz target's first byte chooses from.
pub const HARDWARE_PARSERS: u8 = 4;

/// What the `hardware_files` fuzz target asserts: `input[0] % HARDWARE_PARSERS` picks SMBIOS
/// tables, `pci.ids`, a sysctl file or a PEM certificate bundle; the rest of `input` is the data.
pub fn check_hardware(input: &[u8]) {
    let Some((&selector, data)) = input.split_first() else {
        return;
    };
    match selector % HARDWARE_PARSERS {
        0 => {
            let mut next = 0;
            for (i, s) in smbios::structures(data).iter().enumerate() {
                // In order, one after the other, each within the data and holding its header.
                assert_eq!(s.number, i);
                assert_eq!(s.offset, next, "{s:?}");
                assert!(s.size >= usize::from(s.header_size), "{s:?}");
                assert!(usize::from(s.header_size) >= smbios::HEADER_SIZE, "{s:?}");
                assert!(s.offset + s.size <= data.len(), "{s:?}");
                assert!(!smbios::description(s.kind).is_empty());
                next = s.offset + s.size;
            }
        }
        1 => {
            let ids = pci_ids::parse(&String::from_utf8_lossy(data));
            assert!(ids.vendors.len() <= pci_ids::MAX_VENDORS);
            for (id, vendor) in &ids.vendors {
                assert!(id.len() == 4 && id != "ffff", "{id:?}");
                for device in vendor.devices.keys() {
                    assert_eq!(device.len(), 4, "{device:?}");
                }
            }
            for (id, class) in &ids.classes {
                assert_eq!(id.len(), 2, "{id:?}");
                assert!(class.subclasses.keys().all(|s| s.len() == 2));
            }
        }
        2 => {
            for (name, value) in sysctl::settings(&String::from_utf8_lossy(data)) {
                assert!(!name.is_empty() && !name.contains(['=', '\n']), "{name:?}");
                assert!(!value.contains(['=', '\n']), "{value:?}");
            }
        }
        _ => {
            let found = certificates::parse_bundle(data);
            assert!(found.len() <= certificates::MAX_CERTIFICATES);
            for c in &found {
                // Digests and ids are hex of the right case; the serial as OpenSSL prints it.
                assert_eq!(c.sha1.len(), 40, "{c:?}");
                assert!(
                    c.sha1
                        .bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
                );
                assert!(!c.serial.is_empty(), "{c:?}");
                assert!(c.serial == "0" || !c.serial.starts_with("00"), "{c:?}");
                assert!(
                    c.serial
                        .bytes()
                        .all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b))
                );
                assert!(c.subject_key_id.len() % 2 == 0 && c.authority_key_id.len() % 2 == 0);
            }
        }
    }
}
