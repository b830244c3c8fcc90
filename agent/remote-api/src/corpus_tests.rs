//! The committed corpus of the `tls_response` fuzz target (fuzz/corpus/: seeds, and inputs that
//! once failed) replayed through what that target checks, so that a regression shows in a plain
//! `cargo test`, without nightly.

use std::path::Path;

use crate::{ReplyError, config::ConfigDocument, distributed, enroll, reply};

/// The target's input layout: the status in decimal on the first line, then the body; without
/// a status line, a 200's body whole.
fn split_reply(data: &[u8]) -> (u16, &[u8]) {
    if let Some(end) = data.iter().position(|&b| b == b'\n')
        && let Ok(first) = std::str::from_utf8(&data[..end])
        && let Ok(status) = first.trim().parse::<u16>()
    {
        return (status, &data[end + 1..]);
    }
    (200, data)
}

#[test]
fn the_committed_tls_response_corpus_replays_cleanly() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/tls_response");
    let mut answered = 0;
    for entry in std::fs::read_dir(&dir).expect("the corpus directory") {
        let path = entry.expect("a corpus entry").path();
        let data = std::fs::read(&path).expect("a corpus file");
        let (status, body) = split_reply(&data);
        let shown = path.display();
        match reply::check_status(status, std::str::from_utf8(body).ok()) {
            Err(ReplyError::Redirect { .. }) => continue,
            Err(other) => panic!("{shown}: {other}"),
            Ok(()) => {}
        }
        let Ok(answer) = reply::check(status, &String::from_utf8_lossy(body)) else {
            continue;
        };
        answered += 1;
        if let Ok(key) = enroll::node_key(&answer) {
            assert!(enroll::is_sendable(&key), "{shown}");
        }
        let read = distributed::read_reply(&answer);
        assert!(read.accelerate <= distributed::ACCELERATE_MAX, "{shown}");
        let config = ConfigDocument::from_reply(answer);
        assert_eq!(
            ConfigDocument::from_kept(config.text.as_bytes()).as_ref(),
            Some(&config),
            "{shown}"
        );
    }
    assert!(answered > 0, "no seed is a reply vigil takes");
}
