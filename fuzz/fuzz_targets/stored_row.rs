//! Rows read back from the store (a disk can hand back anything): each event table's codec and
//! the counters snapshot return a value or an error, never panic; and what they return encodes
//! to a row that reads back the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil_events::{Event, EventTable, counters};

fuzz_target!(|row: &[u8]| {
    // Every table's decoder sees every input: each starts with its own version byte, so one
    // corpus serves all three.
    for &table in EventTable::ALL {
        if let Ok(event) = Event::decode(table, row) {
            assert_eq!(
                Event::decode(table, &event.encode()).as_ref(),
                Ok(&event),
                "a {} row does not survive a re-encoding",
                table.name()
            );
        }
    }
    // Fixed-width numbers after length-prefixed names: the encoding is canonical, so a snapshot
    // that decodes encodes back to the very same bytes.
    if let Some(snapshot) = counters::decode_snapshot(row) {
        assert_eq!(
            counters::encode_snapshot(&snapshot),
            row,
            "a counters snapshot does not re-encode to the bytes it came from"
        );
    }
});
