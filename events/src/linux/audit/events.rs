//! Assembled audit events into vigil's events: a pure function from an event's records to a
//! `process_events`, `socket_events` or `user_events` row, with osquery's meanings.

use super::{
    assemble::{Assembled, is_user_message},
    record::{Record, fields, unhex},
    syscalls::{self, AuditSyscall},
};
use crate::{
    event_table::audit::{AuditIds, AuditProcessEvent, AuditSocketEvent, UserEvent},
    event_table::{Event, EventTable},
};

pub const AUDIT_SYSCALL: u16 = 1300;
pub const AUDIT_PATH: u16 = 1302;
pub const AUDIT_SOCKADDR: u16 = 1306;
pub const AUDIT_CWD: u16 = 1307;
pub const AUDIT_EXECVE: u16 = 1309;

const CLONE_PARENT: u64 = 0x0000_8000;
const CLONE_THREAD: u64 = 0x0001_0000;
const EINPROGRESS: i64 = 115;
const EAGAIN: i64 = 11;

/// Which events the tables take (osquery's `--audit_allow_*` reading flags).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interest {
    pub process_events: bool,
    pub socket_events: bool,
    pub accept_events: bool,
    pub failed_socket_events: bool,
    pub unix_socket_events: bool,
    pub user_events: bool,
    /// vigil's own process: its events are dropped.
    pub own_pid: u32,
}

/// What became of one assembled event.
// One value per event, moved once into the channel: boxing the row would add an allocation per
// event and save nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, PartialEq, Eq)]
pub enum Mapped {
    Event(Event),
    /// Not for vigil's tables (another rule's records, a thread's clone, a failed call left
    /// out, vigil's own call).
    Skipped,
    /// For `table`, but its records do not make a row.
    Malformed(EventTable, &'static str),
}

/// Context a row takes from the reader, not from the records.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReadAt {
    /// Seconds since boot.
    pub uptime: u64,
}

pub fn map(event: &Assembled, interest: &Interest, at: ReadAt) -> Mapped {
    if let [record] = event.records.as_slice()
        && is_user_message(record.kind)
    {
        return if interest.user_events {
            user_event(record, at)
        } else {
            Mapped::Skipped
        };
    }
    let Some(syscall) = event.record(AUDIT_SYSCALL) else {
        return Mapped::Skipped;
    };
    let Some(call) = syscalls::of(syscall.hex("arch"), syscall.int("syscall")) else {
        return Mapped::Skipped;
    };
    if syscall.int("pid") == Some(i64::from(interest.own_pid)) {
        return Mapped::Skipped;
    }
    match call {
        AuditSyscall::Exec(_) | AuditSyscall::Fork(_) | AuditSyscall::Clone(_)
            if interest.process_events =>
        {
            process_event(event, syscall, call, at)
        }
        AuditSyscall::Socket(_) if interest.socket_events => {
            socket_event(event, syscall, call, interest, at)
        }
        _ => Mapped::Skipped,
    }
}

fn time_ns(record: &Record) -> u64 {
    record.time_ms.saturating_mul(1_000_000)
}

fn ids(record: &Record) -> AuditIds {
    AuditIds {
        auid: record.id("auid"),
        uid: record.id("uid"),
        euid: record.id("euid"),
        suid: record.id("suid"),
        fsuid: record.id("fsuid"),
        gid: record.id("gid"),
        egid: record.id("egid"),
        sgid: record.id("sgid"),
        fsgid: record.id("fsgid"),
    }
}

fn pid(record: &Record, key: &str) -> u32 {
    record
        .int(key)
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or(0)
}

fn process_event(event: &Assembled, syscall: &Record, call: AuditSyscall, at: ReadAt) -> Mapped {
    const TABLE: EventTable = EventTable::ProcessEvents;
    // osquery reports successful process calls only.
    if syscall.raw("success") != "yes" {
        return Mapped::Skipped;
    }
    let (pid, parent) = match call {
        AuditSyscall::Exec(_) => (pid(syscall, "pid"), pid(syscall, "ppid")),
        AuditSyscall::Fork(_) => (pid(syscall, "exit"), pid(syscall, "pid")),
        AuditSyscall::Clone(_) => {
            let flags = syscall.hex("a0").unwrap_or(0);
            if flags & CLONE_THREAD != 0 {
                return Mapped::Skipped;
            }
            let parent = if flags & CLONE_PARENT != 0 {
                pid(syscall, "ppid")
            } else {
                pid(syscall, "pid")
            };
            (pid(syscall, "exit"), parent)
        }
        AuditSyscall::Socket(_) => return Mapped::Skipped,
    };
    if pid == 0 {
        return Mapped::Malformed(TABLE, "no process id in the SYSCALL record");
    }
    let mut row = AuditProcessEvent {
        syscall: call.syscall(),
        time_ns: time_ns(syscall),
        audit_id: event.serial,
        pid,
        parent,
        path: syscall.text("exe"),
        mode: String::new(),
        argv: Vec::new(),
        cwd: String::new(),
        ids: ids(syscall),
        owner_uid: 0,
        owner_gid: 0,
        tty: syscall.raw("tty"),
        session: syscall.id("ses"),
        comm: syscall.text("comm"),
        uptime: at.uptime,
        atime: 0,
        mtime: 0,
        ctime: 0,
        incomplete: !event.complete,
    };
    if let AuditSyscall::Exec(_) = call {
        let execve: Vec<&Record> = event.records_of(AUDIT_EXECVE).collect();
        if execve.is_empty() && event.complete {
            return Mapped::Malformed(TABLE, "an exec without its EXECVE record");
        }
        row.argv = arguments(&execve);
        if let Some(cwd) = event.record(AUDIT_CWD) {
            row.cwd = cwd.text("cwd");
        }
        if let Some(path) = event.record(AUDIT_PATH) {
            row.mode = path.raw("mode");
            row.owner_uid = path.id("ouid");
            row.owner_gid = path.id("ogid");
        }
    }
    Mapped::Event(Event::AuditProcess(row))
}

/// The arguments of EXECVE records: `argc=N a0=.. a1=..`, an argument too long for one field in
/// pieces (`a1_len=20000 a1[0]=.. a1[1]=..`), over one record or several. Each value (or piece)
/// is quoted text or hex.
pub fn arguments(records: &[&Record]) -> Vec<String> {
    let argc = records
        .iter()
        .find_map(|r| r.int("argc"))
        .and_then(|n| usize::try_from(n).ok());
    let mut args: Vec<Vec<u8>> = Vec::new();
    for field in records.iter().flat_map(|r| r.fields.iter()) {
        let Some(rest) = field.key.strip_prefix('a') else {
            continue;
        };
        let (index, piece) = match rest.split_once('[') {
            Some((index, piece)) => (index, Some(piece)),
            None => (rest, None),
        };
        let Ok(index) = index.parse::<usize>() else {
            continue; // `aN_len`, or not an argument
        };
        // An argument index past argc (or absurdly large) is not one.
        if argc.is_some_and(|argc| index >= argc) || index > 1 << 20 {
            continue;
        }
        if args.len() <= index {
            args.resize(index + 1, Vec::new());
        }
        let value = match field.quote {
            super::record::Quote::None => {
                unhex(&field.value).unwrap_or_else(|| field.value.clone())
            }
            _ => field.value.clone(),
        };
        match piece {
            Some(_) => args[index].extend_from_slice(&value),
            None => args[index] = value,
        }
    }
    if let Some(argc) = argc
        && argc <= 1 << 20
        && args.len() < argc
    {
        args.resize(argc, Vec::new());
    }
    args.into_iter()
        .map(|a| String::from_utf8_lossy(&a).into_owned())
        .collect()
}

fn socket_event(
    event: &Assembled,
    syscall: &Record,
    call: AuditSyscall,
    interest: &Interest,
    at: ReadAt,
) -> Mapped {
    const TABLE: EventTable = EventTable::SocketEvents;
    let kind = call.syscall();
    let is_accept = matches!(
        kind,
        crate::model::Syscall::Accept | crate::model::Syscall::Accept4
    );
    if is_accept && !interest.accept_events {
        return Mapped::Skipped;
    }
    let result = syscall.int("exit").unwrap_or(0);
    let status = if syscall.raw("success") == "yes" {
        "succeeded"
    } else if kind == crate::model::Syscall::Connect && result == -EINPROGRESS {
        "in_progress"
    } else if is_accept && result == -EAGAIN {
        // A non-blocking accept with no client waiting: no socket was involved.
        return Mapped::Skipped;
    } else if interest.failed_socket_events {
        "failed"
    } else {
        return Mapped::Skipped;
    };
    let Some(saddr) = event
        .record(AUDIT_SOCKADDR)
        .and_then(|r| r.field("saddr"))
        .and_then(|f| unhex(&f.value))
    else {
        if event.complete {
            return Mapped::Malformed(TABLE, "a socket call without its SOCKADDR record");
        }
        return Mapped::Skipped;
    };
    let Some(address) = sockaddr(&saddr) else {
        // Netlink and other families: not for this table.
        return Mapped::Skipped;
    };
    if address.family == 1 && !interest.unix_socket_events {
        return Mapped::Skipped;
    }
    let mut row = AuditSocketEvent {
        syscall: kind,
        time_ns: time_ns(syscall),
        audit_id: event.serial,
        pid: pid(syscall, "pid"),
        parent: pid(syscall, "ppid"),
        ids: ids(syscall),
        path: syscall.text("exe"),
        comm: syscall.text("comm"),
        fd: syscall
            .hex("a0")
            .and_then(|fd| i64::try_from(fd).ok())
            .unwrap_or(-1),
        result,
        status: status.to_owned(),
        family: address.family,
        local_address: String::new(),
        local_port: 0,
        remote_address: String::new(),
        remote_port: 0,
        socket_path: address.path,
        uptime: at.uptime,
        incomplete: !event.complete,
    };
    // A bind names the local end; connect and accept the remote one.
    if kind == crate::model::Syscall::Bind {
        row.local_address = address.ip;
        row.local_port = address.port;
    } else {
        row.remote_address = address.ip;
        row.remote_port = address.port;
    }
    Mapped::Event(Event::AuditSocket(row))
}

/// A socket address as the SOCKADDR record holds it (the kernel's `struct sockaddr` bytes).
#[derive(Debug, PartialEq, Eq)]
pub struct SockAddr {
    pub family: u16,
    pub ip: String,
    pub port: u16,
    pub path: String,
}

pub fn sockaddr(bytes: &[u8]) -> Option<SockAddr> {
    let family = u16::from_ne_bytes(bytes.get(..2)?.try_into().ok()?);
    let port = || bytes.get(2..4).map(|p| u16::from_be_bytes([p[0], p[1]]));
    match family {
        2 => {
            let ip: [u8; 4] = bytes.get(4..8)?.try_into().ok()?;
            Some(SockAddr {
                family,
                ip: std::net::Ipv4Addr::from(ip).to_string(),
                port: port()?,
                path: String::new(),
            })
        }
        10 => {
            let ip: [u8; 16] = bytes.get(8..24)?.try_into().ok()?;
            Some(SockAddr {
                family,
                ip: std::net::Ipv6Addr::from(ip).to_string(),
                port: port()?,
                path: String::new(),
            })
        }
        1 => {
            let name = bytes.get(2..).unwrap_or_default();
            let path = match name.split_first() {
                // An abstract name: a NUL, then the name (its length is the address's).
                Some((0, rest)) if !rest.is_empty() => {
                    format!("@{}", String::from_utf8_lossy(rest).trim_end_matches('\0'))
                }
                _ => {
                    let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
                    String::from_utf8_lossy(&name[..end]).into_owned()
                }
            };
            Some(SockAddr {
                family,
                ip: String::new(),
                port: 0,
                path,
            })
        }
        _ => None,
    }
}

fn user_event(record: &Record, at: ReadAt) -> Mapped {
    let message = record.field("msg");
    let inner = message.map(|m| fields(&m.value)).unwrap_or_default();
    let find = |key: &str| {
        inner
            .iter()
            .find(|f| f.key == key)
            .and_then(|f| f.untrusted())
            .map(|v| String::from_utf8_lossy(&v).into_owned())
            .unwrap_or_default()
    };
    Mapped::Event(Event::User(UserEvent {
        time_ns: time_ns(record),
        audit_id: record.serial,
        message_type: record.kind,
        pid: pid(record, "pid"),
        uid: record.id("uid"),
        auid: record.id("auid"),
        session: record.id("ses"),
        message: message
            .map(|m| String::from_utf8_lossy(&m.value).into_owned())
            .unwrap_or_default(),
        path: find("exe"),
        address: find("addr"),
        terminal: find("terminal"),
        hostname: find("hostname"),
        result: find("res"),
        uptime: at.uptime,
    }))
}
