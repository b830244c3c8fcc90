//! The eBPF publisher's kernel records: what every record shares (its header, slots in its data
//! area, paths), and the dispatch from a record to its kind's decoder (each kind's `ebpf.rs`,
//! beside its model). Pure functions over bytes: no kernel needed to test them, and a malformed
//! record is an error value, never a panic.
//!
//! This is where a kernel record meets an event table: [`family_table`] says which table each
//! record family feeds, and [`decode_record`] which decoder reads each record kind; both are
//! made from the tables' list (`for_each_table!`, in `crate::event_table`).

use std::mem::size_of;

use vigil_ebpf_common::{Family, PathSlot, RecordHeader, RecordKind};

use self::clock::BootClock;
use super::{Event, EventTable};
use crate::model::{Actor, Syscall, Task};

pub mod clock;
pub(crate) mod paths;
#[cfg(test)]
pub(crate) mod test_records;

pub use paths::join_name;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RecordError {
    #[error("record of {0} bytes is shorter than its header")]
    Short(usize),
    #[error("unknown record kind {0}")]
    Kind(u32),
    #[error("record slot `{0}` points outside the record")]
    Slot(&'static str),
}

/// What a kind of event fed from eBPF records has to give: what its events lack without BTF,
/// and its decoder.
pub trait EbpfKind: Sized {
    /// What events of the kind lack when the kernel's struct offsets are unknown (no BTF).
    const WITHOUT_BTF: &'static str;
    /// Decodes one record of the kind's family (`kind.family()` is the kind's).
    fn decode(kind: RecordKind, bytes: &[u8], clock: &BootClock) -> Result<Self, RecordError>;
}

/// Makes, from the `ebpf(Family)` rows of `for_each_table!`'s list, the family-to-table map and
/// the record dispatch. A family the list leaves out is a compile error (the matches are
/// exhaustive).
macro_rules! ebpf_tables {
    ($($(#[$cfg:meta])* $Table:ident => $name:literal, $Variant:ident($Type:ty) $(, ebpf($Family:ident))?;)*) => {
        /// The event table each record family feeds.
        pub const fn family_table(family: Family) -> EventTable {
            match family {
                $($(Family::$Family => EventTable::$Table,)?)*
            }
        }

        /// What events of a family lack when the kernel's struct offsets are unknown (no BTF).
        pub const fn without_btf(family: Family) -> &'static str {
            match family {
                $($(Family::$Family => <$Type as EbpfKind>::WITHOUT_BTF,)?)*
            }
        }

        /// Every family, each once.
        pub const FAMILIES: &[Family] = &[$($(Family::$Family,)?)*];

        fn decode_kind(
            kind: RecordKind,
            bytes: &[u8],
            clock: &BootClock,
        ) -> Result<Event, RecordError> {
            match kind.family() {
                $($(Family::$Family => {
                    <$Type as EbpfKind>::decode(kind, bytes, clock).map(Event::$Variant)
                })?)*
            }
        }
    };
}

for_each_table!(ebpf_tables);

/// Decodes one ring buffer record.
pub fn decode_record(bytes: &[u8], clock: &BootClock) -> Result<Event, RecordError> {
    let header: RecordHeader = read(bytes)?;
    match RecordKind::from_u32(header.kind) {
        Some(kind) => decode_kind(kind, bytes, clock),
        None => Err(RecordError::Kind(header.kind)),
    }
}

/// The table a record belongs to, from its header alone (to count a record that fails to decode
/// against the right table; one whose kind is unknown counts against the first family's).
pub fn record_table(bytes: &[u8]) -> EventTable {
    let family = read::<RecordHeader>(bytes)
        .ok()
        .and_then(|h| RecordKind::from_u32(h.kind))
        .map_or(FAMILIES[0], RecordKind::family);
    family_table(family)
}

pub(crate) fn read<T: Copy>(bytes: &[u8]) -> Result<T, RecordError> {
    if bytes.len() < size_of::<T>() {
        return Err(RecordError::Short(bytes.len()));
    }
    // SAFETY: the length is checked above; the record types are plain integers valid for any bit
    // pattern, and `read_unaligned` has no alignment requirement.
    Ok(unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast::<T>()) })
}

/// The kernel side's syscall ids and the model's codes are the same numbers: both come from the
/// one syscall table.
pub(crate) fn syscall(id: u32) -> Syscall {
    u8::try_from(id)
        .ok()
        .and_then(Syscall::from_code)
        .unwrap_or(Syscall::Unknown)
}

pub(crate) fn text(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

pub(crate) fn slot<'a>(
    data: &'a [u8],
    slot: &PathSlot,
    name: &'static str,
) -> Result<&'a [u8], RecordError> {
    let start = slot.offset as usize;
    let end = start
        .checked_add(slot.len as usize)
        .ok_or(RecordError::Slot(name))?;
    data.get(start..end).ok_or(RecordError::Slot(name))
}

/// The data area after a record's fixed part, `len` bytes long.
pub(crate) fn data_area<T>(bytes: &[u8], len: u32) -> Result<&[u8], RecordError> {
    bytes
        .get(size_of::<T>()..)
        .and_then(|data| data.get(..len as usize))
        .ok_or(RecordError::Slot("data"))
}

/// The calling task, from a record's header.
pub(crate) fn task(h: &RecordHeader) -> Task {
    Task {
        pid: h.pid,
        tid: h.tid,
        parent: h.ppid,
        uid: h.uid,
        gid: h.gid,
        euid: h.euid,
        egid: h.egid,
        cgroup_id: h.cgroup_id,
        comm: text(&h.comm),
    }
}

pub(crate) fn actor(h: &RecordHeader) -> Actor {
    Actor {
        task: task(h),
        path: String::new(),
        cmdline: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use vigil_ebpf_common::{RecordKind, SyscallId};

    use super::{test_records::*, *};

    #[test]
    fn malformed_records_are_errors() {
        let clock = BootClock::with_offset(0);
        assert_eq!(
            decode_record(&[1, 2, 3], &clock),
            Err(RecordError::Short(3))
        );
        let mut bad = as_bytes(&header(RecordKind::Exit, SyscallId::Exit));
        bad[0] = 99;
        bad.extend_from_slice(&[0; 8]);
        assert_eq!(decode_record(&bad, &clock), Err(RecordError::Kind(99)));
        // An exec whose slots point past its data.
        let mut bytes = exec_bytes(b"a\0", 2, b"a\0", b"a\0", b"b\0");
        bytes.truncate(bytes.len() - 3);
        assert!(decode_record(&bytes, &clock).is_err());
        // Every prefix of a valid record fails cleanly.
        let full = exec_bytes(b"a\0", 2, b"a\0", b"a\0", b"b\0");
        for len in 0..full.len() {
            assert!(decode_record(&full[..len], &clock).is_err(), "prefix {len}");
        }
    }

    #[test]
    fn kernel_syscall_ids_and_model_codes_agree() {
        for id in 0..64u32 {
            let kernel = SyscallId::from_u32(id);
            let model = syscall(id);
            assert_eq!(
                kernel as u32,
                u32::from(model.code()),
                "id {id}: {kernel:?} vs {model:?}"
            );
            assert_eq!(kernel.name(), model.as_str());
        }
        assert_eq!(SyscallId::ALL.len(), Syscall::ALL.len());
    }

    #[test]
    fn every_family_feeds_its_own_table_and_every_record_kind_has_one() {
        let tables: Vec<EventTable> = FAMILIES.iter().map(|f| family_table(*f)).collect();
        for (i, table) in tables.iter().enumerate() {
            assert!(!tables[..i].contains(table), "{table:?} fed twice");
        }
        let kinds: Vec<RecordKind> = (0..256).filter_map(RecordKind::from_u32).collect();
        assert!(!kinds.is_empty());
        for kind in kinds {
            assert!(FAMILIES.contains(&kind.family()), "{kind:?}");
        }
    }
}
