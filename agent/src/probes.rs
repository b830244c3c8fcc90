//! The kernel objects the build script compiled, embedded so the binary is self-contained, and
//! the publishers that load them.

use vigil_events::{Publisher, platform};

/// vigil's eBPF programs (agent-ebpf), an ELF object the build script made for Linux only.
#[cfg(target_os = "linux")]
static KERNEL_OBJECTS: platform::KernelObjects = platform::KernelObjects {
    ebpf: aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/vigil-process")),
};
#[cfg(not(target_os = "linux"))]
static KERNEL_OBJECTS: platform::KernelObjects = platform::KernelObjects {};

/// This platform's publishers, with the objects they load.
pub fn publishers() -> Vec<Box<dyn Publisher>> {
    platform::publishers(KERNEL_OBJECTS)
}
