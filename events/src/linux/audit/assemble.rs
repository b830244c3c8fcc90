//! Records into events: the kernel sends the records of one syscall (SYSCALL, EXECVE, CWD,
//! PATH, SOCKADDR, PROCTITLE, ...) one by one, interleaved with other events' records, and ends
//! each event with an EOE record. Records are grouped by their event's serial; an event is
//! complete at its EOE. One whose EOE never comes (lost in the kernel's backlog) is flushed after
//! a timeout, or when too many are open, and marked incomplete.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use super::record::Record;

/// End of a multi-record event.
pub const AUDIT_EOE: u16 = 1320;
/// User-space messages (`AUDIT_FIRST_USER_MSG..=AUDIT_LAST_USER_MSG` and the second range):
/// each is an event of one record.
pub fn is_user_message(kind: u16) -> bool {
    (1100..=1199).contains(&kind) || (2100..=2999).contains(&kind)
}

/// The records of one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assembled {
    pub serial: u64,
    pub records: Vec<Record>,
    /// False when the event was flushed without its EOE record.
    pub complete: bool,
}

impl Assembled {
    pub fn record(&self, kind: u16) -> Option<&Record> {
        self.records.iter().find(|r| r.kind == kind)
    }

    pub fn records_of(&self, kind: u16) -> impl Iterator<Item = &Record> {
        self.records.iter().filter(move |r| r.kind == kind)
    }
}

struct Open {
    records: Vec<Record>,
    since: Instant,
}

/// Events being assembled, by serial.
pub struct Assembler {
    open: HashMap<u64, Open>,
    timeout: Duration,
    max_open: usize,
}

impl Assembler {
    /// Events wait at most `timeout` for their EOE, and at most `max_open` wait at once.
    pub fn new(timeout: Duration, max_open: usize) -> Self {
        Self {
            open: HashMap::new(),
            timeout,
            max_open: max_open.max(1),
        }
    }

    /// Adds a record; returns the events it completes (its own, or the oldest one pushed out
    /// when too many are open).
    pub fn push(&mut self, record: Record, now: Instant) -> Vec<Assembled> {
        let mut done = Vec::new();
        if is_user_message(record.kind) {
            done.push(Assembled {
                serial: record.serial,
                records: vec![record],
                complete: true,
            });
            return done;
        }
        if record.kind == AUDIT_EOE {
            if let Some(open) = self.open.remove(&record.serial) {
                done.push(Assembled {
                    serial: record.serial,
                    records: open.records,
                    complete: true,
                });
            }
            return done;
        }
        if !self.open.contains_key(&record.serial)
            && self.open.len() >= self.max_open
            && let Some(oldest) = self
                .open
                .iter()
                .min_by_key(|(serial, open)| (open.since, **serial))
                .map(|(serial, _)| *serial)
        {
            done.extend(self.flush(oldest));
        }
        self.open
            .entry(record.serial)
            .or_insert_with(|| Open {
                records: Vec::new(),
                since: now,
            })
            .records
            .push(record);
        done
    }

    /// The events that waited longer than the timeout, oldest first.
    pub fn expire(&mut self, now: Instant) -> Vec<Assembled> {
        let mut late: Vec<(Instant, u64)> = self
            .open
            .iter()
            .filter(|(_, open)| now.saturating_duration_since(open.since) >= self.timeout)
            .map(|(serial, open)| (open.since, *serial))
            .collect();
        late.sort_unstable();
        late.into_iter()
            .filter_map(|(_, serial)| self.flush(serial))
            .collect()
    }

    /// Every open event, as when stopping.
    pub fn drain(&mut self) -> Vec<Assembled> {
        let mut serials: Vec<u64> = self.open.keys().copied().collect();
        serials.sort_unstable();
        serials
            .into_iter()
            .filter_map(|serial| self.flush(serial))
            .collect()
    }

    fn flush(&mut self, serial: u64) -> Option<Assembled> {
        self.open.remove(&serial).map(|open| Assembled {
            serial,
            records: open.records,
            complete: false,
        })
    }

    pub fn open_events(&self) -> usize {
        self.open.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linux::audit::record::parse;

    fn record(kind: u16, serial: u64) -> Record {
        parse(kind, format!("audit(1.000:{serial}): a=b").as_bytes()).expect("record")
    }

    #[test]
    fn interleaved_events_complete_at_their_own_eoe() {
        let mut assembler = Assembler::new(Duration::from_secs(5), 100);
        let now = Instant::now();
        assert!(assembler.push(record(1300, 1), now).is_empty());
        assert!(assembler.push(record(1300, 2), now).is_empty());
        assert!(assembler.push(record(1309, 1), now).is_empty());
        assert!(assembler.push(record(1307, 2), now).is_empty());
        let two = assembler.push(record(AUDIT_EOE, 2), now);
        assert_eq!(two.len(), 1);
        assert_eq!(two[0].serial, 2);
        assert_eq!(two[0].records.len(), 2);
        assert!(two[0].complete);
        let one = assembler.push(record(AUDIT_EOE, 1), now);
        assert_eq!(
            one[0].records.iter().map(|r| r.kind).collect::<Vec<_>>(),
            [1300, 1309]
        );
        assert_eq!(assembler.open_events(), 0);
    }

    #[test]
    fn an_event_without_its_eoe_is_flushed_late_and_marked() {
        let mut assembler = Assembler::new(Duration::from_secs(2), 100);
        let start = Instant::now();
        assembler.push(record(1300, 7), start);
        assert!(assembler.expire(start + Duration::from_secs(1)).is_empty());
        let late = assembler.expire(start + Duration::from_secs(2));
        assert_eq!(late.len(), 1);
        assert!(!late[0].complete);
        assert!(assembler.push(record(AUDIT_EOE, 7), start).is_empty());
    }

    #[test]
    fn too_many_open_events_push_the_oldest_out_and_user_messages_stand_alone() {
        let mut assembler = Assembler::new(Duration::from_secs(60), 2);
        let start = Instant::now();
        assembler.push(record(1300, 1), start);
        assembler.push(record(1300, 2), start + Duration::from_millis(1));
        let out = assembler.push(record(1300, 3), start + Duration::from_millis(2));
        assert_eq!(out.len(), 1);
        assert_eq!((out[0].serial, out[0].complete), (1, false));
        let user = assembler.push(record(1112, 9), start);
        assert_eq!((user[0].serial, user[0].complete), (9, true));
        assert_eq!(assembler.drain().len(), 2);
    }
}
