//! `mounts` (to be written).
