//! `system_info` (to be written).
