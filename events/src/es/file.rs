//! `es_process_file_events` from the file notifications, with osquery's columns, and osquery's
//! path muting (`--es_fim_mute_path_literal`, `--es_fim_mute_path_prefix`).

use super::{EsFileEvent, Event, Message};

/// The paths whose events are muted: ES mutes them in the kernel (`es_mute_path`), and the
/// mapping drops what still comes (a path muted after its event was queued).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MutedPaths {
    pub literals: Vec<String>,
    pub prefixes: Vec<String>,
}

impl MutedPaths {
    /// From osquery's comma-delimited flags; empty items (`a,,b`, a trailing comma) are left out.
    pub fn from_flags(literals: &str, prefixes: &str) -> Self {
        let split = |flag: &str| -> Vec<String> {
            flag.split(',')
                .map(str::trim)
                .filter(|path| !path.is_empty())
                .map(str::to_owned)
                .collect()
        };
        Self {
            literals: split(literals),
            prefixes: split(prefixes),
        }
    }

    pub fn mutes(&self, path: &str) -> bool {
        self.literals.iter().any(|literal| literal == path)
            || self
                .prefixes
                .iter()
                .any(|prefix| path.starts_with(prefix.as_str()))
    }
}

/// The row of a file message, unless its file is muted; `None` for a process message.
pub fn file_event(message: &Message, muted: &MutedPaths) -> Option<EsFileEvent> {
    let (filename, dest_filename) = match &message.event {
        Event::Create { destination } => (destination.path(), String::new()),
        Event::Rename {
            source,
            destination,
        } => (source.clone(), destination.path()),
        Event::Write { target }
        | Event::Truncate { target }
        | Event::Unlink { target }
        | Event::Open { target, .. } => (target.clone(), String::new()),
        Event::Exec { .. } | Event::Fork { .. } | Event::Exit { .. } => return None,
    };
    if muted.mutes(&filename) {
        return None;
    }
    Some(EsFileEvent {
        version: message.version,
        seq_num: message.seq_num,
        global_seq_num: message.global_seq_num,
        event_type: message.event.name().to_owned(),
        time_ns: message.time_ns,
        pid: message.process.audit_token.pid(),
        parent: message.process.ppid,
        path: message.process.executable.clone(),
        filename,
        dest_filename,
    })
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;

    #[test]
    fn creates_and_renames_join_directory_and_name() {
        let none = MutedPaths::default();
        let create = file_event(&create_new_plist(), &none).expect("row");
        assert_eq!(create.event_type, "create");
        assert_eq!(
            create.filename,
            "/Users/alice/Library/LaunchAgents/com.example.agent.plist"
        );
        assert_eq!(create.pid, 48_213);
        assert_eq!(create.parent, 48_200);
        assert_eq!(create.path, "/usr/bin/curl");
        let rename = file_event(&rename_over_existing(), &none).expect("row");
        assert_eq!(rename.event_type, "rename");
        assert_eq!(rename.filename, "/Users/alice/.zshrc.tmp");
        assert_eq!(rename.dest_filename, "/Users/alice/.zshrc");
        let write = file_event(&write_log(), &none).expect("row");
        assert_eq!(
            (write.event_type.as_str(), write.filename.as_str()),
            ("write", "/private/var/log/install.log")
        );
        assert_eq!((write.seq_num, write.global_seq_num), (1_021, 90_240));
    }

    #[test]
    fn muted_literals_and_prefixes_drop_their_events() {
        let muted = MutedPaths::from_flags(
            "/private/var/log/install.log,",
            "/Users/alice/Library/,,/tmp/",
        );
        assert_eq!(muted.literals, ["/private/var/log/install.log"]);
        assert_eq!(muted.prefixes, ["/Users/alice/Library/", "/tmp/"]);
        assert_eq!(file_event(&write_log(), &muted), None);
        assert_eq!(file_event(&create_new_plist(), &muted), None);
        // A literal mutes that path only.
        let mut other = write_log();
        other.event = Event::Write {
            target: "/private/var/log/install.log.1".to_owned(),
        };
        assert!(file_event(&other, &muted).is_some());
        assert!(file_event(&rename_over_existing(), &muted).is_some());
    }

    #[test]
    fn a_process_message_is_no_file_row() {
        assert_eq!(file_event(&exec_curl(), &MutedPaths::default()), None);
    }
}
