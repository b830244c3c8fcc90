//! `interface_details` (to be written).
