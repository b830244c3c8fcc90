//! `process_open_sockets` (to be written).
