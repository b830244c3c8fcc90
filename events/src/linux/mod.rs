//! Linux publishers.

pub mod clock;
pub mod ebpf;
pub mod proc_table;
