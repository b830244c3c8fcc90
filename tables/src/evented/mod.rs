//! Evented tables: rows read from the event store, newest history included.

pub mod bpf_file_events;
pub mod bpf_process_events;
pub mod bpf_socket_events;
mod pages;
pub mod scope;
mod stored;

pub use pages::StoredPages;
pub use scope::{Cursor, QueryScope, ScopeOutcome};
pub use stored::{RowDecoder, StoredTable};
