//! The kernel side of the one syscall table (`vigil_ebpf_common::for_each_syscall!`): the
//! syscall id of each entry program, by the program's name. Userspace attaches programs by
//! those names, to the tracepoints the table gives; a program's own attribute names no
//! tracepoint.

macro_rules! entry_syscalls {
    (
        ids { $($Other:ident = $other_id:literal, $other_name:ident;)* }
        syscalls {
            $($Variant:ident = $id:literal, $name:ident, $family:ident, $args:literal,
              $enter:ident, $exit:ident;)*
        }
    ) => {
        /// The syscall each entry program reports, under the program's name.
        #[allow(non_upper_case_globals)]
        pub(crate) mod entry {
            use vigil_ebpf_common::SyscallId;
            $(pub(crate) const $enter: SyscallId = SyscallId::$Variant;)*
        }

    };
}

vigil_ebpf_common::for_each_syscall!(entry_syscalls);

/// Defines the entry program `$name` (a `syscalls:sys_enter_*` tracepoint program), with
/// `$syscall` bound to its syscall's id from the table.
macro_rules! entry_program {
    ($(#[$meta:meta])* $name:ident($ctx:ident, $syscall:ident) $body:block) => {
        $(#[$meta])*
        #[aya_ebpf::macros::tracepoint]
        pub fn $name($ctx: aya_ebpf::programs::TracePointContext) -> u32 {
            let $syscall = crate::syscalls::entry::$name;
            $body
        }
    };
}
