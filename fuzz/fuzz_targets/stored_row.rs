//! Rows read back from the store (a disk can hand back anything): each event table's codec and
//! the counters snapshot return a value or an error, never panic; and what they return encodes
//! to a row that reads back the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil_events::{
    Event, EventTable,
    codec::{chunk, row_key as key},
    counters,
};

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
    // Saved counters: whatever decodes must survive a re-encoding (fields a newer version wrote
    // are dropped, so the bytes may differ, the values may not).
    if let Some(saved) = counters::decode_saved(row) {
        assert_eq!(
            counters::decode_saved(&counters::encode_saved(&saved)).as_ref(),
            Some(&saved),
            "saved counters do not survive a re-encoding"
        );
    }
    let _ = counters::decode_legacy_snapshot(row);
    // A chunk of rows: whatever its bytes, its rows' keys start at the chunk's and increase,
    // and reading ends.
    let mut chunk_key = [chunk::CHUNK_MARK; chunk::CHUNK_KEY_LEN];
    chunk_key[..key::KEY_LEN].copy_from_slice(&key::encode(7, 7));
    let mut previous = None;
    for (time, seq, _) in chunk::rows(&chunk_key, row) {
        assert!(
            previous.is_none_or(|p| p < (time, seq)),
            "chunk keys go back"
        );
        assert!((time, seq) >= (7, 7), "a chunk row before its chunk's key");
        previous = Some((time, seq));
    }
});
