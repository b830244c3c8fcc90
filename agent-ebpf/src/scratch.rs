//! Per-CPU working memory for the records too large for the 512-byte BPF stack. Its own module,
//! below the probes and the path walks: a probe builds its record here, and a walk it starts
//! writes the path into the same record, so both reach it without reaching each other.

use aya_ebpf::{macros::map, maps::PerCpuArray};
use vigil_ebpf_common::{ExecScratch, FileScratch};

/// Exec records (successful and failed).
#[map]
pub(crate) static EXEC_SCRATCH: PerCpuArray<ExecScratch> = PerCpuArray::with_max_entries(1, 0);

/// File records.
#[map]
pub(crate) static FILE_SCRATCH: PerCpuArray<FileScratch> = PerCpuArray::with_max_entries(1, 0);
