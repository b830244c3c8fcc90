//! `bpf_ptrace_events`: ptrace requests that attach to or write into another process, from the
//! eBPF publisher's ptrace records.

#[cfg(target_os = "linux")]
pub(crate) mod ebpf;
pub(crate) mod stored;

pub use stored::{decode_ptrace_event, encode_ptrace_event};

use super::TableEvent;
use crate::{
    codec::DecodeError,
    model::{Actor, Syscall},
};

/// One ptrace call whose request takes hold of another process (attach, seize) or changes it
/// (pokes, register, option and signal writes), successful or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PtraceEvent {
    pub syscall: Syscall,
    pub time_ns: u64,
    /// The tracer.
    pub actor: Actor,
    /// The request's number (see [`PtraceEvent::request_name`]).
    pub request: u64,
    /// The target's pid as the caller gave it.
    pub target_pid: i32,
    /// The `addr` and `data` arguments as given: for the pokes, the address written and the
    /// word written there.
    pub addr: u64,
    pub data: u64,
    /// The syscall's return value: 0, or -errno.
    pub result: i64,
    pub duration_ns: u64,
    pub probe_error: u32,
}

impl PtraceEvent {
    /// The request's name as `<sys/ptrace.h>` spells it, or its number for one vigil does not
    /// name.
    pub fn request_name(&self) -> String {
        vigil_ebpf_common::ptrace_request::NAMES
            .iter()
            .find(|(number, _)| *number == self.request)
            .map_or_else(|| self.request.to_string(), |(_, name)| (*name).to_owned())
    }
}

impl TableEvent for PtraceEvent {
    fn time_ns(&self) -> u64 {
        self.time_ns
    }

    fn actor_mut(&mut self) -> Option<&mut Actor> {
        Some(&mut self.actor)
    }

    fn encode(&self) -> Vec<u8> {
        stored::encode_ptrace_event(self)
    }

    fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
        stored::decode_ptrace_event(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_named_as_sys_ptrace_h_spells_them_and_others_by_number() {
        let mut event = stored::tests::sample_ptrace_event();
        event.request = 0x4206;
        assert_eq!(event.request_name(), "PTRACE_SEIZE");
        event.request = 5;
        assert_eq!(event.request_name(), "PTRACE_POKEDATA");
        event.request = 12;
        assert_eq!(event.request_name(), "12");
    }
}
