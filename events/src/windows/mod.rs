//! Windows publishers: ETW.

pub mod etw;
