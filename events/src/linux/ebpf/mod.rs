//! The eBPF publisher: loads vigil's tracepoint programs, reads their ring buffer and turns
//! records into events of the `bpf_*` tables.

pub mod attach;
pub mod btf;
mod config;
mod dir_filter;
mod handover;
mod host;
pub mod layout;
pub mod offsets;
pub mod pins;
pub mod probes;
mod publisher;
mod reader;
mod source;
pub mod tracepoint_format;

/// The records' decoders live with their event kinds (`crate::event_table`); the reader, the
/// host checks and the fuzz targets reach them by this path.
pub use crate::event_table::ebpf as decode;
pub use attach::ProgramReport;
pub use config::EbpfError;
pub use handover::pin_directory;
pub use publisher::{EbpfProbes, EbpfPublisher, needs_kernel_btf, prepare_loader};
pub use source::SOURCE;
