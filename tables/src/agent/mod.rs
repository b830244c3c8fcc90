//! Agent tables: what vigil says about itself.

pub mod vigil_events;
pub mod vigil_flags;
pub mod vigil_info;
pub mod vigil_logger;
pub mod vigil_registry;
pub mod vigil_schedule;

use ::vigil_events::{EventStore, StoreError};

use crate::table::TableError;

/// A store error, as `table`'s.
fn store_failed(table: &'static str) -> impl Fn(StoreError) -> TableError + Copy {
    move |e| TableError::Failed {
        table,
        message: e.to_string(),
    }
}

/// The store of a table that reads what the daemon keeps, caught up with the daemon (`None`
/// without a store: the table is empty).
fn daemon_state<'a>(
    store: &'a Option<std::sync::Arc<EventStore>>,
    table: &'static str,
) -> Result<Option<&'a EventStore>, TableError> {
    let Some(store) = store else {
        return Ok(None);
    };
    store.catch_up().map_err(store_failed(table))?;
    Ok(Some(store))
}
