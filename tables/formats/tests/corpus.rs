//! The committed corpus of the `table_files` fuzz target (fuzz/corpus/table_files/: seeds made
//! of real files, and inputs that once failed), replayed through what the target checks, so a
//! regression shows in a plain `cargo test`, without nightly.

use std::path::Path;

#[test]
fn the_committed_table_files_corpus_replays_cleanly() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/table_files");
    let mut replayed = 0;
    for entry in
        std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
    {
        let path = entry.expect("a corpus entry").path();
        let bytes = std::fs::read(&path).expect("a corpus file");
        vigil_formats::checks::check(&bytes);
        replayed += 1;
    }
    // One seed per parser at least.
    assert!(
        replayed >= usize::from(vigil_formats::checks::PARSERS),
        "{replayed} inputs"
    );
}
