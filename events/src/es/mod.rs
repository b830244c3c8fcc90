//! macOS Endpoint Security messages turned into vigil's rows, as pure functions of what a
//! client's handler receives: compiled and tested on every platform with recorded messages; the
//! macOS publisher (`crate::macos`) only feeds them.
//!
//! - `process`: NOTIFY_EXEC, NOTIFY_FORK and NOTIFY_EXIT into `es_process_events`;
//! - `file`: NOTIFY_CREATE, RENAME, WRITE, TRUNCATE, UNLINK (and OPEN when asked) into
//!   `es_process_file_events`, with osquery's path muting;
//! - `sequence`: the gaps in `seq_num`/`global_seq_num`, which are the events ES dropped;
//! - `subscriptions`: which clients start, subscribed to what, from osquery's flags.

pub mod file;
pub mod message;
pub mod process;
pub mod sequence;
pub mod signing;
pub mod stored;
pub mod subscriptions;

#[cfg(test)]
pub(crate) mod fixtures;

pub use file::MutedPaths;
pub use message::{AuditToken, Destination, Event, Message, Process};
pub use sequence::SequenceGaps;

/// Names of users by uid (`getpwuid_r` on macOS), for the `username` column.
pub trait UserNames {
    fn name_of(&self, uid: u32) -> Option<String>;
}

impl<F: Fn(u32) -> Option<String>> UserNames for F {
    fn name_of(&self, uid: u32) -> Option<String> {
        self(uid)
    }
}

/// A process exec, fork or exit (`es_process_events`, osquery's columns).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EsProcessEvent {
    pub version: u32,
    pub seq_num: u64,
    pub global_seq_num: u64,
    /// `exec`, `fork` or `exit`.
    pub event_type: String,
    pub time_ns: u64,
    pub pid: u32,
    pub pidversion: u32,
    pub parent: u32,
    pub parent_pidversion: u32,
    pub original_parent: u32,
    pub session_id: u32,
    pub responsible_pid: u32,
    pub responsible_pidversion: u32,
    pub path: String,
    pub cwd: String,
    pub uid: u32,
    pub euid: u32,
    pub gid: u32,
    pub egid: u32,
    pub username: String,
    pub signing_id: String,
    pub team_id: String,
    /// Lowercase hex; empty when the process has none (all zero bytes).
    pub cdhash: String,
    pub platform_binary: bool,
    /// osquery's unusual-flag words: `NOT_VALID, ADHOC, NOT_RUNTIME, INSTALLER`.
    pub codesigning_flags: String,
    pub cmdline: String,
    pub cmdline_count: u32,
    pub env: String,
    pub env_count: u32,
    /// exit: the wait(2) status as ES gives it.
    pub exit_code: i32,
    /// fork: the new process.
    pub child_pid: u32,
}

/// A file event (`es_process_file_events`, osquery's columns).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EsFileEvent {
    pub version: u32,
    pub seq_num: u64,
    pub global_seq_num: u64,
    /// `create`, `rename`, `write`, `truncate`, `unlink` or `open`.
    pub event_type: String,
    pub time_ns: u64,
    pub pid: u32,
    pub parent: u32,
    /// The executable of the process that did it.
    pub path: String,
    pub filename: String,
    /// rename: the new name.
    pub dest_filename: String,
}

/// `es_new_client`'s failure, as one sentence saying what to do (the result codes of
/// `es_new_client_result_t`).
pub fn new_client_failure(result: u32) -> String {
    match result {
        1 => "Endpoint Security refused vigil's client as an invalid argument (ES_NEW_CLIENT_RESULT_ERR_INVALID_ARGUMENT): this is a bug in vigil, please report it".to_owned(),
        2 => "Endpoint Security failed internally (ES_NEW_CLIENT_RESULT_ERR_INTERNAL): try again, and restart the machine if it persists".to_owned(),
        3 => "vigil lacks the com.apple.developer.endpoint-security.client entitlement (ES_NEW_CLIENT_RESULT_ERR_NOT_ENTITLED): run a build signed with it, provisioned by an Apple-issued profile".to_owned(),
        4 => "vigil lacks Full Disk Access (ES_NEW_CLIENT_RESULT_ERR_NOT_PERMITTED): grant it in System Settings > Privacy & Security > Full Disk Access, or by an MDM PPPC profile, then restart vigil".to_owned(),
        5 => "Endpoint Security needs root (ES_NEW_CLIENT_RESULT_ERR_NOT_PRIVILEGED): run vigil as root, as its launchd daemon does".to_owned(),
        6 => "too many Endpoint Security clients run on this machine (ES_NEW_CLIENT_RESULT_ERR_TOO_MANY_CLIENTS): stop one of the other security agents' clients".to_owned(),
        other => format!("Endpoint Security refused vigil's client with result {other}, unknown to vigil"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_entitlement_or_full_disk_access_says_what_to_grant() {
        assert!(
            new_client_failure(3)
                .contains("com.apple.developer.endpoint-security.client entitlement")
        );
        assert!(
            new_client_failure(4)
                .contains("grant it in System Settings > Privacy & Security > Full Disk Access")
        );
        assert!(new_client_failure(5).contains("run vigil as root"));
        assert!(new_client_failure(42).contains("result 42"));
        for code in 1..=6 {
            let sentence = new_client_failure(code);
            assert_eq!(sentence.matches(": ").count(), 1, "{sentence}");
            assert!(!sentence.ends_with('.'), "{sentence}");
        }
    }
}
