//! Compact binary encoding of stored events: a version byte, then LEB128 integers and
//! length-prefixed strings in a fixed order. Smaller and faster than JSON, and a decode error is
//! a typed value (a corrupt record is counted and skipped, never a crash).
//!
//! Here are the primitives and the parts several kinds store alike; each kind's own order of
//! fields is its `stored.rs` in `crate::event_table`.

pub(crate) mod caller;
pub mod chunk;
pub mod row_key;
pub(crate) mod wire;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("record ends early")]
    Truncated,
    #[error("unknown record version {0}")]
    Version(u8),
    #[error("field `{0}` holds an invalid value")]
    Invalid(&'static str),
}
