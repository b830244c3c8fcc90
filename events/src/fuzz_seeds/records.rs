//! Records as the kernel side fills them, one per kind of event and path the decoder takes, and
//! records the decoder must turn down.

use std::mem::{offset_of, size_of};

use vigil_ebpf_common::{
    ExecRecord, ExitRecord, FileRecord, ForkRecord, PathSlot, RecordHeader, RecordKind,
    SOCKADDR_CAPACITY, SocketRecord, SyscallId, file_filter, path_flags, probe_error,
    socket_sources,
};

const AF_UNIX: u16 = 1;
const AF_INET: u16 = 2;
const AF_INET6: u16 = 10;
const AF_NETLINK: u16 = 16;

/// The bytes of a `#[repr(C)]` record as the kernel submits it. Only the first `fields_end`
/// bytes are read (the fields); what follows is trailing padding, written as zeros so the seed
/// files do not change from one run to the next.
fn record_bytes<T: Copy>(record: &T, fields_end: usize) -> Vec<u8> {
    assert!(fields_end <= size_of::<T>());
    // SAFETY: the first `fields_end` bytes of these records are their fields: plain integers,
    // each naturally aligned after the one before, so no padding lies between them (the last
    // field's end is checked against `fields_end` at compile time, below).
    let fields =
        unsafe { std::slice::from_raw_parts((record as *const T).cast::<u8>(), fields_end) };
    let mut bytes = fields.to_vec();
    bytes.resize(size_of::<T>(), 0);
    bytes
}

fn whole<T: Copy>(record: &T) -> Vec<u8> {
    record_bytes(record, size_of::<T>())
}

/// The socket record's fields end 4 bytes before its size (it is 8-aligned); the others end at
/// their size.
const SOCKET_FIELDS_END: usize = offset_of!(SocketRecord, user_addr) + SOCKADDR_CAPACITY;
// Checked at compile time: the last field of each record ends where `record_bytes` stops reading.
const _: () = {
    assert!(offset_of!(ExecRecord, _pad) + 4 == size_of::<ExecRecord>());
    assert!(offset_of!(ForkRecord, duration_ns) + 8 == size_of::<ForkRecord>());
    assert!(offset_of!(ExitRecord, _pad) + 4 == size_of::<ExitRecord>());
    assert!(offset_of!(FileRecord, _pad2) + 4 == size_of::<FileRecord>());
    assert!(SOCKET_FIELDS_END + 4 == size_of::<SocketRecord>());
};

fn header(kind: RecordKind, syscall: SyscallId, pid: u32, comm: &str) -> RecordHeader {
    let mut name = [0u8; 16];
    name[..comm.len()].copy_from_slice(comm.as_bytes());
    RecordHeader {
        kind: kind as u32,
        syscall: syscall as u32,
        boot_ns: 86_400_000_000_000 + u64::from(pid) * 1_000,
        pid,
        tid: pid,
        ppid: 1,
        uid: 1000,
        gid: 1000,
        euid: 1000,
        egid: 1000,
        probe_error: 0,
        cgroup_id: 4242,
        comm: name,
    }
}

/// A record's data area, filled slot by slot.
#[derive(Default)]
struct DataArea(Vec<u8>);

impl DataArea {
    fn put(&mut self, bytes: &[u8], flags: u32) -> PathSlot {
        let slot = PathSlot {
            offset: self.0.len() as u32,
            len: bytes.len() as u32,
            flags,
            components: bytes.iter().filter(|&&b| b == 0).count() as u32,
        };
        self.0.extend_from_slice(bytes);
        slot
    }
}

struct Exec<'a> {
    kind: RecordKind,
    syscall: SyscallId,
    result: i64,
    argv: &'a [u8],
    argv_full_len: u32,
    filename: &'a [u8],
    exe: (&'a [u8], u32),
    cwd: (&'a [u8], u32),
}

fn exec(e: Exec<'_>) -> Vec<u8> {
    let mut data = DataArea(e.argv.to_vec());
    let filename = data.put(e.filename, path_flags::COMPLETE);
    let exe = data.put(e.exe.0, e.exe.1);
    let cwd = data.put(e.cwd.0, e.cwd.1);
    let record = ExecRecord {
        header: header(e.kind, e.syscall, 2001, "bash"),
        result: e.result,
        duration_ns: 180_000,
        argv_len: e.argv.len() as u32,
        argv_full_len: e.argv_full_len,
        filename,
        exe,
        cwd,
        data_len: data.0.len() as u32,
        _pad: 0,
    };
    let mut bytes = whole(&record);
    bytes.extend_from_slice(&data.0);
    bytes
}

fn fork(syscall: SyscallId, child_pid: i64, clone_flags: u64) -> Vec<u8> {
    whole(&ForkRecord {
        header: header(RecordKind::Fork, syscall, 2002, "make"),
        child_pid,
        clone_flags,
        duration_ns: 40_000,
    })
}

fn exit(wait_status: u32) -> Vec<u8> {
    whole(&ExitRecord {
        header: header(RecordKind::Exit, SyscallId::Exit, 2003, "sleep"),
        exit_code: wait_status,
        _pad: 0,
    })
}

fn socket(syscall: SyscallId, result: i64, fill: impl FnOnce(&mut SocketRecord)) -> Vec<u8> {
    let mut record = SocketRecord {
        header: header(RecordKind::Socket, syscall, 2004, "curl"),
        result,
        duration_ns: 25_000,
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
        user_addr: [0; SOCKADDR_CAPACITY],
    };
    fill(&mut record);
    record_bytes(&record, SOCKET_FIELDS_END)
}

fn sockaddr_in(port: u16, address: [u8; 4]) -> Vec<u8> {
    let mut raw = AF_INET.to_ne_bytes().to_vec();
    raw.extend_from_slice(&port.to_be_bytes());
    raw.extend_from_slice(&address);
    raw.resize(16, 0);
    raw
}

fn sockaddr_in6(port: u16, address: [u8; 16]) -> Vec<u8> {
    let mut raw = AF_INET6.to_ne_bytes().to_vec();
    raw.extend_from_slice(&port.to_be_bytes());
    raw.extend_from_slice(&[0; 4]); // flow info
    raw.extend_from_slice(&address);
    raw.extend_from_slice(&[0; 4]); // scope id
    raw
}

fn sockaddr_un(path: &[u8]) -> Vec<u8> {
    let mut raw = AF_UNIX.to_ne_bytes().to_vec();
    raw.extend_from_slice(path);
    raw
}

fn user_addr(record: &mut SocketRecord, raw: &[u8]) {
    record.sources |= socket_sources::USER_ADDR;
    record.user_addr[..raw.len()].copy_from_slice(raw);
    record.user_addr_len = raw.len() as u32;
}

fn sock(record: &mut SocketRecord, family: u16, sock_type: u16, protocol: u16) {
    record.sources |= socket_sources::SOCK;
    record.sock_family = family;
    record.sock_type = sock_type;
    record.sock_protocol = protocol;
}

/// (walked leaf-first bytes, flags) of a directory or file.
type Walked<'a> = (&'a [u8], u32);

struct File<'a> {
    syscall: SyscallId,
    result: i64,
    flags: u32,
    filter: u32,
    first: (Walked<'a>, &'a [u8]),
    second: Option<(Walked<'a>, &'a [u8])>,
    fill: fn(&mut FileRecord),
}

fn file(f: File<'_>) -> Vec<u8> {
    let mut data = DataArea::default();
    let first_dir = data.put(f.first.0.0, f.first.0.1);
    let first_name = data.put(f.first.1, path_flags::COMPLETE);
    let (second_dir, second_name) = match f.second {
        Some(((dir, flags), name)) => (data.put(dir, flags), data.put(name, path_flags::COMPLETE)),
        None => (PathSlot::default(), PathSlot::default()),
    };
    let mut record = FileRecord {
        header: header(RecordKind::File, f.syscall, 2005, "vim"),
        result: f.result,
        duration_ns: 9_000,
        flags: f.flags,
        filter: f.filter,
        fd: -100, // AT_FDCWD
        new_uid: u32::MAX,
        new_gid: u32::MAX,
        first_dir,
        first_name,
        second_dir,
        second_name,
        data_len: data.0.len() as u32,
        ..FileRecord::default()
    };
    (f.fill)(&mut record);
    let mut bytes = whole(&record);
    bytes.extend_from_slice(&data.0);
    bytes
}

fn no_fill(_: &mut FileRecord) {}

const COMPLETE: u32 = path_flags::COMPLETE;
const TRUNCATED: u32 = path_flags::TRUNCATED;
const O_WRONLY_CREAT_TRUNC: u32 = 0o1101;

/// Records the kernel side produces, one per kind of event and path the decoder takes.
pub(super) fn valid_records() -> Vec<(&'static str, Vec<u8>)> {
    let home: Walked<'_> = (b"alice\0home\0", COMPLETE);
    vec![
        (
            "exec-execve-walked-paths",
            exec(Exec {
                kind: RecordKind::Exec,
                syscall: SyscallId::Execve,
                result: 0,
                argv: b"/usr/bin/curl\0-s\0https://example.com/\0",
                argv_full_len: 38,
                filename: b"/usr/bin/curl\0",
                exe: (b"curl\0bin\0usr\0", COMPLETE),
                cwd: home,
            }),
        ),
        (
            "exec-execveat-relative-argv-cut",
            exec(Exec {
                kind: RecordKind::Exec,
                syscall: SyscallId::Execveat,
                result: 0,
                argv: b"./build.sh\0--jobs\0--targ",
                argv_full_len: 9000,
                filename: b"./build.sh\0",
                exe: (b"", TRUNCATED),
                cwd: (b"src\0alice\0home\0", COMPLETE),
            }),
        ),
        (
            "exec-failed-enoent",
            exec(Exec {
                kind: RecordKind::ExecFailed,
                syscall: SyscallId::Execve,
                result: -2,
                argv: b"missing\0",
                argv_full_len: 8,
                filename: b"missing\0",
                exe: (b"", path_flags::UNREADABLE),
                cwd: (b"", COMPLETE),
            }),
        ),
        (
            "exec-deep-cwd-not-walked-to-root",
            exec(Exec {
                kind: RecordKind::Exec,
                syscall: SyscallId::Execve,
                result: 0,
                argv: b"ls\0-la\0",
                argv_full_len: 7,
                filename: b"/bin/ls\0",
                exe: (b"ls\0bin\0usr\0", COMPLETE),
                cwd: (b"d255\0d254\0d253\0", TRUNCATED),
            }),
        ),
        ("fork-clone", fork(SyscallId::Clone, 3100, 0x11)),
        ("fork-vfork", fork(SyscallId::Vfork, 3101, 0x4111)),
        ("fork-clone3", fork(SyscallId::Clone3, 3102, 0)),
        ("fork-failed-eagain", fork(SyscallId::Fork, -11, 0)),
        ("exit-status-3", exit(3 << 8)),
        ("exit-killed-by-sigkill", exit(9)),
        (
            "socket-connect-ipv4-in-progress",
            socket(SyscallId::Connect, -115, |r| {
                sock(r, AF_INET, 1, 6);
                r.sock_local_addr[..4].copy_from_slice(&[10, 0, 0, 5]);
                r.sock_local_port = 41_000;
                user_addr(r, &sockaddr_in(443, [93, 184, 215, 14]));
            }),
        ),
        (
            "socket-connect-ipv6-refused",
            socket(SyscallId::Connect, -111, |r| {
                sock(r, AF_INET6, 1, 6);
                let mut loopback = [0u8; 16];
                loopback[15] = 1;
                user_addr(r, &sockaddr_in6(8443, loopback));
            }),
        ),
        (
            "socket-accept4-ipv6",
            socket(SyscallId::Accept4, 7, |r| {
                sock(r, AF_INET6, 1, 6);
                r.sock_local_addr[15] = 1;
                r.sock_remote_addr[15] = 1;
                r.sock_local_port = 8080;
                r.sock_remote_port = 51_000u16.to_be();
            }),
        ),
        (
            "socket-bind-port-zero",
            socket(SyscallId::Bind, 0, |r| {
                sock(r, AF_INET, 2, 17);
                r.sock_local_port = 33_333;
                user_addr(r, &sockaddr_in(0, [0, 0, 0, 0]));
            }),
        ),
        (
            "socket-bind-unix-path",
            socket(SyscallId::Bind, 0, |r| {
                sock(r, AF_UNIX, 1, 0);
                user_addr(r, &sockaddr_un(b"/run/app.sock\0"));
            }),
        ),
        (
            "socket-connect-unix-abstract",
            socket(SyscallId::Connect, 0, |r| {
                sock(r, AF_UNIX, 1, 0);
                user_addr(r, &sockaddr_un(b"\0dbus-session"));
            }),
        ),
        (
            "socket-listen",
            socket(SyscallId::Listen, 0, |r| {
                sock(r, AF_INET, 1, 6);
                r.sock_local_port = 22;
            }),
        ),
        (
            "socket-connect-netlink",
            socket(SyscallId::Connect, 0, |r| {
                user_addr(r, &[AF_NETLINK as u8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            }),
        ),
        (
            "file-openat-create-from-file",
            file(File {
                syscall: SyscallId::Openat,
                result: 4,
                flags: O_WRONLY_CREAT_TRUNC,
                filter: file_filter::FROM_FILE,
                first: ((b"notes.txt\0alice\0home\0", COMPLETE), b""),
                second: None,
                fill: |r| {
                    r.mode = 0o644;
                    r.inode = 131_077;
                    r.dev = (8 << 20) | 1;
                },
            }),
        ),
        (
            "file-openat-read-watched",
            file(File {
                syscall: SyscallId::Openat,
                result: 5,
                flags: 0,
                filter: file_filter::FROM_FILE | file_filter::ACCESSES | file_filter::INCLUDED,
                first: ((b"shadow\0etc\0", COMPLETE), b""),
                second: None,
                fill: |r| r.inode = 2_000,
            }),
        ),
        (
            "file-open-absolute-with-dotdot-failed",
            file(File {
                syscall: SyscallId::Open,
                result: -13,
                flags: 0o101,
                filter: 0,
                first: (home, b"/etc/../etc/./passwd\0"),
                second: None,
                fill: no_fill,
            }),
        ),
        (
            "file-unlinkat-removedir-relative",
            file(File {
                syscall: SyscallId::Unlinkat,
                result: 0,
                flags: 0x200,
                filter: 0,
                first: (home, b"old/cache\0"),
                second: None,
                fill: no_fill,
            }),
        ),
        (
            "file-renameat2-relative",
            file(File {
                syscall: SyscallId::Renameat2,
                result: 0,
                flags: 0,
                filter: 0,
                first: (home, b"../src/a.txt\0"),
                second: Some(((b"dst\0", TRUNCATED), b"b.txt\0")),
                fill: no_fill,
            }),
        ),
        (
            "file-symlink",
            file(File {
                syscall: SyscallId::Symlinkat,
                result: 0,
                flags: 0,
                filter: 0,
                first: ((b"", 0), b"../lib/libx.so.1\0"),
                second: Some(((b"lib\0usr\0", COMPLETE), b"libx.so\0")),
                fill: no_fill,
            }),
        ),
        (
            "file-linkat",
            file(File {
                syscall: SyscallId::Linkat,
                result: 0,
                flags: 0x400,
                filter: 0,
                first: (home, b"a\0"),
                second: Some((home, b"hard-a\0")),
                fill: no_fill,
            }),
        ),
        (
            "file-fchownat",
            file(File {
                syscall: SyscallId::Fchownat,
                result: 0,
                flags: 0x100,
                filter: 0,
                first: (home, b"shared\0"),
                second: None,
                fill: |r| {
                    r.new_uid = 0;
                    r.new_gid = 27;
                },
            }),
        ),
        (
            "file-fchmod-on-fd",
            file(File {
                syscall: SyscallId::Fchmod,
                result: 0,
                flags: 0,
                filter: file_filter::FROM_FILE,
                first: ((b"run.sh\0alice\0home\0", COMPLETE), b""),
                second: None,
                fill: |r| {
                    r.fd = 3;
                    r.mode = 0o755;
                    r.inode = 4_242;
                    r.dev = (259 << 20) | 2;
                },
            }),
        ),
        (
            "file-truncate",
            file(File {
                syscall: SyscallId::Truncate,
                result: 0,
                flags: 0,
                filter: 0,
                first: ((b"", 0), b"/var/log/app.log\0"),
                second: None,
                fill: |r| r.size = 4096,
            }),
        ),
        (
            "file-mkdirat-unresolved-dir",
            file(File {
                syscall: SyscallId::Mkdirat,
                result: -17,
                flags: 0,
                filter: 0,
                first: ((b"deep\0", TRUNCATED), b"new\0"),
                second: None,
                fill: |r| {
                    r.mode = 0o700;
                    r.header.probe_error = probe_error::NO_ENTER;
                },
            }),
        ),
    ]
}

/// Records the decoder must turn down: seeds for its error paths.
pub(super) fn malformed_records() -> Vec<(&'static str, Vec<u8>)> {
    let mut unknown_kind = exit(0);
    unknown_kind[..4].copy_from_slice(&99u32.to_ne_bytes());
    let mut shorter_than_a_header = fork(SyscallId::Fork, 1, 0);
    shorter_than_a_header.truncate(size_of::<RecordHeader>() - 1);
    let mut shorter_than_its_record = fork(SyscallId::Fork, 1, 0);
    shorter_than_its_record.truncate(size_of::<ForkRecord>() - 1);
    let mut exec_cut = valid_records()
        .into_iter()
        .find(|(name, _)| *name == "exec-execve-walked-paths")
        .map(|(_, bytes)| bytes)
        .unwrap_or_default();
    exec_cut.truncate(exec_cut.len() - 5);
    vec![
        ("malformed-unknown-kind", unknown_kind),
        ("malformed-shorter-than-a-header", shorter_than_a_header),
        (
            "malformed-fork-shorter-than-its-record",
            shorter_than_its_record,
        ),
        ("malformed-exec-data-cut", exec_cut),
    ]
}
