//! Kernel ring-buffer records: whatever bytes arrive, `decode_record` returns an event or an
//! error, never panics; and an event it returns is what the store reads back after encoding it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil_events::{
    Event,
    linux::{clock::BootClock, ebpf::decode},
};

/// A boot-to-wall-clock offset like a real machine's (late 2023); `boot_ns` comes from the input.
const BOOT_TO_WALL_NS: i128 = 1_700_000_000_000_000_000;

fuzz_target!(|record: &[u8]| {
    let table = decode::record_table(record);
    let Ok(event) = decode::decode_record(record, &BootClock::with_offset(BOOT_TO_WALL_NS)) else {
        return;
    };
    assert_eq!(
        event.table(),
        table,
        "record_table counts a record against another table than the one it decodes to"
    );
    let stored = event.encode();
    assert_eq!(
        Event::decode(table, &stored).as_ref(),
        Ok(&event),
        "a decoded record does not read back the same from its stored row"
    );
});
