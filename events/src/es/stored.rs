//! How the Endpoint Security rows are kept in the store (the codec's format, `crate::codec::wire`).

use super::{EsFileEvent, EsProcessEvent};
use crate::{
    codec::DecodeError,
    codec::wire::{Reader, Writer},
};

const PROCESS_V1: u8 = 1;
const FILE_V1: u8 = 1;

pub fn encode_process(event: &EsProcessEvent) -> Vec<u8> {
    let mut w = Writer::new(PROCESS_V1);
    w.uint(event.version.into());
    w.uint(event.seq_num);
    w.uint(event.global_seq_num);
    w.str(&event.event_type);
    w.uint(event.time_ns);
    for value in [
        event.pid,
        event.pidversion,
        event.parent,
        event.parent_pidversion,
        event.original_parent,
        event.session_id,
        event.responsible_pid,
        event.responsible_pidversion,
    ] {
        w.uint(value.into());
    }
    w.str(&event.path);
    w.str(&event.cwd);
    for value in [event.uid, event.euid, event.gid, event.egid] {
        w.uint(value.into());
    }
    w.str(&event.username);
    w.str(&event.signing_id);
    w.str(&event.team_id);
    w.str(&event.cdhash);
    w.byte(u8::from(event.platform_binary));
    w.str(&event.codesigning_flags);
    w.str(&event.cmdline);
    w.uint(event.cmdline_count.into());
    w.str(&event.env);
    w.uint(event.env_count.into());
    w.int(event.exit_code.into());
    w.uint(event.child_pid.into());
    w.0
}

pub fn decode_process(bytes: &[u8]) -> Result<EsProcessEvent, DecodeError> {
    let mut r = Reader::new(bytes, PROCESS_V1)?;
    let event = EsProcessEvent {
        version: r.u32("version")?,
        seq_num: r.uint()?,
        global_seq_num: r.uint()?,
        event_type: r.str("event_type")?,
        time_ns: r.uint()?,
        pid: r.u32("pid")?,
        pidversion: r.u32("pidversion")?,
        parent: r.u32("parent")?,
        parent_pidversion: r.u32("parent_pidversion")?,
        original_parent: r.u32("original_parent")?,
        session_id: r.u32("session_id")?,
        responsible_pid: r.u32("responsible_pid")?,
        responsible_pidversion: r.u32("responsible_pidversion")?,
        path: r.str("path")?,
        cwd: r.str("cwd")?,
        uid: r.u32("uid")?,
        euid: r.u32("euid")?,
        gid: r.u32("gid")?,
        egid: r.u32("egid")?,
        username: r.str("username")?,
        signing_id: r.str("signing_id")?,
        team_id: r.str("team_id")?,
        cdhash: r.str("cdhash")?,
        platform_binary: match r.byte()? {
            0 => false,
            1 => true,
            _ => return Err(DecodeError::Invalid("platform_binary")),
        },
        codesigning_flags: r.str("codesigning_flags")?,
        cmdline: r.str("cmdline")?,
        cmdline_count: r.u32("cmdline_count")?,
        env: r.str("env")?,
        env_count: r.u32("env_count")?,
        exit_code: r.i32("exit_code")?,
        child_pid: r.u32("child_pid")?,
    };
    r.finish()?;
    Ok(event)
}

pub fn encode_file(event: &EsFileEvent) -> Vec<u8> {
    let mut w = Writer::new(FILE_V1);
    w.uint(event.version.into());
    w.uint(event.seq_num);
    w.uint(event.global_seq_num);
    w.str(&event.event_type);
    w.uint(event.time_ns);
    w.uint(event.pid.into());
    w.uint(event.parent.into());
    w.str(&event.path);
    w.str(&event.filename);
    w.str(&event.dest_filename);
    w.0
}

pub fn decode_file(bytes: &[u8]) -> Result<EsFileEvent, DecodeError> {
    let mut r = Reader::new(bytes, FILE_V1)?;
    let event = EsFileEvent {
        version: r.u32("version")?,
        seq_num: r.uint()?,
        global_seq_num: r.uint()?,
        event_type: r.str("event_type")?,
        time_ns: r.uint()?,
        pid: r.u32("pid")?,
        parent: r.u32("parent")?,
        path: r.str("path")?,
        filename: r.str("filename")?,
        dest_filename: r.str("dest_filename")?,
    };
    r.finish()?;
    Ok(event)
}

#[cfg(test)]
mod tests {
    use super::super::{MutedPaths, file::file_event, fixtures::*, process::process_event};
    use super::*;

    #[test]
    fn every_es_row_reads_back_as_it_was_stored_and_a_cut_one_is_an_error() {
        let users = |_: u32| Some("alice".to_owned());
        for message in [exec_curl(), fork_zsh(), exit_unsigned()] {
            let row = process_event(&message, &users).expect("row");
            let bytes = encode_process(&row);
            assert_eq!(decode_process(&bytes), Ok(row));
            assert_eq!(
                decode_process(&bytes[..bytes.len() - 1]),
                Err(DecodeError::Truncated)
            );
        }
        for message in [create_new_plist(), rename_over_existing(), write_log()] {
            let row = file_event(&message, &MutedPaths::default()).expect("row");
            let bytes = encode_file(&row);
            assert_eq!(decode_file(&bytes), Ok(row));
        }
        assert_eq!(decode_file(&[2]), Err(DecodeError::Version(2)));
    }
}
