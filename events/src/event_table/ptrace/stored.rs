//! How a ptrace event is stored.

use super::PtraceEvent;
use crate::{
    codec::{
        DecodeError,
        caller::{read_actor, write_actor},
        wire::{Reader, Writer},
    },
    model::Syscall,
};

const PTRACE_EVENT_V1: u8 = 1;

pub fn encode_ptrace_event(event: &PtraceEvent) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(96 + event.actor.cmdline.len()));
    w.0.push(PTRACE_EVENT_V1);
    w.0.push(event.syscall.code());
    w.uint(event.time_ns);
    write_actor(&mut w, &event.actor);
    w.uint(event.request);
    w.int(event.target_pid.into());
    w.uint(event.addr);
    w.uint(event.data);
    w.int(event.result);
    w.uint(event.duration_ns);
    w.uint(event.probe_error.into());
    w.0
}

pub fn decode_ptrace_event(bytes: &[u8]) -> Result<PtraceEvent, DecodeError> {
    let mut r = Reader(bytes);
    let version = r.byte()?;
    if version != PTRACE_EVENT_V1 {
        return Err(DecodeError::Version(version));
    }
    let syscall = Syscall::from_code(r.byte()?).ok_or(DecodeError::Invalid("syscall"))?;
    let time_ns = r.uint()?;
    let actor = read_actor(&mut r)?;
    let event = PtraceEvent {
        syscall,
        time_ns,
        actor,
        request: r.uint()?,
        target_pid: i32::try_from(r.int()?).map_err(|_| DecodeError::Invalid("target_pid"))?,
        addr: r.uint()?,
        data: r.uint()?,
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

    pub(crate) fn sample_ptrace_event() -> PtraceEvent {
        PtraceEvent {
            syscall: Syscall::Ptrace,
            time_ns: 12,
            actor: sample_socket_event(1).actor,
            request: 5,
            target_pid: 4321,
            addr: 0x7fff_0000_1000,
            data: 0xcc,
            result: -3,
            duration_ns: 900,
            probe_error: 0,
        }
    }

    #[test]
    fn ptrace_events_round_trip_and_reject_truncation() {
        let event = sample_ptrace_event();
        let bytes = encode_ptrace_event(&event);
        assert_eq!(decode_ptrace_event(&bytes), Ok(event));
        for len in 0..bytes.len() {
            assert!(decode_ptrace_event(&bytes[..len]).is_err(), "prefix {len}");
        }
    }
}
