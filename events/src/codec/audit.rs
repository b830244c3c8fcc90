//! The stored form of the audit publisher's events: `process_events`, `socket_events` and
//! `user_events`.

use super::{
    DecodeError,
    wire::{Reader, Writer},
};
use crate::model::{AuditIds, AuditProcessEvent, AuditSocketEvent, UserEvent};

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
