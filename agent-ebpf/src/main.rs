//! vigil's kernel probes: processes (exec, fork/clone, exit), sockets (connect, accept, bind,
//! listen), files (opens, creates, removes, renames, links, mode, owner and size changes) and
//! kernel modules (loads and unloads) and ptrace (attaching to and writing into processes).
//!
//! Only tracepoints are used: they load on every kernel vigil supports, including those where
//! kprobes, fentry and BPF LSM are unavailable. Kernel struct fields are read at offsets that
//! userspace resolved from the running kernel's BTF ([`KernelOffsets`]); tracepoint fields are read
//! at their `format` offsets, which are a stable ABI.
#![no_std]
#![no_main]

#[macro_use]
mod syscalls;

mod file;
mod kernel;
mod module;
mod path;
mod process;
mod ptrace;
mod socket;

/// Every program, under the name userspace attaches it by.
mod programs {
    pub(crate) use crate::{file::*, module::*, process::*, ptrace::*, socket::*};
}

macro_rules! programs_exist {
    (
        ids { $($Other:ident = $other_id:literal, $other_name:ident;)* }
        syscalls {
            $($Variant:ident = $id:literal, $name:ident, $family:ident, $args:literal,
              $enter:ident, $exit:ident;)*
        }
    ) => {
        // Every program the syscall table names is defined: a row without its program fails
        // the build.
        const _: () = {
            $(
                let _ = programs::$enter;
                let _ = programs::$exit;
            )*
        };
    };
}

vigil_ebpf_common::for_each_syscall!(programs_exist);

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    loop {}
}

// SAFETY: the kernel reads the program's license from this section and symbol; nothing else is
// placed in the section or has the name.
#[unsafe(link_section = "license")]
#[unsafe(no_mangle)]
static LICENSE: [u8; 13] = *b"Dual MIT/GPL\0";
