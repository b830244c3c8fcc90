//! `time` (to be written).
