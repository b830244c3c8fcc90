//! `interface_addresses` (to be written).
