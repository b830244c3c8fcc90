//! Config documents: arbitrary bytes as a local config file (`--config_path`, every pack file it
//! names holding the same bytes) and as the TLS server's config reply. Neither panics; a config
//! that parses keeps its bounds (intervals, shards) and reads back the same from its
//! `--config_dump`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use vigil_config::{Origin, hash, parse};
use vigil_fuzz::{EveryPackFileIs, PACK_DELIMITER, check_config, check_hash};
use vigil_remote_api::{config::ConfigDocument, reply};

fuzz_target!(|data: &[u8]| {
    // From a file, read as the agent reads it: UTF-8 text, then JSON.
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(document) = serde_json::from_str::<Value>(text)
    {
        let packs = EveryPackFileIs(text);
        match parse(&document, Origin::File { packs: &packs }, PACK_DELIMITER) {
            Ok(config) => check_config(&config),
            Err(error) => assert!(!error.errors.is_empty(), "an error without a problem"),
        }
        check_hash(&hash(text));
    }

    // From the TLS server: a 200 reply with these bytes, through the reply check.
    if let Ok(answer) = reply::check(200, &String::from_utf8_lossy(data)) {
        let reply = ConfigDocument::from_reply(answer);
        if let Ok(config) = parse(&reply.document, Origin::Server, PACK_DELIMITER) {
            check_config(&config);
        }
        check_hash(&hash(&reply.text));
    }
});
