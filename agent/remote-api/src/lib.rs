//! What vigil makes of an osquery TLS server's replies: pure functions of the HTTP status and
//! body, no I/O, so every reply a server can send is fuzzed (`fuzz/fuzz_targets/tls_response.rs`).
//! The agent's HTTPS client (agent/src/remote) sends the requests and hands the replies here.
//!
//! Every reply goes through `reply::check` (status, JSON object, `node_invalid`, `error`); then
//! each endpoint reads its own keys: `enroll` the node key, `distributed` the queries to run and
//! `accelerate`, `config` the config document (parsed by vigil-config). Log and distributed-write
//! replies carry nothing past the check.

#![forbid(unsafe_code)]

pub mod config;
pub mod distributed;
pub mod enroll;
pub mod reply;

pub use reply::ReplyError;

#[cfg(test)]
mod corpus_tests;
