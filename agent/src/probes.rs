//! The kernel objects the build script compiled, embedded so the binary is self-contained, and
//! the publishers that load them.

use vigil_events::{Publisher, platform};

/// vigil's process probes (agent-ebpf), an eBPF ELF object.
pub static PROCESS_PROBES: &[u8] =
    aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/vigil-process"));

/// This platform's publishers, with the objects they load.
pub fn publishers() -> Vec<Box<dyn Publisher>> {
    platform::publishers(platform::KernelObjects {
        ebpf: PROCESS_PROBES,
    })
}
