//! `os_version` (to be written).
