//! `logged_in_users` (to be written).
