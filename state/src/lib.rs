//! The agent's durable state, and the one place that knows its keys and encodings: how far each
//! scheduled query has read each event table, what it reported last, its statistics and
//! denylisting ([`schedule`]); the lines waiting for each logger and what the loggers report
//! ([`logs`]); distributed query results waiting for the server ([`distributed`]); the node key
//! and the last config from the TLS server ([`remote`]); who this daemon is, which config runs
//! and whether events are collected ([`daemon`]).
//!
//! The scheduler, the loggers and the remote parts write it; the SQL tables that show it
//! (`vigil_schedule`, `vigil_logger`, `vigil_info`, `vigil_events`) read it from here.
//!
//! It is kept in the event store's state area (`vigil_events::store::state`), in the same
//! database as the events: a query's read position and its result lines are committed in one
//! atomic write ([`Commit`]). Each entry is a typed handle ([`Key`], or a [`Family`] of keys
//! by name) that encodes and decodes its value ([`StateValue`]). The layout on disk is the one
//! earlier versions wrote (the tests pin it), so an existing database keeps its cursors, lines
//! and statistics.

#![forbid(unsafe_code)]

mod entry;
mod value;

pub mod daemon;
pub mod distributed;
pub mod logs;
pub mod remote;
pub mod schedule;

pub use entry::{Commit, Family, Key};
pub use value::StateValue;
pub use vigil_events::StoreError;

#[cfg(test)]
mod layout_tests;
