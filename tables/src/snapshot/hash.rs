//! `hash` (to be written).
