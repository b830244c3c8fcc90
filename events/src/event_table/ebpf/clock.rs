//! Turning kernel boot-clock timestamps into wall-clock time.

fn clock_ns(clock: libc::clockid_t) -> i128 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid out-pointer for the duration of the call.
    unsafe { libc::clock_gettime(clock, &mut ts) };
    i128::from(ts.tv_sec) * 1_000_000_000 + i128::from(ts.tv_nsec)
}

/// Maps `CLOCK_BOOTTIME` nanoseconds (what the probes record: it keeps counting through suspend)
/// to nanoseconds since the Unix epoch. Refresh it now and then to follow wall-clock adjustments.
#[derive(Debug, Clone, Copy)]
pub struct BootClock {
    offset_ns: i128,
}

impl BootClock {
    pub fn now() -> Self {
        Self {
            offset_ns: clock_ns(libc::CLOCK_REALTIME) - clock_ns(libc::CLOCK_BOOTTIME),
        }
    }

    /// A clock with a given offset (for decoding fixtures).
    pub fn with_offset(offset_ns: i128) -> Self {
        Self { offset_ns }
    }

    pub fn wall_ns(&self, boot_ns: u64) -> u64 {
        let wall = i128::from(boot_ns) + self.offset_ns;
        wall.clamp(0, i128::from(u64::MAX)) as u64
    }
}
