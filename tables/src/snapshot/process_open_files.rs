//! `process_open_files` (to be written).
