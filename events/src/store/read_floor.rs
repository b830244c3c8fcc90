//! How far scheduled queries have read each event table: expiry by age stops there, so no event
//! is expired before every scheduled query that reads its table has read it. Only
//! `--events_max` may go further, and what it removes there is counted as lost.

use std::{collections::HashMap, sync::Mutex};

use crate::event_table::EventTable;

/// A row key, `(key time ns, seq)`: rows up to and including it have been read.
pub type ReadThrough = (u64, u64);

/// Nothing read yet: every row is held.
pub const NOTHING_READ: ReadThrough = (0, 0);

#[derive(Debug, Default)]
pub struct ReadFloor {
    /// `None` until the scheduler has said what its queries read: until then every row is held
    /// (a worker's first retention pass must not expire what the schedule has not read yet).
    /// In the map, a table that is absent is held by no query.
    floors: Mutex<Option<HashMap<EventTable, ReadThrough>>>,
}

impl ReadFloor {
    /// Replaces every table's floor at once (the scheduler recomputes them after each run).
    pub fn set_all(&self, floors: HashMap<EventTable, ReadThrough>) {
        if let Ok(mut current) = self.floors.lock() {
            *current = Some(floors);
        }
    }

    /// No scheduled query reads any table (no schedule, or an empty one).
    pub fn release_all(&self) {
        self.set_all(HashMap::new());
    }

    /// The key up to which every scheduled query has read `table`; `None` when no query holds
    /// the table back.
    pub fn get(&self, table: EventTable) -> Option<ReadThrough> {
        match self.floors.lock() {
            Ok(floors) => match floors.as_ref() {
                None => Some(NOTHING_READ),
                Some(map) => map.get(&table).copied(),
            },
            // A poisoned lock: hold everything rather than risk expiring unread rows.
            Err(_) => Some(NOTHING_READ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn until_the_scheduler_speaks_every_table_is_held() {
        let floor = ReadFloor::default();
        for table in EventTable::ALL {
            assert_eq!(floor.get(*table), Some(NOTHING_READ));
        }
        floor.set_all([(EventTable::BpfFileEvents, (5, 6))].into_iter().collect());
        assert_eq!(floor.get(EventTable::BpfFileEvents), Some((5, 6)));
        assert_eq!(floor.get(EventTable::BpfProcessEvents), None);
        floor.release_all();
        assert_eq!(floor.get(EventTable::BpfFileEvents), None);
    }
}
