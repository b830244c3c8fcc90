//! The eBPF process publisher: loads vigil's tracepoint programs, reads their ring buffer and
//! turns records into [`ProcessEvent`](crate::ProcessEvent)s.

pub mod btf;
pub mod decode;
pub mod offsets;
pub mod pins;
mod publisher;

pub use publisher::{Detaching, EbpfConfig, EbpfPublisher, PublisherError};
