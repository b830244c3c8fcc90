//! Linux publishers.

pub mod audit;
pub mod capabilities;
pub mod clock;
pub mod ebpf;
pub mod mount;
pub mod proc_table;
