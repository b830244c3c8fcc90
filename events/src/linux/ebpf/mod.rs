//! The eBPF process publisher: loads vigil's tracepoint programs, reads their ring buffer and
//! turns records into [`ProcessEvent`](crate::ProcessEvent)s.

pub mod attach;
pub mod btf;
pub mod decode;
pub mod layout;
pub mod offsets;
pub mod pins;
pub mod probes;
mod publisher;
pub mod tracepoint_format;

pub use attach::ProgramReport;
pub use publisher::{Detaching, EbpfConfig, EbpfPublisher, PublisherError};
