//! The fuzz targets' seed corpus (`fuzz/corpus/<target>/seed-*`), built here from the record
//! structs the kernel side fills, so the seeds follow the record layout: when it changes, the
//! test below fails until the seeds are written again with
//! `VIGIL_WRITE_FUZZ_CORPUS=1 cargo test -p vigil-events fuzz_seed`.
//!
//! Every file in the corpus directories (seeds, and inputs the fuzzer found that once crashed)
//! is also replayed through the decoders here, so a regression shows in a plain `cargo test`.

mod records;

use std::path::{Path, PathBuf};

use self::records::{malformed_records, valid_records};
use crate::{
    Counters, Event, EventTable, TableCounters,
    codec::{chunk, row_key as key},
    counters, event_table,
    linux::{clock::BootClock, ebpf::decode},
};

const WRITE_VAR: &str = "VIGIL_WRITE_FUZZ_CORPUS";
/// The offset the record_decoder target decodes with (any works; this one looks real).
const BOOT_TO_WALL_NS: i128 = 1_700_000_000_000_000_000;

fn clock() -> BootClock {
    BootClock::with_offset(BOOT_TO_WALL_NS)
}

/// Stored rows: what the store keeps for each valid record, and a counters snapshot.
fn stored_rows() -> Vec<(String, Vec<u8>)> {
    let mut rows: Vec<(String, Vec<u8>)> = valid_records()
        .into_iter()
        .filter_map(|(name, record)| {
            let event = decode::decode_record(&record, &clock()).ok()?;
            Some((name.to_owned(), event.encode()))
        })
        .collect();
    rows.push((
        "process-sample".into(),
        event_table::process::encode_process_event(
            &event_table::process::stored::tests::sample_event(1_700_000_000_123_456_789),
        ),
    ));
    // A chunk of two stored rows, keyed as the stored_row target reads chunks.
    let sample = rows.last().map(|(_, row)| row.clone()).unwrap_or_default();
    if let Some((_, chunk)) = crate::codec::chunk::encode(&[(7, 7, &sample), (9, 8, &sample)]) {
        rows.push(("chunk-two-rows".into(), chunk));
    }
    let counters = Counters::new(&EventTable::names());
    if let Some(table) = counters.table("bpf_process_events") {
        TableCounters::add(&table.seen, 1_000);
        TableCounters::add(&table.stored, 990);
        TableCounters::add(&table.dropped_ring_buffer, 10);
    }
    counters.account_source("bpf", &[3, 1, 4], || {});
    rows.push((
        "counters-saved".into(),
        counters::encode_saved(&counters.saved()),
    ));
    rows
}

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target)
}

fn seeds() -> Vec<(&'static str, String, Vec<u8>)> {
    let records = valid_records().into_iter().chain(malformed_records());
    let mut seeds: Vec<_> = records
        .map(|(name, bytes)| ("record_decoder", format!("seed-{name}"), bytes))
        .collect();
    seeds.extend(
        stored_rows()
            .into_iter()
            .map(|(name, bytes)| ("stored_row", format!("seed-{name}"), bytes)),
    );
    seeds
}

#[test]
fn valid_seed_records_decode_and_malformed_ones_do_not() {
    for (name, record) in valid_records() {
        let event = decode::decode_record(&record, &clock())
            .unwrap_or_else(|e| panic!("seed {name} does not decode: {e}"));
        assert_eq!(event.table(), decode::record_table(&record), "{name}");
    }
    for (name, record) in malformed_records() {
        assert!(
            decode::decode_record(&record, &clock()).is_err(),
            "{name} decodes"
        );
    }
    assert_eq!(stored_rows().len(), valid_records().len() + 3);
}

#[test]
fn fuzz_seed_corpus_matches_the_record_layout() {
    if std::env::var_os(WRITE_VAR).is_some() {
        for (target, name, bytes) in seeds() {
            let dir = corpus_dir(target);
            std::fs::create_dir_all(&dir).expect("create the corpus directory");
            std::fs::write(dir.join(&name), bytes).expect("write a seed");
        }
        return;
    }
    let stale: Vec<String> = seeds()
        .into_iter()
        .filter(|(target, name, bytes)| {
            std::fs::read(corpus_dir(target).join(name)).ok().as_ref() != Some(bytes)
        })
        .map(|(target, name, _)| format!("{target}/{name}"))
        .collect();
    assert!(
        stale.is_empty(),
        "fuzz/corpus seeds missing or out of date (did a record layout change?): {stale:?}; \
         write them again with `{WRITE_VAR}=1 cargo test -p vigil-events fuzz_seed` and commit \
         them"
    );
}

fn corpus_files(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = corpus_dir(target);
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.expect("a corpus entry").path());
    entries
        .map(|path| {
            let bytes = std::fs::read(&path).expect("a corpus file");
            (path, bytes)
        })
        .collect()
}

/// What the fuzz targets check, over the committed corpus (seeds and past crashes), so a
/// regression shows without nightly.
#[test]
fn the_committed_fuzz_corpus_replays_cleanly() {
    for (path, record) in corpus_files("record_decoder") {
        if let Ok(event) = decode::decode_record(&record, &clock()) {
            assert_eq!(
                Event::decode(event.table(), &event.encode()),
                Ok(event),
                "{}",
                path.display()
            );
        }
    }
    for (path, row) in corpus_files("stored_row") {
        for &table in EventTable::ALL {
            if let Ok(event) = Event::decode(table, &row) {
                assert_eq!(
                    Event::decode(table, &event.encode()),
                    Ok(event),
                    "{}",
                    path.display()
                );
            }
        }
        if let Some(saved) = counters::decode_saved(&row) {
            assert_eq!(
                counters::decode_saved(&counters::encode_saved(&saved)).as_ref(),
                Some(&saved),
                "{}",
                path.display()
            );
        }
        let mut chunk_key = [chunk::CHUNK_MARK; chunk::CHUNK_KEY_LEN];
        chunk_key[..key::KEY_LEN].copy_from_slice(&key::encode(7, 7));
        let keys: Vec<(u64, u64)> = chunk::rows(&chunk_key, &row)
            .map(|(time, seq, _)| (time, seq))
            .collect();
        assert!(
            keys.windows(2).all(|w| w[0] < w[1]) && keys.first().is_none_or(|k| *k >= (7, 7)),
            "{}: {keys:?}",
            path.display()
        );
    }
}
