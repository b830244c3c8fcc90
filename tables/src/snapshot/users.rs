//! `users` (to be written).
