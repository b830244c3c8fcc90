//! TLS server replies: arbitrary bytes as a reply (`split_reply`: an HTTP status, then the body;
//! the body also stands for a redirect's `Location`) to each request vigil makes: enrollment,
//! config, distributed read, distributed write and log. Nothing panics; what the agent takes
//! from a reply keeps its promises: a node key fits the `Authorization` header, `accelerate` is
//! bounded, each distributed query is one the reply holds, a config document reads back from the
//! copy kept of it and parses as a config does.
#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use vigil_config::{Origin, hash, parse};
use vigil_fuzz::{PACK_DELIMITER, check_config, check_hash, split_reply};
use vigil_remote_api::{
    ReplyError,
    config::ConfigDocument,
    distributed::{self, ACCELERATE_MAX},
    enroll, reply,
};

fuzz_target!(|data: &[u8]| {
    let (status, body) = split_reply(data);
    let location = std::str::from_utf8(body).ok();
    if let Err(error) = reply::check_status(status, location) {
        assert!(
            matches!(error, ReplyError::Redirect { .. }) && (300..400).contains(&status),
            "{error}"
        );
        return;
    }
    // reqwest's `text()` (without its `charset` feature) decodes lossily.
    let answer = match reply::check(status, &String::from_utf8_lossy(body)) {
        Ok(answer) => answer,
        Err(error) => {
            assert!(
                (200..300).contains(&status) || matches!(error, ReplyError::Status { .. }),
                "HTTP {status}: {error}"
            );
            let _ = (error.to_string(), error.is_refusal());
            return;
        }
    };
    assert!((200..300).contains(&status), "HTTP {status} taken");
    assert_ne!(answer.get("node_invalid"), Some(&Value::Bool(true)));

    // Enrollment.
    if let Ok(key) = enroll::node_key(&answer) {
        assert!(!key.is_empty());
        assert!(
            http::HeaderValue::from_str(&format!("NodeKey {key}")).is_ok(),
            "node key {key:?} cannot go in the Authorization header"
        );
    }

    // Distributed read.
    let read = distributed::read_reply(&answer);
    assert!(read.accelerate <= ACCELERATE_MAX);
    assert!(
        Instant::now()
            .checked_add(Duration::from_secs(read.accelerate))
            .is_some()
    );
    for query in &read.queries {
        assert_eq!(
            answer["queries"][&query.id].as_str(),
            Some(query.sql.as_str()),
            "query {} is not the reply's",
            query.id
        );
    }

    // Config: the document, the copy kept of it, and the config it is.
    let config = ConfigDocument::from_reply(answer);
    assert!(config.document.get("node_invalid").is_none());
    assert_eq!(
        ConfigDocument::from_kept(config.text.as_bytes()).as_ref(),
        Some(&config),
        "the kept config reads back otherwise"
    );
    check_hash(&hash(&config.text));
    if let Ok(parsed) = parse(&config.document, Origin::Server, PACK_DELIMITER) {
        check_config(&parsed);
    }
    // Distributed write and log replies: nothing is taken from them past `reply::check`.
});
