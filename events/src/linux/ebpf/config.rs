//! What can stop the eBPF publisher from starting, and the settings it checks before anything
//! loads.

use vigil_ebpf_common::ARGV_CAPACITY;

use crate::publisher::{PublisherError, Settings};

#[derive(Debug, thiserror::Error)]
pub enum EbpfError {
    #[error(
        "vigil needs root (or the CAP_BPF and CAP_PERFMON capabilities) to load its eBPF \
         programs, and this process lacks {missing}; run it as root, grant those capabilities, \
         or pass --disable_events to query snapshot and agent tables without kernel events"
    )]
    Permission { missing: String },
    #[error(
        "tracefs at {path} cannot be read by this user (it is root's alone), and this process \
         lacks {missing}: run vigil as root or grant it CAP_DAC_READ_SEARCH (tracefs gives each \
         tracepoint's id and layout), or pass --disable_events"
    )]
    TracefsUnreadable { path: &'static str, missing: String },
    #[error(
        "tracefs is not mounted at {path} and could not be mounted ({error}); mount it with \
         `mount -t tracefs tracefs {path}`"
    )]
    Tracefs {
        path: &'static str,
        /// In the message, not a source: the message says it all.
        error: std::io::Error,
    },
    #[error("--bpf_ringbuf_size must be a power of two and at least 4096 bytes, got {0}")]
    RingBufferSize(u32),
    #[error("--bpf_argv_limit must be from 1 to {ARGV_CAPACITY} bytes, got {0}")]
    ArgvLimit(u32),
    #[error("the eBPF object has no map `{0}`")]
    MissingMap(&'static str),
    #[error("eBPF map setup failed: {0}")]
    Map(#[from] aya::maps::MapError),
    #[error("starting the reader thread failed: {0}")]
    Thread(std::io::Error),
}

impl From<EbpfError> for PublisherError {
    fn from(error: EbpfError) -> Self {
        PublisherError::new(error)
    }
}

/// The settings the kernel side is sized by, checked before anything loads.
pub(super) fn validate(settings: &Settings) -> Result<(), EbpfError> {
    if settings.ringbuf_bytes < 4096 || !settings.ringbuf_bytes.is_power_of_two() {
        return Err(EbpfError::RingBufferSize(settings.ringbuf_bytes));
    }
    if settings.argv_limit == 0 || settings.argv_limit as usize > ARGV_CAPACITY {
        return Err(EbpfError::ArgvLimit(settings.argv_limit));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_sizes_and_argv_limits_out_of_bounds_are_named() {
        assert!(validate(&Settings::default()).is_ok());
        let ring = |ringbuf_bytes| Settings {
            ringbuf_bytes,
            ..Settings::default()
        };
        assert!(matches!(
            validate(&ring(3 * 4096)),
            Err(EbpfError::RingBufferSize(12288))
        ));
        assert!(matches!(
            validate(&ring(2048)),
            Err(EbpfError::RingBufferSize(2048))
        ));
        let argv = |argv_limit| Settings {
            argv_limit,
            ..Settings::default()
        };
        assert!(matches!(validate(&argv(0)), Err(EbpfError::ArgvLimit(0))));
        let too_long = ARGV_CAPACITY as u32 + 1;
        assert!(
            validate(&argv(too_long)).is_err_and(|e| e.to_string().contains("--bpf_argv_limit"))
        );
    }
}
