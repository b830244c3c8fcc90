//! Linux publishers.

pub mod audit;
pub mod capabilities;
/// The boot clock of the eBPF records lives with them (`crate::event_table::ebpf`).
pub use crate::event_table::ebpf::clock;
pub mod ebpf;
pub mod mount;
pub mod proc_table;
