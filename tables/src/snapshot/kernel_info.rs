//! `kernel_info` (to be written).
