//! How the ETW rows are kept in the store (the codec's format, `crate::codec::wire`).

use super::{
    EtwFileEvent, EtwProcessEvent, EtwSocketEvent, FileOperation, ProcessEventType, SocketAction,
};
use crate::{
    codec::DecodeError,
    codec::wire::{Reader, Writer},
};

const PROCESS_V1: u8 = 1;
const FILE_V1: u8 = 1;
const SOCKET_V1: u8 = 1;

pub fn encode_process(event: &EtwProcessEvent) -> Vec<u8> {
    let mut w = Writer::new(PROCESS_V1);
    w.byte(match event.event_type {
        ProcessEventType::ProcessStart => 1,
        ProcessEventType::ProcessStop => 2,
    });
    w.uint(event.time_ns);
    w.uint(event.time_windows);
    w.uint(event.header_pid.into());
    w.uint(event.pid.into());
    w.uint(event.ppid.into());
    w.uint(event.session_id.into());
    w.uint(event.flags.into());
    w.int(event.exit_code.into());
    w.str(&event.path);
    w.str(&event.cmdline);
    w.str(&event.user_sid);
    w.str(&event.username);
    w.str(&event.token_elevation_type);
    w.uint(event.token_elevation_status.into());
    w.str(&event.mandatory_label);
    w.uint(event.process_sequence_number);
    w.uint(event.parent_process_sequence_number);
    w.0
}

pub fn decode_process(bytes: &[u8]) -> Result<EtwProcessEvent, DecodeError> {
    let mut r = Reader::new(bytes, PROCESS_V1)?;
    let event_type = match r.byte()? {
        1 => ProcessEventType::ProcessStart,
        2 => ProcessEventType::ProcessStop,
        _ => return Err(DecodeError::Invalid("type")),
    };
    let event = EtwProcessEvent {
        event_type,
        time_ns: r.uint()?,
        time_windows: r.uint()?,
        header_pid: r.u32("header_pid")?,
        pid: r.u32("pid")?,
        ppid: r.u32("ppid")?,
        session_id: r.u32("session_id")?,
        flags: r.u32("flags")?,
        exit_code: r.i32("exit_code")?,
        path: r.str("path")?,
        cmdline: r.str("cmdline")?,
        user_sid: r.str("user_sid")?,
        username: r.str("username")?,
        token_elevation_type: r.str("token_elevation_type")?,
        token_elevation_status: r.u32("token_elevation_status")?,
        mandatory_label: r.str("mandatory_label")?,
        process_sequence_number: r.uint()?,
        parent_process_sequence_number: r.uint()?,
    };
    r.finish()?;
    Ok(event)
}

pub fn encode_file(event: &EtwFileEvent) -> Vec<u8> {
    let mut w = Writer::new(FILE_V1);
    w.byte(event.operation.code());
    w.uint(event.time_ns);
    w.uint(event.pid.into());
    w.uint(event.tid.into());
    w.str(&event.path);
    w.uint(event.file_object);
    w.uint(event.create_options.into());
    w.uint(event.attributes.into());
    w.uint(event.share_access.into());
    w.uint(event.offset);
    w.uint(event.size.into());
    w.0
}

pub fn decode_file(bytes: &[u8]) -> Result<EtwFileEvent, DecodeError> {
    let mut r = Reader::new(bytes, FILE_V1)?;
    let operation = FileOperation::from_code(r.byte()?).ok_or(DecodeError::Invalid("operation"))?;
    let event = EtwFileEvent {
        operation,
        time_ns: r.uint()?,
        pid: r.u32("pid")?,
        tid: r.u32("tid")?,
        path: r.str("path")?,
        file_object: r.uint()?,
        create_options: r.u32("create_options")?,
        attributes: r.u32("attributes")?,
        share_access: r.u32("share_access")?,
        offset: r.uint()?,
        size: r.u32("size")?,
    };
    r.finish()?;
    Ok(event)
}

pub fn encode_socket(event: &EtwSocketEvent) -> Vec<u8> {
    let mut w = Writer::new(SOCKET_V1);
    w.byte(event.action.code());
    w.uint(event.time_ns);
    w.uint(event.pid.into());
    w.uint(event.family.into());
    w.uint(event.protocol.into());
    w.str(&event.local_address);
    w.uint(event.local_port.into());
    w.str(&event.remote_address);
    w.uint(event.remote_port.into());
    w.uint(event.size.into());
    w.uint(event.connection_id);
    w.0
}

pub fn decode_socket(bytes: &[u8]) -> Result<EtwSocketEvent, DecodeError> {
    let mut r = Reader::new(bytes, SOCKET_V1)?;
    let action = SocketAction::from_code(r.byte()?).ok_or(DecodeError::Invalid("action"))?;
    let event = EtwSocketEvent {
        action,
        time_ns: r.uint()?,
        pid: r.u32("pid")?,
        family: r.u16("family")?,
        protocol: r.u16("protocol")?,
        local_address: r.str("local_address")?,
        local_port: r.u16("local_port")?,
        remote_address: r.str("remote_address")?,
        remote_port: r.u16("remote_port")?,
        size: r.u32("size")?,
        connection_id: r.uint()?,
    };
    r.finish()?;
    Ok(event)
}

#[cfg(test)]
mod tests {
    use super::super::{
        file::FileTracker, fixtures::*, network::socket_event, process::ProcessTracker,
    };
    use super::*;

    #[test]
    fn every_etw_row_reads_back_as_it_was_stored_and_a_cut_one_is_an_error() {
        let no_names = |_: &str| -> Option<String> { None };
        let mut processes = ProcessTracker::new(volumes());
        processes
            .push(&manifest_process_start(), &no_names)
            .expect("maps");
        let start = processes
            .push(&logger_process_start(), &no_names)
            .expect("maps")
            .expect("row");
        let stop = processes
            .push(&logger_process_end(), &no_names)
            .expect("maps")
            .expect("row");
        for event in [start, stop] {
            let bytes = encode_process(&event);
            assert_eq!(decode_process(&bytes), Ok(event));
            assert_eq!(
                decode_process(&bytes[..bytes.len() - 1]),
                Err(DecodeError::Truncated)
            );
        }
        let file = FileTracker::new(volumes())
            .push(&file_create_new())
            .expect("maps")
            .expect("row");
        let bytes = encode_file(&file);
        assert_eq!(decode_file(&bytes), Ok(file));
        let mut extra = bytes.clone();
        extra.push(0);
        assert_eq!(
            decode_file(&extra),
            Err(DecodeError::Invalid("trailing bytes"))
        );
        for record in [tcp_connect_v4(), tcp_accept_v6(), udp_send_v4()] {
            let socket = socket_event(&record).expect("maps").expect("row");
            let bytes = encode_socket(&socket);
            assert_eq!(decode_socket(&bytes), Ok(socket));
        }
        assert_eq!(decode_socket(&[9]), Err(DecodeError::Version(9)));
    }
}
