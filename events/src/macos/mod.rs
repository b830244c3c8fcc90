//! macOS publishers: Endpoint Security.

pub mod es;
