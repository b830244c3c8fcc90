//! The committed fuzz corpora of the `config` and `flagfile` targets (fuzz/corpus/: seeds, and
//! inputs that once failed) replayed through what those targets check, so that a regression
//! shows in a plain `cargo test`, without nightly.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::*;
use crate::flagfile::parse_flagfile;

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| entry.expect("a corpus entry").path())
        .map(|path| {
            let bytes = std::fs::read(&path).expect("a corpus file");
            (path, bytes)
        })
        .collect();
    assert!(!files.is_empty(), "no inputs in {}", dir.display());
    files.sort();
    files
}

/// Every pack file reads as the input itself, as in the fuzz target.
struct EveryPackFileIs<'a>(&'a str);

impl PackFiles for EveryPackFileIs<'_> {
    fn read(&self, name: &str) -> Result<PackFile, String> {
        Ok(PackFile {
            shown_as: name.to_owned(),
            text: self.0.to_owned(),
        })
    }
}

/// A valid config's `--config_dump` reads back as the same config.
fn dump_reads_back(config: &Config, input: &Path) {
    let dumped = serde_json::to_string_pretty(&dump(config)).expect("a dump serializes");
    let document: Value = serde_json::from_str(&dumped).expect("a dump is JSON");
    let again = parse(&document, Origin::Server, "_")
        .unwrap_or_else(|e| panic!("{}: the dump does not parse: {e}", input.display()));
    assert_eq!(dump(&again), dump(config), "{}", input.display());
    assert_eq!(again.file_filter, config.file_filter, "{}", input.display());
    assert_eq!(
        again.kafka_topics,
        config.kafka_topics,
        "{}",
        input.display()
    );
}

#[test]
fn the_committed_config_corpus_replays_cleanly() {
    let mut valid = 0;
    for (path, bytes) in corpus("config") {
        let Ok(text) = std::str::from_utf8(&bytes) else {
            continue;
        };
        let Ok(document) = serde_json::from_str::<Value>(text) else {
            continue;
        };
        let packs = EveryPackFileIs(text);
        for origin in [Origin::File { packs: &packs }, Origin::Server] {
            if let Ok(config) = parse(&document, origin, "_") {
                dump_reads_back(&config, &path);
                valid += 1;
            }
        }
    }
    assert!(valid > 0, "no seed is a valid config");
    let kafka = corpus("config")
        .into_iter()
        .filter_map(|(_, bytes)| serde_json::from_slice::<Value>(&bytes).ok())
        .filter_map(|document| parse(&document, Origin::Server, "_").ok())
        .any(|config| !config.kafka_topics.is_empty());
    assert!(kafka, "no seed routes a query to a Kafka topic");
}

#[test]
fn the_committed_flagfile_corpus_replays_cleanly() {
    for (path, bytes) in corpus("flagfile") {
        let Ok(text) = std::str::from_utf8(&bytes) else {
            continue;
        };
        match parse_flagfile(text) {
            Ok(args) => {
                let by_line: Vec<String> = text
                    .lines()
                    .flat_map(|line| parse_flagfile(line).expect("a line parses alone"))
                    .collect();
                assert_eq!(args, by_line, "{}", path.display());
            }
            Err(error) => assert!(
                text.lines()
                    .nth(error.line() - 1)
                    .is_some_and(|line| parse_flagfile(line).is_err()),
                "{}: {error}",
                path.display()
            ),
        }
    }
}
