//! Agent tables: what vigil says about itself.

pub mod vigil_events;
