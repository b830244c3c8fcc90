//! The stored form of the audit publisher's events: `process_events`, `socket_events` and
//! `user_events`.

use super::{AuditIds, AuditProcessEvent, AuditSocketEvent, UserEvent};
use crate::codec::{
    DecodeError,
    wire::{Reader, Writer},
};

const AUDIT_PROCESS_EVENT_V1: u8 = 1;
const AUDIT_SOCKET_EVENT_V1: u8 = 1;
const USER_EVENT_V1: u8 = 1;

fn write_audit_ids(w: &mut Writer, ids: &AuditIds) {
    for id in [
        ids.auid, ids.uid, ids.euid, ids.suid, ids.fsuid, ids.gid, ids.egid, ids.sgid, ids.fsgid,
    ] {
        w.uint(id.into());
    }
}

fn read_audit_ids(r: &mut Reader<'_>) -> Result<AuditIds, DecodeError> {
    Ok(AuditIds {
        auid: r.u32("auid")?,
        uid: r.u32("uid")?,
        euid: r.u32("euid")?,
        suid: r.u32("suid")?,
        fsuid: r.u32("fsuid")?,
        gid: r.u32("gid")?,
        egid: r.u32("egid")?,
        sgid: r.u32("sgid")?,
        fsgid: r.u32("fsgid")?,
    })
}

pub fn encode_audit_process_event(event: &AuditProcessEvent) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(128 + event.path.len() + event.cwd.len()));
    w.0.push(AUDIT_PROCESS_EVENT_V1);
    w.0.push(event.syscall.code());
    w.uint(event.time_ns);
    w.uint(event.audit_id);
    w.uint(event.pid.into());
    w.uint(event.parent.into());
    w.str(&event.path);
    w.str(&event.mode);
    w.uint(event.argv.len() as u64);
    for arg in &event.argv {
        w.str(arg);
    }
    w.str(&event.cwd);
    write_audit_ids(&mut w, &event.ids);
    w.uint(event.owner_uid.into());
    w.uint(event.owner_gid.into());
    w.str(&event.tty);
    w.uint(event.session.into());
    w.str(&event.comm);
    w.uint(event.uptime);
    w.int(event.atime);
    w.int(event.mtime);
    w.int(event.ctime);
    w.0.push(u8::from(event.incomplete));
    w.0
}

pub fn decode_audit_process_event(bytes: &[u8]) -> Result<AuditProcessEvent, DecodeError> {
    let mut r = Reader(bytes);
    r.version(AUDIT_PROCESS_EVENT_V1)?;
    let event = AuditProcessEvent {
        syscall: r.syscall()?,
        time_ns: r.uint()?,
        audit_id: r.uint()?,
        pid: r.u32("pid")?,
        parent: r.u32("parent")?,
        path: r.str("path")?,
        mode: r.str("mode")?,
        argv: r.strings("argv")?,
        cwd: r.str("cwd")?,
        ids: read_audit_ids(&mut r)?,
        owner_uid: r.u32("owner_uid")?,
        owner_gid: r.u32("owner_gid")?,
        tty: r.str("tty")?,
        session: r.u32("ses")?,
        comm: r.str("comm")?,
        uptime: r.uint()?,
        atime: r.int()?,
        mtime: r.int()?,
        ctime: r.int()?,
        incomplete: r.flag("incomplete")?,
    };
    r.finish()?;
    Ok(event)
}

pub fn encode_audit_socket_event(event: &AuditSocketEvent) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(96 + event.path.len()));
    w.0.push(AUDIT_SOCKET_EVENT_V1);
    w.0.push(event.syscall.code());
    w.uint(event.time_ns);
    w.uint(event.audit_id);
    w.uint(event.pid.into());
    w.uint(event.parent.into());
    write_audit_ids(&mut w, &event.ids);
    w.str(&event.path);
    w.str(&event.comm);
    w.int(event.fd);
    w.int(event.result);
    w.str(&event.status);
    w.uint(event.family.into());
    w.str(&event.local_address);
    w.uint(event.local_port.into());
    w.str(&event.remote_address);
    w.uint(event.remote_port.into());
    w.str(&event.socket_path);
    w.uint(event.uptime);
    w.0.push(u8::from(event.incomplete));
    w.0
}

pub fn decode_audit_socket_event(bytes: &[u8]) -> Result<AuditSocketEvent, DecodeError> {
    let mut r = Reader(bytes);
    r.version(AUDIT_SOCKET_EVENT_V1)?;
    let event = AuditSocketEvent {
        syscall: r.syscall()?,
        time_ns: r.uint()?,
        audit_id: r.uint()?,
        pid: r.u32("pid")?,
        parent: r.u32("parent")?,
        ids: read_audit_ids(&mut r)?,
        path: r.str("path")?,
        comm: r.str("comm")?,
        fd: r.int()?,
        result: r.int()?,
        status: r.str("status")?,
        family: r.u16("family")?,
        local_address: r.str("local_address")?,
        local_port: r.u16("local_port")?,
        remote_address: r.str("remote_address")?,
        remote_port: r.u16("remote_port")?,
        socket_path: r.str("socket")?,
        uptime: r.uint()?,
        incomplete: r.flag("incomplete")?,
    };
    r.finish()?;
    Ok(event)
}

pub fn encode_user_event(event: &UserEvent) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(64 + event.message.len()));
    w.0.push(USER_EVENT_V1);
    w.uint(event.time_ns);
    w.uint(event.audit_id);
    w.uint(event.message_type.into());
    w.uint(event.pid.into());
    w.uint(event.uid.into());
    w.uint(event.auid.into());
    w.uint(event.session.into());
    for text in [
        &event.message,
        &event.path,
        &event.address,
        &event.terminal,
        &event.hostname,
        &event.result,
    ] {
        w.str(text);
    }
    w.uint(event.uptime);
    w.0
}

pub fn decode_user_event(bytes: &[u8]) -> Result<UserEvent, DecodeError> {
    let mut r = Reader(bytes);
    r.version(USER_EVENT_V1)?;
    let event = UserEvent {
        time_ns: r.uint()?,
        audit_id: r.uint()?,
        message_type: r.u16("type")?,
        pid: r.u32("pid")?,
        uid: r.u32("uid")?,
        auid: r.u32("auid")?,
        session: r.u32("ses")?,
        message: r.str("message")?,
        path: r.str("path")?,
        address: r.str("address")?,
        terminal: r.str("terminal")?,
        hostname: r.str("hostname")?,
        result: r.str("result")?,
        uptime: r.uint()?,
    };
    r.finish()?;
    Ok(event)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::Syscall;

    pub(crate) fn sample_audit_process_event(time_ns: u64) -> AuditProcessEvent {
        AuditProcessEvent {
            syscall: Syscall::Execve,
            time_ns,
            audit_id: 77,
            pid: 10,
            parent: 9,
            path: "/usr/bin/dash".into(),
            mode: "0100755".into(),
            argv: vec!["sh".into(), "a b".into(), "\u{fffd}".into()],
            cwd: "/tmp".into(),
            ids: AuditIds {
                auid: u32::MAX,
                uid: 1000,
                ..AuditIds::default()
            },
            owner_uid: 0,
            owner_gid: 0,
            tty: "pts1".into(),
            session: u32::MAX,
            comm: "sh".into(),
            uptime: 42,
            atime: 1,
            mtime: -2,
            ctime: 3,
            incomplete: true,
        }
    }

    #[test]
    fn audit_events_round_trip_and_reject_truncation() {
        let process = sample_audit_process_event(5);
        let bytes = encode_audit_process_event(&process);
        assert_eq!(decode_audit_process_event(&bytes), Ok(process));
        for len in 0..bytes.len() {
            assert!(
                decode_audit_process_event(&bytes[..len]).is_err(),
                "prefix {len}"
            );
        }
        let socket = AuditSocketEvent {
            syscall: Syscall::Connect,
            time_ns: 6,
            audit_id: 8,
            pid: 1,
            parent: 0,
            ids: AuditIds::default(),
            path: "/usr/bin/curl".into(),
            comm: "curl".into(),
            fd: 3,
            result: -115,
            status: "in_progress".into(),
            family: 2,
            local_address: String::new(),
            local_port: 0,
            remote_address: "127.0.0.1".into(),
            remote_port: 443,
            socket_path: String::new(),
            uptime: 1,
            incomplete: false,
        };
        let bytes = encode_audit_socket_event(&socket);
        assert_eq!(decode_audit_socket_event(&bytes), Ok(socket));
        for len in 0..bytes.len() {
            assert!(
                decode_audit_socket_event(&bytes[..len]).is_err(),
                "prefix {len}"
            );
        }
        let user = UserEvent {
            time_ns: 1,
            audit_id: 2,
            message_type: 1112,
            pid: 3,
            uid: 0,
            auid: 1000,
            session: 4,
            message: "op=login res=success".into(),
            path: "/usr/bin/login".into(),
            address: String::new(),
            terminal: "tty1".into(),
            hostname: String::new(),
            result: "success".into(),
            uptime: 9,
        };
        let bytes = encode_user_event(&user);
        assert_eq!(decode_user_event(&bytes), Ok(user));
        for len in 0..bytes.len() {
            assert!(decode_user_event(&bytes[..len]).is_err(), "prefix {len}");
        }
    }
}
