//! Decoding kernel records into events. Pure functions over bytes: no kernel needed to test them,
//! and a malformed record is an error value, never a panic.

use std::mem::size_of;

use std::net::{Ipv4Addr, Ipv6Addr};

use vigil_ebpf_common::{
    ExecRecord, ExitRecord, FileRecord, ForkRecord, PathSlot, RecordHeader, RecordKind,
    SocketRecord, file_filter, path_flags, probe_error, socket_sources,
};

use crate::{
    event_table::Event,
    linux::clock::BootClock,
    model::{
        Actor, FileEvent, FileOperation, ProcessAction, ProcessEvent, SocketEvent, Syscall, Task,
    },
};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RecordError {
    #[error("record of {0} bytes is shorter than its header")]
    Short(usize),
    #[error("unknown record kind {0}")]
    Kind(u32),
    #[error("record slot `{0}` points outside the record")]
    Slot(&'static str),
}

fn read<T: Copy>(bytes: &[u8]) -> Result<T, RecordError> {
    if bytes.len() < size_of::<T>() {
        return Err(RecordError::Short(bytes.len()));
    }
    // SAFETY: the length is checked above; the record types are plain integers valid for any bit
    // pattern, and `read_unaligned` has no alignment requirement.
    Ok(unsafe { std::ptr::read_unaligned(bytes.as_ptr().cast::<T>()) })
}

/// The kernel side's syscall ids and the model's codes are the same numbers by construction
/// (checked by a test).
fn syscall(id: u32) -> Syscall {
    u8::try_from(id)
        .ok()
        .and_then(Syscall::from_code)
        .unwrap_or(Syscall::Unknown)
}

fn text(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

fn slot<'a>(data: &'a [u8], slot: &PathSlot, name: &'static str) -> Result<&'a [u8], RecordError> {
    let start = slot.offset as usize;
    let end = start
        .checked_add(slot.len as usize)
        .ok_or(RecordError::Slot(name))?;
    data.get(start..end).ok_or(RecordError::Slot(name))
}

/// A path walked leaf first: components each followed by a NUL. Returns the path root first and
/// whether it is complete.
fn walked_path(bytes: &[u8], flags: u32) -> (String, bool) {
    let mut components: Vec<&[u8]> = bytes.split(|&b| b == 0).collect();
    if bytes.last() == Some(&0) {
        components.pop();
    }
    components.reverse();
    let joined = components
        .iter()
        .map(|c| String::from_utf8_lossy(c))
        .collect::<Vec<_>>()
        .join("/");
    if flags & path_flags::COMPLETE != 0 {
        (format!("/{joined}"), true)
    } else {
        (joined, false)
    }
}

/// `dir` joined with a relative `path`, with `.` components dropped.
fn join_relative(dir: &str, path: &str) -> String {
    let mut out = dir.trim_end_matches('/').to_owned();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            other => {
                out.push('/');
                out.push_str(other);
            }
        }
    }
    out
}

fn argv(bytes: &[u8]) -> Vec<String> {
    if bytes.is_empty() {
        return Vec::new();
    }
    let trimmed = bytes.strip_suffix(&[0]).unwrap_or(bytes);
    trimmed
        .split(|&b| b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect()
}

fn base_event(header: &RecordHeader, action: ProcessAction, clock: &BootClock) -> ProcessEvent {
    ProcessEvent {
        action,
        syscall: syscall(header.syscall),
        time_ns: clock.wall_ns(header.boot_ns),
        task: task(header),
        path: String::new(),
        filename: String::new(),
        cwd: String::new(),
        argv: Vec::new(),
        argv_truncated: false,
        exit_code: 0,
        exit_signal: 0,
        child_pid: 0,
        duration_ns: 0,
        probe_error: header.probe_error,
        parent_path: String::new(),
    }
}

fn decode_exec(bytes: &[u8], clock: &BootClock) -> Result<ProcessEvent, RecordError> {
    let record: ExecRecord = read(bytes)?;
    let data = &bytes[size_of::<ExecRecord>()..];
    let data = data
        .get(..record.data_len as usize)
        .ok_or(RecordError::Slot("data"))?;
    let kind = RecordKind::from_u32(record.header.kind);
    let action = if kind == Some(RecordKind::Exec) {
        ProcessAction::Exec
    } else {
        ProcessAction::ExecFailed
    };
    let mut event = base_event(&record.header, action, clock);
    event.exit_code = record.result;
    event.duration_ns = record.duration_ns;
    let argv_bytes = data
        .get(..record.argv_len as usize)
        .ok_or(RecordError::Slot("argv"))?;
    event.argv = argv(argv_bytes);
    event.argv_truncated = record.argv_full_len > record.argv_len;
    event.filename = text(slot(data, &record.filename, "filename")?);

    let (cwd, cwd_complete) = walked_path(slot(data, &record.cwd, "cwd")?, record.cwd.flags);
    event.cwd = cwd;
    let (exe, exe_complete) = walked_path(slot(data, &record.exe, "exe")?, record.exe.flags);
    event.path = if exe_complete {
        exe
    } else if event.filename.starts_with('/') {
        event.filename.clone()
    } else if cwd_complete && !event.filename.is_empty() {
        join_relative(&event.cwd, &event.filename)
    } else {
        event.filename.clone()
    };
    if action == ProcessAction::Exec && !exe_complete {
        event.probe_error |= probe_error::EXE;
    }
    if action == ProcessAction::Exec && !cwd_complete {
        event.probe_error |= probe_error::CWD;
    }
    Ok(event)
}

/// Splits a wait status (`task_struct.exit_code`) into the exit code shells report (the status,
/// or 128 + the signal) and the signal.
pub fn exit_status(raw: u32) -> (i64, u32) {
    let signal = raw & 0x7f;
    if signal == 0 {
        (i64::from((raw >> 8) & 0xff), 0)
    } else {
        (128 + i64::from(signal), signal)
    }
}

/// Decodes one ring buffer record.
pub fn decode_record(bytes: &[u8], clock: &BootClock) -> Result<Event, RecordError> {
    let header: RecordHeader = read(bytes)?;
    match RecordKind::from_u32(header.kind) {
        Some(RecordKind::Exec | RecordKind::ExecFailed) => {
            decode_exec(bytes, clock).map(Event::Process)
        }
        Some(RecordKind::Fork) => {
            let record: ForkRecord = read(bytes)?;
            let mut event = base_event(&record.header, ProcessAction::Fork, clock);
            event.exit_code = record.child_pid;
            event.child_pid = u32::try_from(record.child_pid).unwrap_or(0);
            event.duration_ns = record.duration_ns;
            Ok(Event::Process(event))
        }
        Some(RecordKind::Exit) => {
            let record: ExitRecord = read(bytes)?;
            let mut event = base_event(&record.header, ProcessAction::Exit, clock);
            (event.exit_code, event.exit_signal) = exit_status(record.exit_code);
            Ok(Event::Process(event))
        }
        Some(RecordKind::Socket) => decode_socket(bytes, clock).map(Event::Socket),
        Some(RecordKind::File) => decode_file(bytes, clock).map(Event::File),
        None => Err(RecordError::Kind(header.kind)),
    }
}

/// The table a record belongs to, from its header alone (to count a record that fails to decode
/// against the right table).
pub fn record_table(bytes: &[u8]) -> crate::EventTable {
    match read::<RecordHeader>(bytes)
        .ok()
        .and_then(|h| RecordKind::from_u32(h.kind))
    {
        Some(RecordKind::Socket) => crate::EventTable::BpfSocketEvents,
        Some(RecordKind::File) => crate::EventTable::BpfFileEvents,
        _ => crate::EventTable::BpfProcessEvents,
    }
}

const AF_UNIX: u16 = 1;
const AF_INET: u16 = 2;
const AF_INET6: u16 = 10;

/// A socket address as the kernel's `struct sockaddr_*` lays it out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SockAddr {
    Inet {
        address: String,
        port: u16,
    },
    Unix {
        path: String,
    },
    /// A family vigil does not parse (netlink, packet, ...): only its number is reported.
    Other,
}

/// Parses the first `len` bytes of a `struct sockaddr`: family, then the family's fields.
pub fn parse_sockaddr(bytes: &[u8]) -> Option<(u16, SockAddr)> {
    let family = u16::from_ne_bytes(bytes.get(..2)?.try_into().ok()?);
    let port = || bytes.get(2..4).map(|p| u16::from_be_bytes([p[0], p[1]]));
    let parsed = match family {
        AF_INET => {
            let a: [u8; 4] = bytes.get(4..8)?.try_into().ok()?;
            SockAddr::Inet {
                address: Ipv4Addr::from(a).to_string(),
                port: port()?,
            }
        }
        AF_INET6 => {
            let a: [u8; 16] = bytes.get(8..24)?.try_into().ok()?;
            SockAddr::Inet {
                address: Ipv6Addr::from(a).to_string(),
                port: port()?,
            }
        }
        AF_UNIX => {
            let raw = bytes.get(2..).unwrap_or(&[]);
            let path = match raw.split_first() {
                // Abstract names start with a NUL; show them the way ss(8) does.
                Some((0, rest)) if !rest.is_empty() => {
                    format!("@{}", String::from_utf8_lossy(rest).trim_end_matches('\0'))
                }
                _ => text(raw),
            };
            SockAddr::Unix { path }
        }
        _ => SockAddr::Other,
    };
    Some((family, parsed))
}

/// The calling task, from a record's header.
fn task(h: &RecordHeader) -> Task {
    Task {
        pid: h.pid,
        tid: h.tid,
        parent: h.ppid,
        uid: h.uid,
        gid: h.gid,
        euid: h.euid,
        egid: h.egid,
        cgroup_id: h.cgroup_id,
        comm: text(&h.comm),
    }
}

fn actor(h: &RecordHeader) -> Actor {
    Actor {
        task: task(h),
        path: String::new(),
        cmdline: String::new(),
    }
}

fn sock_address(family: u16, raw: &[u8; 16]) -> String {
    if family == AF_INET6 {
        Ipv6Addr::from(*raw).to_string()
    } else {
        Ipv4Addr::new(raw[0], raw[1], raw[2], raw[3]).to_string()
    }
}

fn decode_socket(bytes: &[u8], clock: &BootClock) -> Result<SocketEvent, RecordError> {
    let r: SocketRecord = read(bytes)?;
    let h = &r.header;
    let mut event = SocketEvent {
        syscall: syscall(h.syscall),
        time_ns: clock.wall_ns(h.boot_ns),
        actor: actor(h),
        fd: r.fd,
        result: r.result,
        family: 0,
        sock_type: 0,
        protocol: 0,
        local_address: String::new(),
        local_port: 0,
        remote_address: String::new(),
        remote_port: 0,
        socket_path: String::new(),
        duration_ns: r.duration_ns,
        probe_error: h.probe_error,
    };
    let from_sock = r.sources & socket_sources::SOCK != 0;
    let user = if r.sources & socket_sources::USER_ADDR != 0 {
        let len = (r.user_addr_len as usize).min(r.user_addr.len());
        parse_sockaddr(&r.user_addr[..len])
    } else {
        None
    };
    if from_sock {
        event.family = r.sock_family;
        event.sock_type = r.sock_type;
        event.protocol = r.sock_protocol;
    } else if let Some((family, _)) = &user {
        event.family = *family;
    }
    // What the kernel's socket says, for IP sockets (its address fields mean nothing otherwise).
    let sock_inet = from_sock && matches!(r.sock_family, AF_INET | AF_INET6);
    let sock_local = sock_inet.then(|| {
        (
            sock_address(r.sock_family, &r.sock_local_addr),
            r.sock_local_port,
        )
    });
    let sock_remote = sock_inet.then(|| {
        (
            sock_address(r.sock_family, &r.sock_remote_addr),
            u16::from_be(r.sock_remote_port),
        )
    });
    let user_inet = match &user {
        Some((_, SockAddr::Inet { address, port })) => Some((address.clone(), *port)),
        _ => None,
    };
    if let Some((_, SockAddr::Unix { path })) = &user {
        event.socket_path.clone_from(path);
    }
    let (local, remote) = match event.syscall {
        // Where the caller asked to go; the local end the kernel picked for it.
        Syscall::Connect => (sock_local, user_inet.or(sock_remote)),
        // What the caller asked for, with the port the kernel chose when it asked for port 0.
        Syscall::Bind => {
            let local = match (user_inet, sock_local) {
                (Some((addr, 0)), Some((_, port))) if event.result == 0 => Some((addr, port)),
                (Some(user), _) => Some(user),
                (None, sock) => sock,
            };
            (local, None)
        }
        Syscall::Accept | Syscall::Accept4 => (sock_local, sock_remote.or(user_inet)),
        _ => (sock_local, None),
    };
    if let Some((address, port)) = local {
        event.local_address = address;
        event.local_port = port;
    }
    if let Some((address, port)) = remote {
        event.remote_address = address;
        event.remote_port = port;
    }
    if !event.socket_path.is_empty() {
        match event.syscall {
            Syscall::Bind => event.local_address.clone_from(&event.socket_path),
            Syscall::Connect => event.remote_address.clone_from(&event.socket_path),
            _ => {}
        }
    }
    Ok(event)
}

/// `name` joined to `base`, an absolute directory path the kernel walked (or `/`), and whether
/// the result names the file exactly. Empty and `.` components are dropped. A `..` that steps
/// out of `base` is exact (the kernel walked `base` from its dentries: no symlink in it); a
/// `..` after a component of `name` is not, since that component may be a symlink
/// (`/a/link/../x` is `x` next to link's target, not `/a/x`): it is kept, as given, and the path
/// marked unresolved, never guessed.
pub fn join_name(base: &str, name: &str) -> (String, bool) {
    let mut parts: Vec<&str> = base.split('/').filter(|c| !c.is_empty()).collect();
    let mut named = false;
    let mut exact = true;
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." if !named => {
                parts.pop();
            }
            other => {
                exact &= other != "..";
                named = true;
                parts.push(other);
            }
        }
    }
    (format!("/{}", parts.join("/")), exact)
}

/// A (directory, name) pair from a file record as one path, and whether it is fully resolved.
fn resolve_name(
    data: &[u8],
    dir: &PathSlot,
    name: &PathSlot,
) -> Result<(String, bool), RecordError> {
    let name = text(slot(data, name, "name")?);
    if name.starts_with('/') {
        return Ok(join_name("/", &name));
    }
    let (dir_path, complete) = walked_path(slot(data, dir, "dir")?, dir.flags);
    if complete {
        Ok(join_name(&dir_path, &name))
    } else {
        // Not guessed: the name as the caller gave it, marked unresolved.
        Ok((name, false))
    }
}

fn file_operation(syscall: Syscall, flags: u32) -> FileOperation {
    const O_ACCMODE: u32 = 0o3;
    const O_CREAT: u32 = 0o100;
    const O_TRUNC: u32 = 0o1000;
    const AT_REMOVEDIR: u32 = 0x200;
    match syscall {
        Syscall::Open | Syscall::Openat | Syscall::Openat2 | Syscall::Creat => {
            if flags & O_ACCMODE == 0 && flags & (O_CREAT | O_TRUNC) == 0 {
                FileOperation::Read
            } else {
                FileOperation::Open
            }
        }
        Syscall::Unlinkat if flags & AT_REMOVEDIR != 0 => FileOperation::Rmdir,
        Syscall::Unlink | Syscall::Unlinkat => FileOperation::Unlink,
        Syscall::Rmdir => FileOperation::Rmdir,
        Syscall::Rename | Syscall::Renameat | Syscall::Renameat2 => FileOperation::Rename,
        Syscall::Chmod | Syscall::Fchmod | Syscall::Fchmodat | Syscall::Fchmodat2 => {
            FileOperation::Chmod
        }
        Syscall::Chown | Syscall::Lchown | Syscall::Fchown | Syscall::Fchownat => {
            FileOperation::Chown
        }
        Syscall::Truncate | Syscall::Ftruncate => FileOperation::Truncate,
        Syscall::Link | Syscall::Linkat => FileOperation::Link,
        Syscall::Symlink | Syscall::Symlinkat => FileOperation::Symlink,
        _ => FileOperation::Mkdir,
    }
}

/// A kernel device number (major << 20 | minor) in userspace's `st_dev` encoding.
fn device(kernel_dev: u32) -> u64 {
    libc::makedev(kernel_dev >> 20, kernel_dev & 0xf_ffff)
}

fn decode_file(bytes: &[u8], clock: &BootClock) -> Result<FileEvent, RecordError> {
    let r: FileRecord = read(bytes)?;
    let data = &bytes[size_of::<FileRecord>()..];
    let data = data
        .get(..r.data_len as usize)
        .ok_or(RecordError::Slot("data"))?;
    let h = &r.header;
    let syscall = syscall(h.syscall);
    let operation = file_operation(syscall, r.flags);
    let (first, first_resolved) = if r.filter & file_filter::FROM_FILE != 0 {
        walked_path(slot(data, &r.first_dir, "first_dir")?, r.first_dir.flags)
    } else {
        resolve_name(data, &r.first_dir, &r.first_name)?
    };
    let has_second = r.second_name.len > 0;
    let (second, second_resolved) = if has_second {
        resolve_name(data, &r.second_dir, &r.second_name)?
    } else {
        (String::new(), true)
    };
    let (path, path_resolved, dest_path) = if operation == FileOperation::Symlink {
        // The link is what gets created; its target is text, kept as written.
        let target = text(slot(data, &r.first_name, "first_name")?);
        (second, second_resolved, target)
    } else {
        (first, first_resolved, second)
    };
    let mut probe_error = h.probe_error;
    if !path_resolved {
        probe_error |= vigil_ebpf_common::probe_error::EXE;
    }
    Ok(FileEvent {
        operation,
        syscall,
        time_ns: clock.wall_ns(h.boot_ns),
        actor: actor(h),
        path,
        path_resolved,
        dest_path,
        mode: r.mode,
        flags: r.flags,
        inode: r.inode,
        device: if r.dev == 0 { 0 } else { device(r.dev) },
        fd: r.fd,
        result: r.result,
        new_uid: r.new_uid,
        new_gid: r.new_gid,
        size: r.size,
        duration_ns: r.duration_ns,
        probe_error,
    })
}

#[cfg(test)]
mod tests {
    use vigil_ebpf_common::{ExecRecord, RecordHeader, SyscallId};

    use super::*;

    fn as_bytes<T>(value: &T) -> Vec<u8> {
        // SAFETY: reading the bytes of a plain `#[repr(C)]` record.
        unsafe { std::slice::from_raw_parts((value as *const T).cast::<u8>(), size_of::<T>()) }
            .to_vec()
    }

    fn header(kind: RecordKind, syscall: SyscallId) -> RecordHeader {
        let mut comm = [0u8; 16];
        comm[..4].copy_from_slice(b"true");
        RecordHeader {
            kind: kind as u32,
            syscall: syscall as u32,
            boot_ns: 1_000,
            pid: 10,
            tid: 11,
            ppid: 1,
            uid: 1000,
            gid: 100,
            euid: 0,
            egid: 0,
            probe_error: 0,
            cgroup_id: 5,
            comm,
        }
    }

    fn exec_bytes(argv: &[u8], argv_full: u32, filename: &[u8], exe: &[u8], cwd: &[u8]) -> Vec<u8> {
        let mut data = Vec::new();
        data.extend_from_slice(argv);
        let filename_slot = PathSlot {
            offset: data.len() as u32,
            len: filename.len() as u32,
            flags: path_flags::COMPLETE,
            components: 1,
        };
        data.extend_from_slice(filename);
        let exe_slot = PathSlot {
            offset: data.len() as u32,
            len: exe.len() as u32,
            flags: if exe.is_empty() {
                path_flags::TRUNCATED
            } else {
                path_flags::COMPLETE
            },
            components: 0,
        };
        data.extend_from_slice(exe);
        let cwd_slot = PathSlot {
            offset: data.len() as u32,
            len: cwd.len() as u32,
            flags: path_flags::COMPLETE,
            components: 0,
        };
        data.extend_from_slice(cwd);
        let record = ExecRecord {
            header: header(RecordKind::Exec, SyscallId::Execve),
            result: 0,
            duration_ns: 42,
            argv_len: argv.len() as u32,
            argv_full_len: argv_full,
            filename: filename_slot,
            exe: exe_slot,
            cwd: cwd_slot,
            data_len: data.len() as u32,
            _pad: 0,
        };
        let mut bytes = as_bytes(&record);
        bytes.extend_from_slice(&data);
        bytes
    }

    #[test]
    fn decodes_an_exec_with_walked_paths() {
        let bytes = exec_bytes(
            b"/usr/bin/env\0VAR=1\0\0/bin/true\0",
            30,
            b"/usr/bin/env\0",
            b"env\0bin\0usr\0",
            b"work\0tmp\0",
        );
        let clock = BootClock::with_offset(1_700_000_000_000_000_000);
        let Event::Process(event) = decode_record(&bytes, &clock).expect("decodes") else {
            panic!("an exec decodes to a process event");
        };
        assert_eq!(event.action, ProcessAction::Exec);
        assert_eq!(event.syscall, Syscall::Execve);
        assert_eq!(event.time_ns, 1_700_000_000_000_001_000);
        assert_eq!(event.path, "/usr/bin/env");
        assert_eq!(event.cwd, "/tmp/work");
        assert_eq!(event.argv, vec!["/usr/bin/env", "VAR=1", "", "/bin/true"]);
        assert!(!event.argv_truncated);
        assert_eq!(event.task.comm, "true");
        assert_eq!(
            (event.task.pid, event.task.tid, event.task.parent),
            (10, 11, 1)
        );
        assert_eq!(event.duration_ns, 42);
    }

    #[test]
    fn marks_a_cut_argv_and_resolves_a_relative_filename_against_cwd() {
        let bytes = exec_bytes(b"./tool\0--lo", 4000, b"./tool\0", b"", b"srv\0");
        let Event::Process(event) =
            decode_record(&bytes, &BootClock::with_offset(0)).expect("decodes")
        else {
            panic!("an exec decodes to a process event");
        };
        assert!(event.argv_truncated);
        assert_eq!(event.argv, vec!["./tool", "--lo"]);
        assert_eq!(event.path, "/srv/tool");
        assert_ne!(
            event.probe_error & probe_error::EXE,
            0,
            "unresolved exe is marked"
        );
    }

    #[test]
    fn the_root_directory_is_slash() {
        assert_eq!(
            walked_path(b"", path_flags::COMPLETE),
            ("/".to_owned(), true)
        );
        assert_eq!(
            walked_path(b"b\0a\0", path_flags::TRUNCATED),
            ("a/b".to_owned(), false)
        );
    }

    #[test]
    fn exit_status_splits_code_and_signal() {
        assert_eq!(exit_status(0), (0, 0));
        assert_eq!(exit_status(3 << 8), (3, 0));
        assert_eq!(exit_status(9), (137, 9));
    }

    #[test]
    fn malformed_records_are_errors() {
        let clock = BootClock::with_offset(0);
        assert_eq!(
            decode_record(&[1, 2, 3], &clock),
            Err(RecordError::Short(3))
        );
        let mut bad = as_bytes(&header(RecordKind::Exit, SyscallId::Exit));
        bad[0] = 99;
        bad.extend_from_slice(&[0; 8]);
        assert_eq!(decode_record(&bad, &clock), Err(RecordError::Kind(99)));
        // An exec whose slots point past its data.
        let mut bytes = exec_bytes(b"a\0", 2, b"a\0", b"a\0", b"b\0");
        bytes.truncate(bytes.len() - 3);
        assert!(decode_record(&bytes, &clock).is_err());
        // Every prefix of a valid record fails cleanly.
        let full = exec_bytes(b"a\0", 2, b"a\0", b"a\0", b"b\0");
        for len in 0..full.len() {
            assert!(decode_record(&full[..len], &clock).is_err(), "prefix {len}");
        }
    }

    fn socket_record(syscall: SyscallId, result: i64) -> SocketRecord {
        SocketRecord {
            header: header(RecordKind::Socket, syscall),
            result,
            duration_ns: 5,
            fd: 3,
            sources: 0,
            sock_family: 0,
            sock_type: 0,
            sock_protocol: 0,
            sock_local_port: 0,
            sock_remote_port: 0,
            _pad: 0,
            sock_local_addr: [0; 16],
            sock_remote_addr: [0; 16],
            user_addr_len: 0,
            _pad2: 0,
            user_addr: [0; vigil_ebpf_common::SOCKADDR_CAPACITY],
        }
    }

    fn decode_socket_record(record: &SocketRecord) -> SocketEvent {
        match decode_record(&as_bytes(record), &BootClock::with_offset(0)) {
            Ok(Event::Socket(event)) => event,
            other => panic!("a socket record decodes to a socket event: {other:?}"),
        }
    }

    #[test]
    fn a_connect_reports_the_asked_destination_and_the_local_end() {
        let mut r = socket_record(SyscallId::Connect, -115);
        r.sources = socket_sources::SOCK | socket_sources::USER_ADDR;
        r.sock_family = AF_INET;
        r.sock_type = 1;
        r.sock_protocol = 6;
        r.sock_local_addr[..4].copy_from_slice(&[127, 0, 0, 1]);
        r.sock_local_port = 40_000;
        // sockaddr_in { AF_INET, port 8080 (network order), 127.0.0.2 }
        r.user_addr[..8].copy_from_slice(&[2, 0, 0x1f, 0x90, 127, 0, 0, 2]);
        r.user_addr_len = 16;
        let e = decode_socket_record(&r);
        assert_eq!(
            (e.local_address.as_str(), e.local_port),
            ("127.0.0.1", 40_000)
        );
        assert_eq!(
            (e.remote_address.as_str(), e.remote_port),
            ("127.0.0.2", 8080)
        );
        assert_eq!((e.family, e.sock_type, e.protocol), (2, 1, 6));
        assert_eq!(e.status(), crate::SocketStatus::InProgress);
    }

    #[test]
    fn an_accept_reports_the_peer_from_the_new_socket_and_ipv6_is_formatted() {
        let mut r = socket_record(SyscallId::Accept4, 7);
        r.sources = socket_sources::SOCK;
        r.sock_family = AF_INET6;
        r.sock_local_addr[15] = 1;
        r.sock_remote_addr[15] = 1;
        r.sock_local_port = 8080;
        r.sock_remote_port = 51_000u16.to_be();
        let e = decode_socket_record(&r);
        assert_eq!((e.local_address.as_str(), e.local_port), ("::1", 8080));
        assert_eq!((e.remote_address.as_str(), e.remote_port), ("::1", 51_000));
        assert_eq!(e.status(), crate::SocketStatus::Succeeded);
    }

    #[test]
    fn a_bind_to_port_zero_reports_the_port_the_kernel_chose() {
        let mut r = socket_record(SyscallId::Bind, 0);
        r.sources = socket_sources::SOCK | socket_sources::USER_ADDR;
        r.sock_family = AF_INET;
        r.sock_local_port = 33_333;
        r.user_addr[..8].copy_from_slice(&[2, 0, 0, 0, 0, 0, 0, 0]);
        r.user_addr_len = 16;
        let e = decode_socket_record(&r);
        assert_eq!(
            (e.local_address.as_str(), e.local_port),
            ("0.0.0.0", 33_333)
        );
    }

    #[test]
    fn unix_socket_paths_plain_and_abstract() {
        let mut plain = vec![1u8, 0];
        plain.extend_from_slice(b"/run/x.sock\0");
        assert_eq!(
            parse_sockaddr(&plain),
            Some((
                1,
                SockAddr::Unix {
                    path: "/run/x.sock".into()
                }
            ))
        );
        let mut abstract_name = vec![1u8, 0, 0];
        abstract_name.extend_from_slice(b"hidden");
        assert_eq!(
            parse_sockaddr(&abstract_name),
            Some((
                1,
                SockAddr::Unix {
                    path: "@hidden".into()
                }
            ))
        );
        assert_eq!(
            parse_sockaddr(&[2, 0, 1]),
            None,
            "a short sockaddr_in is not guessed"
        );
        assert_eq!(parse_sockaddr(&[16, 0]), Some((16, SockAddr::Other)));
    }

    #[test]
    fn kernel_syscall_ids_and_model_codes_agree() {
        for id in 0..64u32 {
            let kernel = vigil_ebpf_common::SyscallId::from_u32(id);
            let model = syscall(id);
            assert_eq!(
                kernel as u32,
                u32::from(model.code()),
                "id {id}: {kernel:?} vs {model:?}"
            );
        }
    }

    #[test]
    fn names_are_joined_exactly_or_marked() {
        assert_eq!(join_name("/", "/a/./b//c"), ("/a/b/c".to_owned(), true));
        assert_eq!(join_name("/", "/../.."), ("/".to_owned(), true));
        assert_eq!(join_name("/", "/tmp/x/"), ("/tmp/x".to_owned(), true));
        assert_eq!(
            join_name("/tmp/work", "../../etc/passwd"),
            ("/etc/passwd".to_owned(), true),
            "out of the walked directory: exact"
        );
        // `link` may be a symlink: its `..` is not the text's parent.
        assert_eq!(
            join_name("/", "/a/link/../x"),
            ("/a/link/../x".to_owned(), false)
        );
        assert_eq!(
            join_name("/tmp", "dir/link/.././x"),
            ("/tmp/dir/link/../x".to_owned(), false)
        );
        assert_eq!(
            join_name("/tmp", "../tmp/a/../b"),
            ("/tmp/a/../b".to_owned(), false)
        );
    }

    #[test]
    fn a_relative_rename_joins_each_name_with_its_directory() {
        let mut data = Vec::new();
        let mut put = |bytes: &[u8], flags: u32| {
            let slot = PathSlot {
                offset: data.len() as u32,
                len: bytes.len() as u32,
                flags,
                components: 0,
            };
            data.extend_from_slice(bytes);
            slot
        };
        let first_name = put(b"../src/a.txt\0", path_flags::COMPLETE);
        let first_dir = put(b"work\0tmp\0", path_flags::COMPLETE);
        let second_name = put(b"b.txt\0", path_flags::COMPLETE);
        let second_dir = put(b"dst\0", path_flags::TRUNCATED);
        let record = FileRecord {
            header: header(RecordKind::File, SyscallId::Renameat2),
            result: 0,
            first_dir,
            first_name,
            second_dir,
            second_name,
            data_len: data.len() as u32,
            ..FileRecord::default()
        };
        let mut bytes = as_bytes(&record);
        bytes.extend_from_slice(&data);
        let Ok(Event::File(e)) = decode_record(&bytes, &BootClock::with_offset(0)) else {
            panic!("a file record decodes to a file event");
        };
        assert_eq!(e.operation, FileOperation::Rename);
        assert_eq!(e.path, "/tmp/src/a.txt");
        assert!(e.path_resolved);
        // The destination's directory could not be walked to the root: marked, not guessed.
        assert_eq!(e.dest_path, "b.txt");
    }
}
