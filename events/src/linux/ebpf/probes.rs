//! Which program goes on which tracepoint, grouped by what each group reports.
//!
//! A [`Feature`] works only when every one of its attachments does (a syscall's entry half
//! without its exit half reports nothing), so a kernel that lacks a tracepoint, or rejects a
//! program, loses that feature and says so; the table keeps every other feature.

use crate::event_table::EventTable;

/// What a program reads from its tracepoint's record: checked or located in the running kernel's
/// `format` before attaching.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reads {
    /// `syscalls:sys_enter_*`: this many arguments, each an 8-byte slot from offset 16.
    SyscallArgs(usize),
    /// `syscalls:sys_exit_*`: `long ret` at offset 16.
    SyscallReturn,
    /// `sched:sched_process_exec`: `filename` (`__data_loc`) and `old_pid`, wherever they are.
    ProcessExec,
    /// `sched:sched_process_exit`: `group_dead` where the kernel has it; a fallback where not.
    ProcessExit,
}

/// One program on one tracepoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attachment {
    pub program: &'static str,
    pub category: &'static str,
    pub tracepoint: &'static str,
    pub reads: Reads,
}

/// What one group of attachments reports: a syscall (entry and exit), or a `sched` event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Feature {
    pub table: EventTable,
    /// The syscall or event, as the status log and `vigil_events` name it.
    pub name: &'static str,
    pub attachments: &'static [Attachment],
}

/// A syscall's entry program (reading `$args` arguments) and its table's shared exit program.
macro_rules! syscall {
    ($table:ident, $name:literal, $enter:literal, $args:literal, $exit:literal) => {
        Feature {
            table: EventTable::$table,
            name: $name,
            attachments: &[
                Attachment {
                    program: $enter,
                    category: "syscalls",
                    tracepoint: concat!("sys_enter_", $name),
                    reads: Reads::SyscallArgs($args),
                },
                Attachment {
                    program: $exit,
                    category: "syscalls",
                    tracepoint: concat!("sys_exit_", $name),
                    reads: Reads::SyscallReturn,
                },
            ],
        }
    };
}

const PROCESS_EXEC: Feature = Feature {
    table: EventTable::BpfProcessEvents,
    name: "exec",
    attachments: &[Attachment {
        program: "vigil_sched_process_exec",
        category: "sched",
        tracepoint: "sched_process_exec",
        reads: Reads::ProcessExec,
    }],
};

const PROCESS_EXIT: Feature = Feature {
    table: EventTable::BpfProcessEvents,
    name: "exit",
    attachments: &[Attachment {
        program: "vigil_sched_process_exit",
        category: "sched",
        tracepoint: "sched_process_exit",
        reads: Reads::ProcessExit,
    }],
};

/// Every feature, in the order they are attached. The argument counts are how many leading
/// arguments each entry program reads (see `agent-ebpf`).
pub const FEATURES: &[Feature] = &[
    // Processes. A successful exec is reported by `sched_process_exec`; the execve/execveat
    // pairs report failed ones and give successful ones their syscall and duration.
    syscall!(
        BpfProcessEvents,
        "execve",
        "vigil_enter_execve",
        2,
        "vigil_exit_execve"
    ),
    syscall!(
        BpfProcessEvents,
        "execveat",
        "vigil_enter_execveat",
        3,
        "vigil_exit_execve"
    ),
    PROCESS_EXEC,
    syscall!(
        BpfProcessEvents,
        "clone",
        "vigil_enter_clone",
        1,
        "vigil_exit_clone"
    ),
    syscall!(
        BpfProcessEvents,
        "clone3",
        "vigil_enter_clone3",
        1,
        "vigil_exit_clone"
    ),
    syscall!(
        BpfProcessEvents,
        "fork",
        "vigil_enter_fork",
        0,
        "vigil_exit_clone"
    ),
    syscall!(
        BpfProcessEvents,
        "vfork",
        "vigil_enter_vfork",
        0,
        "vigil_exit_clone"
    ),
    PROCESS_EXIT,
    // Sockets.
    syscall!(
        BpfSocketEvents,
        "connect",
        "vigil_enter_connect",
        3,
        "vigil_exit_socket"
    ),
    syscall!(
        BpfSocketEvents,
        "accept",
        "vigil_enter_accept",
        3,
        "vigil_exit_socket"
    ),
    syscall!(
        BpfSocketEvents,
        "accept4",
        "vigil_enter_accept4",
        3,
        "vigil_exit_socket"
    ),
    syscall!(
        BpfSocketEvents,
        "bind",
        "vigil_enter_bind",
        3,
        "vigil_exit_socket"
    ),
    syscall!(
        BpfSocketEvents,
        "listen",
        "vigil_enter_listen",
        1,
        "vigil_exit_socket"
    ),
    // Files.
    syscall!(
        BpfFileEvents,
        "open",
        "vigil_enter_open",
        3,
        "vigil_exit_file"
    ),
    syscall!(
        BpfFileEvents,
        "openat",
        "vigil_enter_openat",
        4,
        "vigil_exit_file"
    ),
    syscall!(
        BpfFileEvents,
        "openat2",
        "vigil_enter_openat2",
        3,
        "vigil_exit_file"
    ),
    syscall!(
        BpfFileEvents,
        "creat",
        "vigil_enter_creat",
        2,
        "vigil_exit_file"
    ),
    syscall!(
        BpfFileEvents,
        "unlink",
        "vigil_enter_unlink",
        1,
        "vigil_exit_file"
    ),
    syscall!(
        BpfFileEvents,
        "unlinkat",
        "vigil_enter_unlinkat",
        3,
        "vigil_exit_file"
    ),
    syscall!(
        BpfFileEvents,
        "rmdir",
        "vigil_enter_rmdir",
        1,
        "vigil_exit_file"
    ),
    syscall!(
        BpfFileEvents,
        "rename",
        "vigil_enter_rename",
        2,
        "vigil_exit_file"
    ),
    syscall!(
        BpfFileEvents,
        "renameat",
        "vigil_enter_renameat",
        4,
        "vigil_exit_file"
    ),
    syscall!(
        BpfFileEvents,
        "renameat2",
        "vigil_enter_renameat2",
        5,
        "vigil_exit_file"
    ),
    syscall!(
        BpfFileEvents,
        "chmod",
        "vigil_enter_chmod",
        2,
        "vigil_exit_file"
    ),
    syscall!(
        BpfFileEvents,
        "fchmod",
        "vigil_enter_fchmod",
        2,
        "vigil_exit_file"
    ),
    syscall!(
        BpfFileEvents,
        "fchmodat",
        "vigil_enter_fchmodat",
        3,
        "vigil_exit_file"
    ),
    syscall!(
        BpfFileEvents,
        "fchmodat2",
        "vigil_enter_fchmodat2",
        4,
        "vigil_exit_file"
    ),
    syscall!(
        BpfFileEvents,
        "chown",
        "vigil_enter_chown",
        3,
        "vigil_exit_file"
    ),
    syscall!(
        BpfFileEvents,
        "lchown",
        "vigil_enter_lchown",
        3,
        "vigil_exit_file"
    ),
    syscall!(
        BpfFileEvents,
        "fchown",
        "vigil_enter_fchown",
        3,
        "vigil_exit_file"
    ),
    syscall!(
        BpfFileEvents,
        "fchownat",
        "vigil_enter_fchownat",
        5,
        "vigil_exit_file"
    ),
    syscall!(
        BpfFileEvents,
        "truncate",
        "vigil_enter_truncate",
        2,
        "vigil_exit_file"
    ),
    syscall!(
        BpfFileEvents,
        "ftruncate",
        "vigil_enter_ftruncate",
        2,
        "vigil_exit_file"
    ),
    syscall!(
        BpfFileEvents,
        "link",
        "vigil_enter_link",
        2,
        "vigil_exit_file"
    ),
    syscall!(
        BpfFileEvents,
        "linkat",
        "vigil_enter_linkat",
        5,
        "vigil_exit_file"
    ),
    syscall!(
        BpfFileEvents,
        "symlink",
        "vigil_enter_symlink",
        2,
        "vigil_exit_file"
    ),
    syscall!(
        BpfFileEvents,
        "symlinkat",
        "vigil_enter_symlinkat",
        3,
        "vigil_exit_file"
    ),
    syscall!(
        BpfFileEvents,
        "mkdir",
        "vigil_enter_mkdir",
        2,
        "vigil_exit_file"
    ),
    syscall!(
        BpfFileEvents,
        "mkdirat",
        "vigil_enter_mkdirat",
        3,
        "vigil_exit_file"
    ),
];

/// Every program in [`FEATURES`], once each, in order of first use.
pub fn programs() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = Vec::new();
    for attachment in FEATURES.iter().flat_map(|f| f.attachments) {
        if !names.contains(&attachment.program) {
            names.push(attachment.program);
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_syscall_pairs_an_entry_with_its_exit_and_programs_are_listed_once() {
        for feature in FEATURES {
            for attachment in feature.attachments {
                assert!(
                    attachment.tracepoint.ends_with(feature.name),
                    "{} on {}",
                    feature.name,
                    attachment.tracepoint
                );
            }
        }
        let programs = programs();
        assert_eq!(programs.len(), 43);
        assert_eq!(
            programs.iter().filter(|p| **p == "vigil_exit_file").count(),
            1
        );
    }
}
