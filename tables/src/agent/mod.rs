//! Agent tables: what vigil says about itself.

pub mod vigil_events;
pub mod vigil_flags;
pub mod vigil_info;
pub mod vigil_logger;
pub mod vigil_schedule;
