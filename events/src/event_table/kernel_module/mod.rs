//! `bpf_kernel_module_events`: kernel module loads and unloads, from the eBPF publisher's
//! module records.

#[cfg(target_os = "linux")]
pub(crate) mod ebpf;
pub(crate) mod stored;

pub use stored::{decode_kernel_module_event, encode_kernel_module_event};

use super::TableEvent;
use crate::{
    codec::DecodeError,
    model::{Actor, Syscall},
};

/// One kernel module call: a load (`init_module` from memory, `finit_module` from a file) or
/// an unload (`delete_module`), successful or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelModuleEvent {
    pub syscall: Syscall,
    pub time_ns: u64,
    pub actor: Actor,
    /// delete_module: the module's name as the caller gave it. Empty for loads: their name is
    /// inside the image, which the kernel side does not parse.
    pub name: String,
    /// finit_module: the module file, walked in the kernel from the descriptor (leaf side only,
    /// without a leading `/`, when the walk could not reach the root); empty otherwise.
    pub module_path: String,
    /// init_module: the image's size in bytes; 0 for the others.
    pub size: u64,
    /// init_module, finit_module: the parameters as given (empty when none or unreadable).
    pub params: String,
    /// finit_module's and delete_module's flags.
    pub flags: u32,
    /// finit_module: the module file's descriptor; -1 for the others.
    pub fd: i32,
    /// The syscall's return value: 0, or -errno.
    pub result: i64,
    pub duration_ns: u64,
    pub probe_error: u32,
}

impl TableEvent for KernelModuleEvent {
    fn time_ns(&self) -> u64 {
        self.time_ns
    }

    fn actor_mut(&mut self) -> Option<&mut Actor> {
        Some(&mut self.actor)
    }

    fn encode(&self) -> Vec<u8> {
        stored::encode_kernel_module_event(self)
    }

    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        stored::decode_kernel_module_event(bytes)
    }
}
