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

/// Makes the eBPF loader now, while this process is small (see `prepare_loader`): aya parses
/// the kernel's BTF when a loader is made, about 20 MB for a moment.
#[cfg(target_os = "linux")]
pub fn prepare() {
    vigil_events::linux::ebpf::prepare_loader(KERNEL_OBJECTS.ebpf);
}
#[cfg(not(target_os = "linux"))]
pub fn prepare() {}

/// This platform's publishers, with the objects they load.
pub fn publishers() -> Vec<Box<dyn Publisher>> {
    platform::publishers(KERNEL_OBJECTS)
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::KERNEL_OBJECTS;

    /// The worker's early loader holds no kernel BTF only while the object has no CO-RE
    /// relocations (see `prepare_loader`).
    #[test]
    fn the_embedded_object_needs_no_kernel_btf() {
        assert!(!vigil_events::linux::ebpf::needs_kernel_btf(
            KERNEL_OBJECTS.ebpf
        ));
    }

    /// compiler-builtins' memset stores one byte per loop step: called, every zeroed record and
    /// pending entry paid five instructions a byte (see agent-ebpf/build.rs).
    #[test]
    fn the_embedded_object_zeroes_memory_inline() {
        use object::{Object as _, ObjectSection as _, ObjectSymbol as _};
        let elf = object::File::parse(KERNEL_OBJECTS.ebpf).expect("the object parses");
        let mut calls = 0;
        for section in elf.sections() {
            for (_, relocation) in section.relocations() {
                let object::RelocationTarget::Symbol(index) = relocation.target() else {
                    continue;
                };
                let name = elf
                    .symbol_by_index(index)
                    .and_then(|s| s.name())
                    .unwrap_or("");
                if name == "memset" {
                    calls += 1;
                }
            }
        }
        assert_eq!(calls, 0, "the programs call memset");
    }
}
