//! `es_process_events` from NOTIFY_EXEC, NOTIFY_FORK and NOTIFY_EXIT, with osquery's columns:
//! the process described is the one the event is about (an exec's new image; a fork's parent,
//! with the child's pid; the exiting process).

use super::{
    EsProcessEvent, Event, Message, Process, UserNames,
    signing::{cdhash_hex, codesigning_flags, quoted_join},
};

/// The row of a process message; `None` for a file message.
pub fn process_event(message: &Message, users: &dyn UserNames) -> Option<EsProcessEvent> {
    let mut row = EsProcessEvent {
        version: message.version,
        seq_num: message.seq_num,
        global_seq_num: message.global_seq_num,
        event_type: message.event.name().to_owned(),
        time_ns: message.time_ns,
        ..EsProcessEvent::default()
    };
    match &message.event {
        Event::Exec {
            target,
            args,
            env,
            cwd,
        } => {
            describe(&mut row, target, users);
            row.cmdline = quoted_join(args);
            row.cmdline_count = u32::try_from(args.len()).unwrap_or(u32::MAX);
            row.env = quoted_join(env);
            row.env_count = u32::try_from(env.len()).unwrap_or(u32::MAX);
            row.cwd = cwd.clone().unwrap_or_default();
        }
        Event::Fork { child } => {
            describe(&mut row, &message.process, users);
            row.child_pid = child.audit_token.pid();
        }
        Event::Exit { stat } => {
            describe(&mut row, &message.process, users);
            row.exit_code = *stat;
        }
        _ => return None,
    }
    Some(row)
}

fn describe(row: &mut EsProcessEvent, process: &Process, users: &dyn UserNames) {
    let token = &process.audit_token;
    row.pid = token.pid();
    row.pidversion = token.pidversion();
    row.parent = process.ppid;
    row.parent_pidversion = process
        .parent_audit_token
        .map_or(0, |parent| parent.pidversion());
    row.original_parent = process.original_ppid;
    row.session_id = process.session_id;
    if let Some(responsible) = process.responsible_audit_token {
        row.responsible_pid = responsible.pid();
        row.responsible_pidversion = responsible.pidversion();
    }
    row.path = process.executable.clone();
    row.uid = token.ruid();
    // osquery fills `euid` with the effective gid (audit_token_to_egid); vigil gives the euid.
    row.euid = token.euid();
    row.gid = token.rgid();
    row.egid = token.egid();
    row.username = users.name_of(token.ruid()).unwrap_or_default();
    row.signing_id = process.signing_id.clone();
    row.team_id = process.team_id.clone();
    row.cdhash = cdhash_hex(&process.cdhash);
    row.platform_binary = process.is_platform_binary;
    row.codesigning_flags = codesigning_flags(process.codesigning_flags);
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::*;
    use super::*;

    fn users(uid: u32) -> Option<String> {
        match uid {
            501 => Some("alice".to_owned()),
            0 => Some("root".to_owned()),
            _ => None,
        }
    }

    #[test]
    fn an_exec_describes_the_new_image_from_its_audit_token() {
        let row = process_event(&exec_curl(), &users).expect("a process row");
        assert_eq!(row.event_type, "exec");
        assert_eq!(
            (row.version, row.seq_num, row.global_seq_num),
            (7, 412, 90_211)
        );
        assert_eq!(row.time_ns, 1_700_000_000_250_000_000);
        assert_eq!((row.pid, row.pidversion), (48_213, 112_907));
        assert_eq!((row.parent, row.parent_pidversion), (48_200, 112_880));
        assert_eq!(row.original_parent, 48_200);
        assert_eq!(row.session_id, 100_006);
        assert_eq!(
            (row.responsible_pid, row.responsible_pidversion),
            (612, 1_734)
        );
        assert_eq!(row.path, "/usr/bin/curl");
        assert_eq!((row.uid, row.euid, row.gid, row.egid), (501, 501, 20, 20));
        assert_eq!(row.username, "alice");
        assert_eq!(row.signing_id, "com.apple.curl");
        assert_eq!(row.team_id, "");
        assert_eq!(row.cdhash, "5f2e649b0cd18347aa10e93b7c5206f891d43eb0");
        assert!(row.platform_binary);
        assert_eq!(row.codesigning_flags, "");
        assert_eq!(
            row.cmdline,
            r#"curl -s -H "Accept: */*" https://example.com"#
        );
        assert_eq!(row.cmdline_count, 5);
        assert_eq!(row.env, "PATH=/usr/bin:/bin HOME=/Users/alice");
        assert_eq!(row.env_count, 2);
        assert_eq!(row.cwd, "/Users/alice/src");
    }

    #[test]
    fn a_setuid_exec_shows_real_and_effective_ids_apart() {
        let mut message = exec_curl();
        if let Event::Exec { target, .. } = &mut message.event {
            // sudo: real uid 501, effective 0.
            target.audit_token.0[1] = 0;
            target.audit_token.0[2] = 0;
        }
        let row = process_event(&message, &users).expect("row");
        assert_eq!((row.uid, row.euid, row.gid, row.egid), (501, 0, 20, 0));
    }

    #[test]
    fn a_fork_names_its_child_and_an_exit_its_status() {
        let fork = process_event(&fork_zsh(), &users).expect("row");
        assert_eq!(fork.event_type, "fork");
        assert_eq!(fork.pid, 48_200);
        assert_eq!(fork.child_pid, 48_213);
        assert_eq!(fork.path, "/bin/zsh");
        assert_eq!(fork.team_id, "");
        let exit = process_event(&exit_unsigned(), &users).expect("row");
        assert_eq!(exit.event_type, "exit");
        assert_eq!(exit.exit_code, 256);
        assert_eq!(exit.team_id, "");
        assert_eq!(exit.cdhash, "");
        assert_eq!(exit.codesigning_flags, "ADHOC, NOT_RUNTIME");
        assert_eq!(exit.username, "");
        // Before message version 4 there is no parent token.
        assert_eq!(exit.parent_pidversion, 0);
    }

    #[test]
    fn a_file_message_is_no_process_row() {
        assert_eq!(process_event(&write_log(), &users), None);
    }
}
