//! `groups` (to be written).
