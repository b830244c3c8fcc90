//! endpoint-sec's view of a message copied into the platform-neutral [`Message`] the mapping
//! reads, inside the client's handler (the message is ES's until the handler returns).

use std::{ffi::OsStr, time::UNIX_EPOCH};

use endpoint_sec::{Event as EsEvent, EventCreateDestinationFile, EventRenameDestinationFile};

use crate::es::{AuditToken, Destination, Event, Message, Process};

fn text(value: &OsStr) -> String {
    value.to_string_lossy().into_owned()
}

fn token(token: endpoint_sec::AuditToken) -> AuditToken {
    AuditToken(token.raw_token().val)
}

fn pid(value: i32) -> u32 {
    u32::try_from(value).unwrap_or(0)
}

fn process(process: &endpoint_sec::Process<'_>) -> Process {
    Process {
        audit_token: token(process.audit_token()),
        ppid: pid(process.ppid()),
        original_ppid: pid(process.original_ppid()),
        parent_audit_token: process.parent_audit_token().map(token),
        responsible_audit_token: process.responsible_audit_token().map(token),
        session_id: pid(process.session_id()),
        executable: text(process.executable().path()),
        signing_id: text(process.signing_id()),
        team_id: text(process.team_id()),
        cdhash: process.cdhash(),
        is_platform_binary: process.is_platform_binary(),
        codesigning_flags: process.codesigning_flags(),
    }
}

/// The message, if it is one of the events the mapping knows.
pub fn message(message: &endpoint_sec::Message) -> Option<Message> {
    let event = match message.event()? {
        EsEvent::NotifyExec(exec) => Event::Exec {
            target: process(&exec.target()),
            args: exec.args().map(text).collect(),
            env: exec.envs().map(text).collect(),
            cwd: exec.cwd().map(|cwd| text(cwd.path())),
        },
        EsEvent::NotifyFork(fork) => Event::Fork {
            child: process(&fork.child()),
        },
        EsEvent::NotifyExit(exit) => Event::Exit { stat: exit.stat() },
        EsEvent::NotifyCreate(create) => Event::Create {
            destination: match create.destination()? {
                EventCreateDestinationFile::ExistingFile { file, .. } => {
                    Destination::ExistingFile(text(file.path()))
                }
                EventCreateDestinationFile::NewPath {
                    directory,
                    filename,
                    ..
                } => Destination::NewPath {
                    dir: text(directory.path()),
                    filename: text(filename),
                },
                _ => return None,
            },
        },
        EsEvent::NotifyRename(rename) => Event::Rename {
            source: text(rename.source().path()),
            destination: match rename.destination()? {
                EventRenameDestinationFile::ExistingFile { file, .. } => {
                    Destination::ExistingFile(text(file.path()))
                }
                EventRenameDestinationFile::NewPath {
                    directory,
                    filename,
                    ..
                } => Destination::NewPath {
                    dir: text(directory.path()),
                    filename: text(filename),
                },
                _ => return None,
            },
        },
        EsEvent::NotifyWrite(write) => Event::Write {
            target: text(write.target().path()),
        },
        EsEvent::NotifyTruncate(truncate) => Event::Truncate {
            target: text(truncate.target().path()),
        },
        EsEvent::NotifyUnlink(unlink) => Event::Unlink {
            target: text(unlink.target().path()),
        },
        EsEvent::NotifyOpen(open) => Event::Open {
            target: text(open.file().path()),
            fflag: open.fflag(),
        },
        _ => return None,
    };
    let time_ns = message
        .time()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| {
            u64::try_from(since.as_nanos()).unwrap_or(u64::MAX)
        });
    Some(Message {
        version: message.version(),
        time_ns,
        seq_num: message.seq_num().unwrap_or(0),
        global_seq_num: message.global_seq_num().unwrap_or(0),
        process: process(&message.process()),
        event,
    })
}
