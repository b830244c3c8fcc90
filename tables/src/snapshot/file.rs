//! `file` (to be written).
