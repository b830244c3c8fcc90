//! Windows counts process and thread times in FILETIME units: 100 ns, split into two 32-bit
//! halves.

use std::time::Duration;

/// A span of FILETIME units as a duration.
#[cfg_attr(not(windows), allow(dead_code))]
pub fn filetime_span(low: u32, high: u32) -> Duration {
    let ticks = (u64::from(high) << 32) | u64::from(low);
    Duration::from_nanos(ticks.saturating_mul(100))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_are_100_ns_and_the_high_half_counts() {
        assert_eq!(filetime_span(10_000_000, 0), Duration::from_secs(1));
        assert_eq!(
            filetime_span(0, 1),
            Duration::from_nanos((1u64 << 32) * 100)
        );
        assert_eq!(filetime_span(0, 0), Duration::ZERO);
    }
}
