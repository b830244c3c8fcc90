//! ptrace records: one per reported request.

use vigil_ebpf_common::{PtraceRecord, RecordKind};

use super::PtraceEvent;
use crate::event_table::ebpf::{EbpfKind, RecordError, actor, clock::BootClock, read, syscall};

pub(super) fn decode_ptrace(bytes: &[u8], clock: &BootClock) -> Result<PtraceEvent, RecordError> {
    let r: PtraceRecord = read(bytes)?;
    let h = &r.header;
    Ok(PtraceEvent {
        syscall: syscall(h.syscall),
        time_ns: clock.wall_ns(h.boot_ns),
        actor: actor(h),
        request: r.request,
        target_pid: r.target_pid,
        addr: r.addr,
        data: r.data,
        result: r.result,
        duration_ns: r.duration_ns,
        probe_error: h.probe_error,
    })
}

impl EbpfKind for PtraceEvent {
    const WITHOUT_BTF: &'static str = "parent and effective ids";

    fn decode(_kind: RecordKind, bytes: &[u8], clock: &BootClock) -> Result<Self, RecordError> {
        decode_ptrace(bytes, clock)
    }
}

#[cfg(test)]
mod tests {
    use vigil_ebpf_common::{RecordKind, SyscallId, ptrace_request};

    use super::*;
    use crate::event_table::ebpf::test_records::*;
    use crate::{
        event_table::{Event, ebpf::decode_record},
        model::Syscall,
    };

    fn ptrace_bytes(request: u64, target_pid: i32, result: i64) -> Vec<u8> {
        as_bytes(&PtraceRecord {
            header: header(RecordKind::Ptrace, SyscallId::Ptrace),
            result,
            duration_ns: 7,
            request,
            addr: 0x1000,
            data: 0x90,
            target_pid,
            _pad: 0,
        })
    }

    fn decode(bytes: &[u8]) -> PtraceEvent {
        match decode_record(bytes, &BootClock::with_offset(0)) {
            Ok(Event::Ptrace(event)) => event,
            other => panic!("a ptrace record decodes to a ptrace event: {other:?}"),
        }
    }

    #[test]
    fn a_poke_reports_its_target_address_word_and_result() {
        let e = decode(&ptrace_bytes(ptrace_request::POKEDATA, 4321, -3));
        assert_eq!(e.syscall, Syscall::Ptrace);
        assert_eq!(e.request_name(), "PTRACE_POKEDATA");
        assert_eq!(
            (e.target_pid, e.addr, e.data, e.result),
            (4321, 0x1000, 0x90, -3)
        );
        assert_eq!(e.actor.task.comm, "true");
    }

    #[test]
    fn a_short_ptrace_record_is_an_error() {
        let mut bytes = ptrace_bytes(ptrace_request::ATTACH, 1, 0);
        bytes.truncate(bytes.len() - 1);
        assert!(decode_record(&bytes, &BootClock::with_offset(0)).is_err());
    }
}
