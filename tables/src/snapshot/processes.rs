//! `processes` (to be written).
