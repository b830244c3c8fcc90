//! Events Endpoint Security dropped for a client, from the gaps in the sequence numbers of the
//! messages it did deliver: `global_seq_num` (message version 4 on) goes up by one for every
//! message of the client, `seq_num` (version 2 on) for every message of one event type.

use std::collections::HashMap;

use super::Message;

/// One client's sequence numbers so far.
#[derive(Debug, Default)]
pub struct SequenceGaps {
    global: Option<u64>,
    per_type: HashMap<u32, u64>,
}

impl SequenceGaps {
    pub fn new() -> Self {
        Self::default()
    }

    /// How many messages were dropped just before this one. The first message (of the client,
    /// or of its type) has nothing before it to compare with; a number that goes back (a new
    /// client after a restart) starts again from there.
    pub fn lost_before(&mut self, message: &Message) -> u64 {
        let type_lost = if message.version >= 2 {
            gap(
                self.per_type
                    .insert(message.event.type_code(), message.seq_num),
                message.seq_num,
            )
        } else {
            0
        };
        if message.version >= 4 {
            // The global number sees every gap the per-type ones see, and more: counting both
            // would count a loss twice.
            gap(
                self.global.replace(message.global_seq_num),
                message.global_seq_num,
            )
        } else {
            type_lost
        }
    }
}

fn gap(previous: Option<u64>, current: u64) -> u64 {
    match previous {
        Some(previous) if current > previous => current - previous - 1,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;

    #[test]
    fn gaps_in_the_global_number_are_lost_events() {
        let mut gaps = SequenceGaps::new();
        let mut message = write_log();
        let (seq, global) = (message.seq_num, message.global_seq_num);
        assert_eq!(gaps.lost_before(&message), 0);
        message.seq_num = seq + 1;
        message.global_seq_num = global + 1;
        assert_eq!(gaps.lost_before(&message), 0);
        // Three messages (of any type) were dropped.
        message.seq_num = seq + 2;
        message.global_seq_num = global + 5;
        assert_eq!(gaps.lost_before(&message), 3);
        // Another type's first message: no per-type history, and the global number runs on.
        let mut create = create_new_plist();
        create.global_seq_num = global + 6;
        assert_eq!(gaps.lost_before(&create), 0);
        // A restarted client counts from its own start.
        message.global_seq_num = 1;
        message.seq_num = 1;
        assert_eq!(gaps.lost_before(&message), 0);
        message.global_seq_num = 2;
        message.seq_num = 2;
        assert_eq!(gaps.lost_before(&message), 0);
    }

    #[test]
    fn before_version_4_gaps_count_per_event_type() {
        let mut gaps = SequenceGaps::new();
        let mut write = write_log();
        write.version = 3;
        write.global_seq_num = 0;
        let mut create = create_new_plist();
        create.version = 3;
        create.global_seq_num = 0;
        write.seq_num = 10;
        create.seq_num = 500;
        assert_eq!(gaps.lost_before(&write), 0);
        assert_eq!(gaps.lost_before(&create), 0);
        write.seq_num = 12;
        assert_eq!(gaps.lost_before(&write), 1);
        create.seq_num = 501;
        assert_eq!(gaps.lost_before(&create), 0);
        // Version 1 has no sequence numbers at all.
        write.version = 1;
        write.seq_num = 0;
        assert_eq!(gaps.lost_before(&write), 0);
    }
}
