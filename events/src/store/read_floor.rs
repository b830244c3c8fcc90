//! How far back scheduled queries still need each event table: expiry by age stops there, so no
//! event is expired before every scheduled query that reads its table has read it. Only
//! `--events_max` may go further, and what it removes there is counted as lost.

use std::{collections::HashMap, sync::Mutex};

use crate::tables::EventTable;

#[derive(Debug, Default)]
pub struct ReadFloor {
    /// Per table: the oldest event time a scheduled query still has to read. `None` in the map
    /// (table absent) means no scheduled query holds the table back.
    floors: Mutex<HashMap<EventTable, u64>>,
}

impl ReadFloor {
    /// Replaces every table's floor at once (the scheduler recomputes them after each run).
    pub fn set_all(&self, floors: HashMap<EventTable, u64>) {
        if let Ok(mut current) = self.floors.lock() {
            *current = floors;
        }
    }

    pub fn get(&self, table: EventTable) -> Option<u64> {
        self.floors.lock().ok().and_then(|f| f.get(&table).copied())
    }
}
