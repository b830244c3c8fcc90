//! Evented tables: rows read from the event store, newest history included.

pub mod bpf_process_events;
mod pages;

pub use pages::StoredPages;
