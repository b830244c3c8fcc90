//! The kernel's audit status (`struct audit_status`): what AUDIT_GET answers and AUDIT_SET
//! changes, one field at a time by mask.

pub const MASK_ENABLED: u32 = 0x01;
pub const MASK_FAILURE: u32 = 0x02;
pub const MASK_PID: u32 = 0x04;
pub const MASK_BACKLOG_LIMIT: u32 = 0x10;
pub const MASK_BACKLOG_WAIT_TIME: u32 = 0x20;

/// `failure`: what the kernel does when it cannot log: nothing, printk, or panic.
pub const FAIL_SILENT: u32 = 0;
/// `enabled` 2: the configuration is locked until reboot.
pub const ENABLED_LOCKED: u32 = 2;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditStatus {
    pub mask: u32,
    pub enabled: u32,
    pub failure: u32,
    pub pid: u32,
    pub rate_limit: u32,
    pub backlog_limit: u32,
    pub lost: u32,
    pub backlog: u32,
    pub feature_bitmap: u32,
    pub backlog_wait_time: u32,
}

impl AuditStatus {
    /// Reads AUDIT_GET's answer; fields an older kernel does not send are 0.
    pub fn parse(bytes: &[u8]) -> Self {
        let word = |index: usize| {
            bytes
                .get(index * 4..index * 4 + 4)
                .and_then(|b| b.try_into().ok())
                .map_or(0, u32::from_ne_bytes)
        };
        Self {
            mask: word(0),
            enabled: word(1),
            failure: word(2),
            pid: word(3),
            rate_limit: word(4),
            backlog_limit: word(5),
            lost: word(6),
            backlog: word(7),
            feature_bitmap: word(8),
            backlog_wait_time: word(9),
        }
    }

    pub fn emit(&self) -> Vec<u8> {
        [
            self.mask,
            self.enabled,
            self.failure,
            self.pid,
            self.rate_limit,
            self.backlog_limit,
            self.lost,
            self.backlog,
            self.feature_bitmap,
            self.backlog_wait_time,
        ]
        .iter()
        .flat_map(|w| w.to_ne_bytes())
        .collect()
    }

    /// What an operator configures, as one comparable value: enabled, failure mode, owner,
    /// rate limit, backlog limit and wait time (not the counters that move by themselves).
    pub fn settings(&self) -> [u32; 6] {
        [
            self.enabled,
            self.failure,
            self.pid,
            self.rate_limit,
            self.backlog_limit,
            self.backlog_wait_time,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_reads_short_answers() {
        let status = AuditStatus {
            mask: 1,
            enabled: 1,
            failure: 1,
            pid: 42,
            rate_limit: 0,
            backlog_limit: 8192,
            lost: 7,
            backlog: 3,
            feature_bitmap: 0x7f,
            backlog_wait_time: 60_000,
        };
        assert_eq!(AuditStatus::parse(&status.emit()), status);
        let short = AuditStatus::parse(&status.emit()[..32]);
        assert_eq!(short.backlog, 3);
        assert_eq!(short.backlog_wait_time, 0);
        assert_eq!(AuditStatus::parse(&[1, 2]), AuditStatus::default());
    }
}
