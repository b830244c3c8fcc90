//! vigil's event side: the event model, the kernel publishers that produce events, the counters
//! that account for every lost event, and the RocksDB store that keeps them.

pub mod codec;
pub mod counters;
pub mod es;
pub mod etw;
pub mod event_table;
pub mod file_filter;
pub mod fnv;
pub mod forwarder;
#[cfg(all(test, target_os = "linux"))]
mod fuzz_seeds;
pub mod in_flight;
pub mod model;
pub mod platform;
// Its owner-only directory serves the store alone.
#[cfg_attr(not(feature = "store"), allow(dead_code, unused_imports))]
mod private_files;
pub mod publisher;
#[cfg(feature = "store")]
pub mod store;
pub mod wall_clock;

#[cfg(target_os = "linux")]
pub mod linux;
#[cfg(target_os = "macos")]
pub mod macos;
#[cfg(windows)]
pub mod windows;

pub use counters::{Availability, CounterValues, Counters, Snapshot, TableCounters};
pub use event_table::{Event, EventTable};
pub use event_table::{
    audit::{AuditIds, AuditProcessEvent, AuditSocketEvent, UserEvent},
    file::{FileEvent, FileOperation},
    process::{ProcessAction, ProcessEvent},
    socket::{SocketEvent, SocketStatus},
};
pub use model::{Actor, StoredText, Syscall, Task};
pub use publisher::{
    AuditSettings, BATCH_EVENTS, DEFAULT_RINGBUF_BYTES, EsSettings, EventBatch, HandOver, Outlet,
    Publisher, PublisherError, Running, Settings, Stopping, event_channel,
};
#[cfg(feature = "store")]
pub use store::{EventStore, StoreError, TimeRange};
