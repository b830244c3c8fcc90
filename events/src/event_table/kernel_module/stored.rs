//! How a kernel module event is stored.

use super::KernelModuleEvent;
use crate::{
    codec::{
        DecodeError,
        caller::{read_actor, write_actor},
        wire::{Reader, Writer},
    },
    model::Syscall,
};

const KERNEL_MODULE_EVENT_V1: u8 = 1;

pub fn encode_kernel_module_event(event: &KernelModuleEvent) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(
        96 + event.actor.cmdline.len() + event.module_path.len() + event.params.len(),
    ));
    w.0.push(KERNEL_MODULE_EVENT_V1);
    w.0.push(event.syscall.code());
    w.uint(event.time_ns);
    write_actor(&mut w, &event.actor);
    w.str(&event.name);
    w.str(&event.module_path);
    w.uint(event.size);
    w.str(&event.params);
    w.uint(event.flags.into());
    w.int(event.fd.into());
    w.int(event.result);
    w.uint(event.duration_ns);
    w.uint(event.probe_error.into());
    w.0
}

pub fn decode_kernel_module_event(bytes: &[u8]) -> Result<KernelModuleEvent, DecodeError> {
    let mut r = Reader(bytes);
    let version = r.byte()?;
    if version != KERNEL_MODULE_EVENT_V1 {
        return Err(DecodeError::Version(version));
    }
    let syscall = Syscall::from_code(r.byte()?).ok_or(DecodeError::Invalid("syscall"))?;
    let time_ns = r.uint()?;
    let actor = read_actor(&mut r)?;
    let event = KernelModuleEvent {
        syscall,
        time_ns,
        actor,
        name: r.str("name")?,
        module_path: r.str("module_path")?,
        size: r.uint()?,
        params: r.str("params")?,
        flags: r.u32("flags")?,
        fd: i32::try_from(r.int()?).map_err(|_| DecodeError::Invalid("fd"))?,
        result: r.int()?,
        duration_ns: r.uint()?,
        probe_error: r.u32("probe_error")?,
    };
    r.finish()?;
    Ok(event)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::event_table::socket::stored::tests::sample_socket_event;

    #[test]
    fn kernel_module_events_round_trip_and_reject_truncation() {
        let event = KernelModuleEvent {
            syscall: Syscall::FinitModule,
            time_ns: 11,
            actor: sample_socket_event(1).actor,
            name: String::new(),
            module_path: "/tmp/rootkit.ko".into(),
            size: 0,
            params: "hide=1".into(),
            flags: 2,
            fd: 4,
            result: -8,
            duration_ns: 1_500,
            probe_error: 0,
        };
        let bytes = encode_kernel_module_event(&event);
        assert_eq!(decode_kernel_module_event(&bytes), Ok(event));
        for len in 0..bytes.len() {
            assert!(
                decode_kernel_module_event(&bytes[..len]).is_err(),
                "prefix {len}"
            );
        }
    }
}
