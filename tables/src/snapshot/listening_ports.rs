//! `listening_ports` (to be written).
