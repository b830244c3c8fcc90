//! The audit publisher (opt-in, `--disable_audit=false`): reads the kernel's audit records over
//! netlink and fills `process_events`, `socket_events` and `user_events` with osquery's columns.
//! With `--audit_allow_config` it enables audit, sets a backlog that never makes the host wait,
//! and adds one rule of its own; at stop it puts the host back as it found it.

pub mod assemble;
pub mod events;
pub mod found;
pub mod fuzzing;
pub mod host;
mod lost;
pub mod netlink;
mod pipeline;
mod publisher;
mod reader;
pub mod record;
pub mod rules;
mod source;
pub mod status;
pub mod syscalls;
#[cfg(test)]
mod tests;

pub use publisher::AuditPublisher;
pub use source::SOURCE;
