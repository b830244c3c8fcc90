//! Compact binary encoding of stored events: a version byte, then LEB128 integers and
//! length-prefixed strings in a fixed order. Smaller and faster than JSON, and a decode error is
//! a typed value (a corrupt record is counted and skipped, never a crash).

mod audit;
mod ebpf;
#[cfg(test)]
pub(crate) mod tests;
mod wire;

pub use audit::{
    decode_audit_process_event, decode_audit_socket_event, decode_user_event,
    encode_audit_process_event, encode_audit_socket_event, encode_user_event,
};
pub use ebpf::{
    decode_file_event, decode_kernel_module_event, decode_process_event, decode_socket_event,
    encode_file_event, encode_kernel_module_event, encode_process_event, encode_socket_event,
};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("record ends early")]
    Truncated,
    #[error("unknown record version {0}")]
    Version(u8),
    #[error("field `{0}` holds an invalid value")]
    Invalid(&'static str),
}
