//! Kernel module records: loads (init_module, finit_module) and unloads (delete_module).

use vigil_ebpf_common::{ModuleRecord, PathSlot, RecordKind, path_flags};

use super::KernelModuleEvent;
use crate::event_table::ebpf::{
    EbpfKind, RecordError, actor, clock::BootClock, data_area, paths::walked_path, read, slot,
    syscall, text,
};

/// A string slot's text: empty when the call had none or it could not be read.
fn string(data: &[u8], slot_of: &PathSlot, name: &'static str) -> Result<String, RecordError> {
    Ok(text(slot(data, slot_of, name)?))
}

pub(super) fn decode_module(
    bytes: &[u8],
    clock: &BootClock,
) -> Result<KernelModuleEvent, RecordError> {
    let r: ModuleRecord = read(bytes)?;
    let data = data_area::<ModuleRecord>(bytes, r.data_len)?;
    let h = &r.header;
    // Walked only for finit_module, and only when its descriptor had a file: an empty,
    // never-walked slot is no path (a walk that reached the root at once is `/`).
    let walked = r.file.flags & (path_flags::COMPLETE | path_flags::TRUNCATED) != 0;
    let module_path = if walked {
        walked_path(slot(data, &r.file, "file")?, r.file.flags).0
    } else {
        String::new()
    };
    Ok(KernelModuleEvent {
        syscall: syscall(h.syscall),
        time_ns: clock.wall_ns(h.boot_ns),
        actor: actor(h),
        name: string(data, &r.name, "name")?,
        module_path,
        size: r.image_len,
        params: string(data, &r.params, "params")?,
        flags: r.flags,
        fd: r.fd,
        result: r.result,
        duration_ns: r.duration_ns,
        probe_error: h.probe_error,
    })
}

impl EbpfKind for KernelModuleEvent {
    const WITHOUT_BTF: &'static str = "parent, effective ids and the module file's path";

    fn decode(_kind: RecordKind, bytes: &[u8], clock: &BootClock) -> Result<Self, RecordError> {
        decode_module(bytes, clock)
    }
}

#[cfg(test)]
mod tests {
    use vigil_ebpf_common::{RecordKind, SyscallId};

    use super::*;
    use crate::event_table::ebpf::test_records::*;
    use crate::{
        event_table::{Event, ebpf::decode_record},
        model::Syscall,
    };

    /// A module record as the kernel sends it: `fill` sets its fields and puts its slots' bytes
    /// in its data area.
    fn module_bytes(
        syscall: SyscallId,
        result: i64,
        fill: impl FnOnce(&mut ModuleRecord, &mut Vec<u8>),
    ) -> Vec<u8> {
        let mut data = Vec::new();
        let mut record = ModuleRecord {
            header: header(RecordKind::Module, syscall),
            result,
            duration_ns: 7,
            fd: -1,
            ..ModuleRecord::default()
        };
        fill(&mut record, &mut data);
        record.data_len = data.len() as u32;
        let mut bytes = as_bytes(&record);
        bytes.extend_from_slice(&data);
        bytes
    }

    fn put(data: &mut Vec<u8>, bytes: &[u8], flags: u32) -> PathSlot {
        let slot = PathSlot {
            offset: data.len() as u32,
            len: bytes.len() as u32,
            flags,
            components: 0,
        };
        data.extend_from_slice(bytes);
        slot
    }

    fn decode(bytes: &[u8]) -> KernelModuleEvent {
        match decode_record(bytes, &BootClock::with_offset(0)) {
            Ok(Event::KernelModule(event)) => event,
            other => panic!("a module record decodes to a module event: {other:?}"),
        }
    }

    #[test]
    fn a_finit_module_reports_the_file_walked_from_its_fd_and_its_params() {
        let bytes = module_bytes(SyscallId::FinitModule, -8, |r, data| {
            r.fd = 3;
            r.flags = 2;
            r.file = put(data, b"evil.ko\0tmp\0", path_flags::COMPLETE);
            r.params = put(data, b"hide=1 port=31337\0", path_flags::COMPLETE);
        });
        let e = decode(&bytes);
        assert_eq!(e.syscall, Syscall::FinitModule);
        assert_eq!(e.module_path, "/tmp/evil.ko");
        assert_eq!(e.params, "hide=1 port=31337");
        assert_eq!((e.fd, e.flags, e.result), (3, 2, -8));
        assert_eq!(e.name, "");
        assert_eq!(e.actor.task.comm, "true");
    }

    #[test]
    fn a_delete_module_reports_the_name_and_an_init_module_the_image_size() {
        let delete = decode(&module_bytes(SyscallId::DeleteModule, -2, |r, data| {
            r.flags = 0o4000;
            r.name = put(data, b"vigil_no_such_module\0", path_flags::COMPLETE);
        }));
        assert_eq!(delete.name, "vigil_no_such_module");
        assert_eq!((delete.module_path.as_str(), delete.result), ("", -2));

        let init = decode(&module_bytes(SyscallId::InitModule, 0, |r, data| {
            r.image_len = 123_456;
            r.params = put(data, b"\0", path_flags::COMPLETE);
        }));
        assert_eq!((init.size, init.params.as_str()), (123_456, ""));
        assert_eq!(init.module_path, "");
    }

    #[test]
    fn an_unreadable_or_unfinished_file_walk_is_not_made_a_path() {
        let unreadable = decode(&module_bytes(SyscallId::FinitModule, -9, |r, _| {
            r.fd = 99;
            r.file.flags = path_flags::UNREADABLE;
        }));
        assert_eq!(unreadable.module_path, "");
        let partial = decode(&module_bytes(SyscallId::FinitModule, 0, |r, data| {
            r.fd = 3;
            r.file = put(data, b"x.ko\0d255\0", path_flags::TRUNCATED);
        }));
        assert_eq!(partial.module_path, "d255/x.ko");
    }

    #[test]
    fn slots_outside_the_data_area_are_errors() {
        let mut bytes = module_bytes(SyscallId::DeleteModule, 0, |r, data| {
            r.name = put(data, b"crc7\0", path_flags::COMPLETE);
        });
        bytes.truncate(bytes.len() - 2);
        assert!(decode_record(&bytes, &BootClock::with_offset(0)).is_err());
    }
}
