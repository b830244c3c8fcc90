//! Which program goes on which tracepoint, grouped by what each group reports: generated from
//! the one syscall table (`vigil_ebpf_common::for_each_syscall!`), plus the two `sched` events.
//!
//! A [`Feature`] works only when every one of its attachments does (a syscall's entry half
//! without its exit half reports nothing), so a kernel that lacks a tracepoint, or rejects a
//! program, loses that feature and says so; the table keeps every other feature.

use vigil_ebpf_common::Family;

use super::decode::family_table;
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

const PROCESS_EXEC: Feature = Feature {
    table: family_table(Family::Process),
    name: "exec",
    attachments: &[Attachment {
        program: "vigil_sched_process_exec",
        category: "sched",
        tracepoint: "sched_process_exec",
        reads: Reads::ProcessExec,
    }],
};

const PROCESS_EXIT: Feature = Feature {
    table: family_table(Family::Process),
    name: "exit",
    attachments: &[Attachment {
        program: "vigil_sched_process_exit",
        category: "sched",
        tracepoint: "sched_process_exit",
        reads: Reads::ProcessExit,
    }],
};

/// Each syscall's entry program (reading its leading arguments) and its family's shared exit
/// program, from the one syscall table; then the `sched` events.
macro_rules! features {
    (
        ids { $($Other:ident = $other_id:literal, $other_name:ident;)* }
        syscalls {
            $($Variant:ident = $id:literal, $name:ident, $family:ident, $args:literal,
              $enter:ident, $exit:ident;)*
        }
    ) => {
        /// Every feature, in the order they are attached. A successful exec is reported by
        /// `sched_process_exec`; the execve/execveat pairs report failed ones and give
        /// successful ones their syscall and duration.
        pub const FEATURES: &[Feature] = &[
            $(Feature {
                table: family_table(Family::$family),
                name: stringify!($name),
                attachments: &[
                    Attachment {
                        program: stringify!($enter),
                        category: "syscalls",
                        tracepoint: concat!("sys_enter_", stringify!($name)),
                        reads: Reads::SyscallArgs($args),
                    },
                    Attachment {
                        program: stringify!($exit),
                        category: "syscalls",
                        tracepoint: concat!("sys_exit_", stringify!($name)),
                        reads: Reads::SyscallReturn,
                    },
                ],
            },)*
            PROCESS_EXEC,
            PROCESS_EXIT,
        ];
    };
}

vigil_ebpf_common::for_each_syscall!(features);

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
