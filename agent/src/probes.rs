//! The eBPF object the build script compiled, embedded so the binary is self-contained.

/// vigil's process probes (agent-ebpf), an eBPF ELF object.
pub static PROCESS_PROBES: &[u8] =
    aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/vigil-process"));
