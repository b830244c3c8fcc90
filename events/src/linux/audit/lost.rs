//! The kernel's count of audit records it dropped (`lost` in its status), turned into what was
//! lost between two looks. The counter only grows, unless someone resets it (`auditctl
//! --reset-lost`). A reset seen between two looks (the counter went down) counts what it holds
//! since; but one followed by more losses than it cleared looks like plain growth. The kernel
//! says when it resets the counter, in a `CONFIG_CHANGE` record (`op=set lost=0 old=N`): with
//! it, what was lost before the reset and what was lost after are both counted.

/// `AUDIT_CONFIG_CHANGE`: the kernel's record of a change of its audit settings.
pub const AUDIT_CONFIG_CHANGE: u16 = 1305;

/// The counter's value cleared by a reset, from a `CONFIG_CHANGE` record's text
/// (`audit(TIME:SERIAL): op=set lost=0 old=N ...`); `None` for any other change. The kernel
/// writes `op=` first: the same words later in a record (in a value someone chose) are not it.
pub fn cleared_by_reset(payload: &[u8]) -> Option<u32> {
    let text = std::str::from_utf8(payload).ok()?;
    let fields = match text.split_once("): ") {
        Some((stamp, fields)) if stamp.starts_with("audit(") => fields,
        _ => text,
    };
    let after = fields.strip_prefix("op=set lost=0 old=")?;
    let digits = after
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(after.len());
    after[..digits].parse().ok()
}

#[derive(Debug)]
pub struct LostCounter {
    /// The counter at the last look (0 after a reset vigil was told of).
    last: u32,
    /// Lost before resets vigil was told of since the last look.
    before_resets: u64,
}

impl LostCounter {
    pub fn new(now: u32) -> Self {
        Self {
            last: now,
            before_resets: 0,
        }
    }

    /// The kernel reset the counter from `old`. (A look at the counter between the reset and
    /// this record, a window of the reader's own loop, would have counted the counter's value
    /// then twice.)
    pub fn reset(&mut self, old: u32) {
        self.before_resets += u64::from(old.saturating_sub(self.last));
        self.last = 0;
    }

    /// Records lost since the last look, the counter now being `now`.
    pub fn since(&mut self, now: u32) -> u64 {
        // Went down without a reset record (the record was itself dropped): reset to 0, then
        // `now` lost.
        let after = now.checked_sub(self.last).unwrap_or(now);
        self.last = now;
        u64::from(after) + std::mem::take(&mut self.before_resets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn losses_are_counted_across_resets_seen_or_told() {
        let mut lost = LostCounter::new(10);
        assert_eq!(lost.since(15), 5);
        assert_eq!(lost.since(15), 0);
        // A reset seen as a drop: what it holds since.
        assert_eq!(lost.since(3), 3, "reset to 0, then 3 lost");
        // A reset told by its record, then more losses than it cleared: 7 before it (10 - 3),
        // 50 after, not 50 - 3.
        lost.since(3);
        lost.reset(10);
        assert_eq!(lost.since(50), 57);
        // Two resets between looks.
        lost.reset(60);
        lost.reset(4);
        assert_eq!(lost.since(1), 10 + 4 + 1);
        assert_eq!(LostCounter::new(u32::MAX).since(0), 0);
    }

    #[test]
    fn only_a_reset_of_lost_is_read_from_a_config_change() {
        assert_eq!(
            cleared_by_reset(b"op=set lost=0 old=1505 auid=0 ses=3 subj=unconfined res=1"),
            Some(1505)
        );
        assert_eq!(
            cleared_by_reset(b"op=set backlog_limit=16 old=8192 auid=0 res=1"),
            None
        );
        assert_eq!(cleared_by_reset(b"op=set lost=0 old="), None);
        assert_eq!(cleared_by_reset(&[0xff, 0xfe]), None);
        assert_eq!(
            cleared_by_reset(b"audit(1764550000.123:42): op=set lost=0 old=7 auid=0 res=1"),
            Some(7),
            "with the kernel's time stamp in front"
        );
        // Only where the kernel writes it: not inside another change's values.
        assert_eq!(
            cleared_by_reset(b"audit(1.2:3): op=add_rule key=op=set lost=0 old=9 res=1"),
            None
        );
    }
}
