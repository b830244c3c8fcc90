//! What the host allows and has: the capabilities to load programs, tracefs (tracepoints are
//! attached by the ids it gives), the locked-memory limit, and the kernel's BTF (the struct
//! offsets the programs read at).

use vigil_ebpf_common::{KernelOffsets, SocketOffsets};

use super::{
    btf::Btf,
    config::EbpfError,
    decode::{FAMILIES, family_table, without_btf},
    offsets,
};
use crate::{event_table::EventTable, linux::capabilities};

pub(super) const TRACEFS: &str = "/sys/kernel/tracing";

/// Whether programs can be loaded here at all: capabilities, tracefs (mounted when missing, and
/// readable), and no locked-memory limit in the way.
pub(super) fn check() -> Result<(), EbpfError> {
    let effective = capabilities::effective();
    let missing = capabilities::missing_to_load(effective);
    if !missing.is_empty() {
        return Err(EbpfError::Permission {
            missing: capabilities::names(&missing),
        });
    }
    ensure_tracefs()?;
    if capabilities::missing(effective, &[capabilities::CAP_SYS_PTRACE]).len() == 1 {
        tracing::warn!(
            "this process lacks CAP_SYS_PTRACE: /proc hides the executable and working \
             directory of other users' processes, so events of those that started before vigil \
             come without them (grant CAP_SYS_PTRACE, or run vigil as root)"
        );
    }
    raise_memlock_limit();
    Ok(())
}

/// Tracepoints are attached by id, read from tracefs: mount it if a fresh machine has not. Its
/// directory is root's alone: another user reads it with CAP_DAC_READ_SEARCH.
fn ensure_tracefs() -> Result<(), EbpfError> {
    let events = std::path::Path::new(TRACEFS).join("events");
    match std::fs::metadata(&events) {
        Ok(_) => return Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::PermissionDenied => {
            return Err(EbpfError::TracefsUnreadable {
                path: TRACEFS,
                missing: match capabilities::missing(
                    capabilities::effective(),
                    &[capabilities::CAP_DAC_READ_SEARCH],
                )
                .as_slice()
                {
                    [] => "no capability (something else denies it)".to_owned(),
                    missing => capabilities::names(missing),
                },
            });
        }
        Err(_) => {}
    }
    crate::linux::mount::mount_pseudo_fs(c"tracefs", c"/sys/kernel/tracing").map_err(|error| {
        EbpfError::Tracefs {
            path: TRACEFS,
            error,
        }
    })
}

fn raise_memlock_limit() {
    let unlimited = libc::rlimit {
        rlim_cur: libc::RLIM_INFINITY,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: a valid rlimit for the duration of the call. Failure only matters on kernels before
    // 5.11 (memcg accounting), where loading then reports its own error.
    unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &unlimited) };
}

/// What the running kernel's BTF says of its structs: where the programs read, or, without
/// it, what each table loses.
pub(super) struct KernelTypes {
    /// The parsed BTF: tens of megabytes, kept only until the tracepoint layout is planned.
    pub btf: Option<Btf>,
    pub offsets: KernelOffsets,
    pub socket_offsets: SocketOffsets,
    /// What tables lack because of this kernel's types.
    pub notes: Vec<(EventTable, String)>,
}

impl KernelTypes {
    /// Reads the kernel's BTF and resolves the offsets; the tables in `disabled` get no notes.
    pub fn read(disabled: &[EventTable]) -> Self {
        let (btf, notes) = read_btf(disabled);
        let offsets = btf
            .as_ref()
            .and_then(|btf| {
                offsets::resolve(btf)
                    .inspect_err(|error| {
                        // Degrade rather than refuse: events still flow, without the fields that
                        // need them, and each record says what it lacks (probe_error).
                        tracing::warn!(%error, "kernel struct layout not understood; parent, \
                            euid, argv, cwd, paths and exit codes will be missing from events");
                    })
                    .ok()
            })
            .unwrap_or(KernelOffsets::UNRESOLVED);
        let socket_offsets = btf
            .as_ref()
            .and_then(|btf| {
                offsets::resolve_socket(btf)
                    .inspect_err(|error| {
                        tracing::warn!(%error, "kernel socket layout not understood; socket \
                            events will lack addresses read from the kernel");
                    })
                    .ok()
            })
            .unwrap_or(SocketOffsets::UNRESOLVED);
        Self {
            btf,
            offsets,
            socket_offsets,
            notes,
        }
    }

    /// Lets the parsed BTF go once nothing else needs it.
    pub fn forget_btf(&mut self) {
        self.btf = None;
    }
}

/// The running kernel's BTF, or, without it, what each table loses.
fn read_btf(disabled: &[EventTable]) -> (Option<Btf>, Vec<(EventTable, String)>) {
    let problem = match Btf::from_sys_fs() {
        Ok(Ok(btf)) => return (Some(btf), Vec::new()),
        Ok(Err(error)) => format!("the kernel's BTF does not parse ({error})"),
        Err(error) => {
            format!("the kernel has no readable BTF at /sys/kernel/btf/vmlinux ({error})")
        }
    };
    tracing::warn!(
        problem,
        "kernel struct offsets are unknown: events come without the fields \
        read from kernel structures"
    );
    let notes = FAMILIES
        .iter()
        .map(|&family| (family_table(family), without_btf(family)))
        .filter(|(table, _)| !disabled.contains(table))
        .map(|(table, lost)| (table, format!("{problem}: no {lost}")))
        .collect();
    (None, notes)
}
