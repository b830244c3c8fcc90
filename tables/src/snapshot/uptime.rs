//! `uptime` (to be written).
