//! The hardware parsers (SMBIOS tables, `pci.ids`, sysctl files, PEM certificate bundles): the
//! committed corpus of the `hardware_files` fuzz target replays cleanly, arbitrary bytes never
//! make them panic, and well-formed SMBIOS tables come back structure by structure.

use std::path::Path;

use proptest::prelude::*;
use vigil_formats::{checks, smbios};

#[test]
fn the_committed_hardware_files_corpus_replays_cleanly() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/hardware_files");
    let mut replayed = 0;
    for entry in
        std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
    {
        let path = entry.expect("a corpus entry").path();
        checks::check_hardware(&std::fs::read(&path).expect("a corpus file"));
        replayed += 1;
    }
    assert!(
        replayed >= usize::from(checks::HARDWARE_PARSERS),
        "{replayed} inputs"
    );
}

/// One structure's bytes: its header, `formatted` more bytes, its strings (none is written as
/// the one empty string) and the zero byte that ends them.
fn structure(kind: u8, handle: u16, formatted: &[u8], strings: &[String]) -> Vec<u8> {
    let mut bytes = vec![kind, (smbios::HEADER_SIZE + formatted.len()) as u8];
    bytes.extend_from_slice(&handle.to_le_bytes());
    bytes.extend_from_slice(formatted);
    for s in strings {
        bytes.extend_from_slice(s.as_bytes());
        bytes.push(0);
    }
    if strings.is_empty() {
        bytes.push(0);
    }
    bytes.push(0);
    bytes
}

/// A structure as SMBIOS writes one, kept simple where the walk cannot tell: no zero bytes in
/// its strings or its formatted area (two of them there would end its strings early).
fn arb_structure() -> impl Strategy<Value = (u8, u16, Vec<u8>, Vec<String>)> {
    (
        any::<u8>(),
        1u16..,
        proptest::collection::vec(1u8.., 0..40),
        proptest::collection::vec("[a-zA-Z0-9 .()-]{1,20}", 0..4),
    )
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(input in proptest::collection::vec(any::<u8>(), 0..2048)) {
        checks::check_hardware(&input);
    }

    #[test]
    fn well_formed_tables_come_back_structure_by_structure(
        parts in proptest::collection::vec(arb_structure(), 0..20),
        padding in 0usize..16,
    ) {
        let mut table = Vec::new();
        let mut expected = Vec::new();
        for (kind, handle, formatted, strings) in &parts {
            let bytes = structure(*kind, *handle, formatted, strings);
            expected.push((*kind, *handle, table.len(), bytes.len()));
            table.extend_from_slice(&bytes);
        }
        table.extend(std::iter::repeat_n(0u8, padding));
        let found: Vec<_> = smbios::structures(&table)
            .iter()
            .map(|s| (s.kind, s.handle, s.offset, s.size))
            .collect();
        prop_assert_eq!(found, expected);
    }
}
