//! Records shared by vigil's eBPF programs and its userspace publisher.
//!
//! Every record starts with a [`RecordHeader`]; its `kind` says which record follows. Records are
//! `#[repr(C)]` with explicit padding so both sides agree on the layout byte for byte. Variable
//! parts (argv, paths) follow the fixed part in a data area whose used length the record states,
//! so the kernel only copies into the ring buffer what a record actually holds.
#![no_std]

/// What a record describes.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordKind {
    /// A successful exec: the process now runs a new image.
    Exec = 1,
    /// An exec that failed: the caller keeps running its old image.
    ExecFailed = 2,
    /// A new process (not a thread) created by fork, vfork, clone or clone3.
    Fork = 3,
    /// The last thread of a process exited.
    Exit = 4,
    /// A socket was connected, accepted, bound or put in listening state (or the call failed).
    Socket = 5,
    /// A file was opened for writing (or reading, when asked), created, removed, renamed,
    /// linked, or had its mode, owner or size changed (or the call failed).
    File = 6,
}

impl RecordKind {
    pub fn from_u32(value: u32) -> Option<Self> {
        match value {
            1 => Some(Self::Exec),
            2 => Some(Self::ExecFailed),
            3 => Some(Self::Fork),
            4 => Some(Self::Exit),
            5 => Some(Self::Socket),
            6 => Some(Self::File),
            _ => None,
        }
    }
}

/// The syscall that produced a record, as the kernel side knows it.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SyscallId {
    Unknown = 0,
    Execve = 1,
    Execveat = 2,
    Fork = 3,
    Vfork = 4,
    Clone = 5,
    Clone3 = 6,
    Exit = 7,
    Connect = 8,
    Accept = 9,
    Accept4 = 10,
    Bind = 11,
    Listen = 12,
    Open = 13,
    Openat = 14,
    Openat2 = 15,
    Creat = 16,
    Unlink = 17,
    Unlinkat = 18,
    Rmdir = 19,
    Rename = 20,
    Renameat = 21,
    Renameat2 = 22,
    Chmod = 23,
    Fchmod = 24,
    Fchmodat = 25,
    Fchmodat2 = 26,
    Chown = 27,
    Lchown = 28,
    Fchown = 29,
    Fchownat = 30,
    Truncate = 31,
    Ftruncate = 32,
    Link = 33,
    Linkat = 34,
    Symlink = 35,
    Symlinkat = 36,
    Mkdir = 37,
    Mkdirat = 38,
}

impl SyscallId {
    pub fn from_u32(value: u32) -> Self {
        match value {
            1 => Self::Execve,
            2 => Self::Execveat,
            3 => Self::Fork,
            4 => Self::Vfork,
            5 => Self::Clone,
            6 => Self::Clone3,
            7 => Self::Exit,
            8 => Self::Connect,
            9 => Self::Accept,
            10 => Self::Accept4,
            11 => Self::Bind,
            12 => Self::Listen,
            13 => Self::Open,
            14 => Self::Openat,
            15 => Self::Openat2,
            16 => Self::Creat,
            17 => Self::Unlink,
            18 => Self::Unlinkat,
            19 => Self::Rmdir,
            20 => Self::Rename,
            21 => Self::Renameat,
            22 => Self::Renameat2,
            23 => Self::Chmod,
            24 => Self::Fchmod,
            25 => Self::Fchmodat,
            26 => Self::Fchmodat2,
            27 => Self::Chown,
            28 => Self::Lchown,
            29 => Self::Fchown,
            30 => Self::Fchownat,
            31 => Self::Truncate,
            32 => Self::Ftruncate,
            33 => Self::Link,
            34 => Self::Linkat,
            35 => Self::Symlink,
            36 => Self::Symlinkat,
            37 => Self::Mkdir,
            38 => Self::Mkdirat,
            _ => Self::Unknown,
        }
    }
}

/// Identity of the task a record is about, taken in the kernel when the event happened.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct RecordHeader {
    /// A [`RecordKind`] value.
    pub kind: u32,
    /// A [`SyscallId`] value.
    pub syscall: u32,
    /// `CLOCK_BOOTTIME` nanoseconds (bpf_ktime_get_boot_ns); userspace turns them into wall time.
    pub boot_ns: u64,
    /// Thread group id (the process id users see).
    pub pid: u32,
    /// Thread id.
    pub tid: u32,
    /// The real parent's thread group id; 0 when it could not be read.
    pub ppid: u32,
    pub uid: u32,
    pub gid: u32,
    pub euid: u32,
    pub egid: u32,
    /// Bit set of [`probe_error`] values: what the kernel side could not read for this record.
    pub probe_error: u32,
    pub cgroup_id: u64,
    pub comm: [u8; 16],
}

/// Bits of [`RecordHeader::probe_error`].
pub mod probe_error {
    /// The parent, or the effective ids, could not be read from the task.
    pub const TASK_FIELDS: u32 = 1;
    /// The argument area of the new image could not be read.
    pub const ARGV: u32 = 2;
    /// The working directory could not be read.
    pub const CWD: u32 = 4;
    /// The executable's path could not be read.
    pub const EXE: u32 = 8;
    /// The enter half of the syscall was not seen (the agent attached in between).
    pub const NO_ENTER: u32 = 16;
}

/// Bytes of argv an exec record can carry; the configured limit is at most this.
pub const ARGV_CAPACITY: usize = 16384;
/// Bytes of one resolved path (leaf-first components, NUL-separated).
pub const PATH_CAPACITY: usize = 4096;
/// Bytes of a path as given to exec (the filename argument).
pub const FILENAME_CAPACITY: usize = 4096;
/// Longest path component the kernel allows (NAME_MAX) plus its NUL.
pub const COMPONENT_CAPACITY: usize = 256;
/// How many dentries a path walk follows before it gives up and marks the path incomplete.
pub const PATH_DEPTH_LIMIT: u32 = 256;

/// Bits of a resolved path's `flags`.
pub mod path_flags {
    /// The walk reached the root: the path is complete.
    pub const COMPLETE: u32 = 1;
    /// The walk stopped early (too deep or too long): only the leaf-side part is known.
    pub const TRUNCATED: u32 = 2;
    /// The path could not be read at all.
    pub const UNREADABLE: u32 = 4;
}

/// A resolved path inside a record: `len` bytes at `offset` in the record's data area, holding
/// components from the leaf up to the root, each followed by a NUL.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct PathSlot {
    pub offset: u32,
    pub len: u32,
    pub flags: u32,
    pub components: u32,
}

/// Fixed part of an exec record (successful or failed). The data area follows it.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct ExecRecord {
    pub header: RecordHeader,
    /// The syscall's return value: 0, or a negative errno.
    pub result: i64,
    /// Nanoseconds from syscall entry to the event (0 when the entry was not seen).
    pub duration_ns: u64,
    /// argv bytes (NUL-separated) at offset 0 of the data area.
    pub argv_len: u32,
    /// Size of the whole argument area in the new image; larger than `argv_len` when cut.
    pub argv_full_len: u32,
    /// The filename argument as the caller passed it.
    pub filename: PathSlot,
    /// The executable, resolved from the new image's file (successful execs only).
    pub exe: PathSlot,
    /// The working directory.
    pub cwd: PathSlot,
    /// Bytes used in the data area.
    pub data_len: u32,
    pub _pad: u32,
}

/// Fixed part of a fork record.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct ForkRecord {
    pub header: RecordHeader,
    /// The new process's pid (the syscall's return value in the parent).
    pub child_pid: i64,
    pub clone_flags: u64,
    pub duration_ns: u64,
}

/// Fixed part of an exit record.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct ExitRecord {
    pub header: RecordHeader,
    /// The raw wait status (`task_struct.exit_code`): exit status << 8, or the signal number.
    pub exit_code: u32,
    pub _pad: u32,
}

/// Bytes of the caller's `struct sockaddr` kept (`sizeof(struct sockaddr_storage)`).
pub const SOCKADDR_CAPACITY: usize = 128;

/// Bits of [`SocketRecord::sources`]: which parts of a socket record were read.
pub mod socket_sources {
    /// `sock_*` fields were read from the kernel's socket.
    pub const SOCK: u32 = 1;
    /// `user_addr` holds the address the caller passed (connect, bind) or got back (accept).
    pub const USER_ADDR: u32 = 2;
}

/// A socket call (connect, accept, accept4, bind, listen) and its result.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct SocketRecord {
    pub header: RecordHeader,
    /// The syscall's return value: 0 or a new fd, or a negative errno.
    pub result: i64,
    pub duration_ns: u64,
    /// The socket the call was made on (for accept: the listening socket).
    pub fd: i32,
    /// Bit set of [`socket_sources`].
    pub sources: u32,
    /// From the kernel's socket (the accepted one for accept): family, type, protocol.
    pub sock_family: u16,
    pub sock_type: u16,
    pub sock_protocol: u16,
    /// Local port in host order (`skc_num`).
    pub sock_local_port: u16,
    /// Remote port in network order (`skc_dport`).
    pub sock_remote_port: u16,
    pub _pad: u16,
    /// IPv4 addresses use the first 4 bytes.
    pub sock_local_addr: [u8; 16],
    pub sock_remote_addr: [u8; 16],
    /// Length of `user_addr` the caller gave (bounded by SOCKADDR_CAPACITY).
    pub user_addr_len: u32,
    pub _pad2: u32,
    pub user_addr: [u8; SOCKADDR_CAPACITY],
}

/// Bits of [`FileRecord::filter`]: what the kernel side learned about where the file is.
pub mod file_filter {
    /// A walked path passed a directory in the exclude set.
    pub const EXCLUDED: u32 = 1;
    /// A walked path passed a directory in the include set (file_paths).
    pub const INCLUDED: u32 = 2;
    /// A walked path passed a directory whose read accesses are watched (file_accesses).
    pub const ACCESSES: u32 = 4;
    /// The path was resolved from the file itself (an opened fd), not from a name.
    pub const FROM_FILE: u32 = 8;
}

/// Values of the [`DirFilter`] map: how a watched directory is treated.
pub mod dir_filter {
    pub const EXCLUDE: u32 = 1;
    pub const INCLUDE: u32 = 2;
    pub const ACCESSES: u32 = 4;
}

/// Key of the directory filter map: a directory's identity, as the kernel sees it.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct DirKey {
    /// `super_block.s_dev` in the kernel's encoding (major << 20 | minor).
    pub dev: u32,
    pub _pad: u32,
    pub ino: u64,
}

/// A file call and its result. Paths come as up to two (directory walk, name) pairs: the name
/// as the caller gave it, and the directory it is relative to (its dirfd's, or the working
/// directory), walked leaf first like exec's paths. For calls on an fd, and opens that succeeded,
/// `first_dir` holds the file's own full path (`filter` has FROM_FILE) and `first_name` is empty.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct FileRecord {
    pub header: RecordHeader,
    pub result: i64,
    pub duration_ns: u64,
    pub inode: u64,
    /// truncate/ftruncate: the new length.
    pub size: i64,
    /// open flags, unlinkat/renameat2/linkat/fchownat flags.
    pub flags: u32,
    pub mode: u32,
    /// For calls on an fd (and opens: the new fd is `result`).
    pub fd: i32,
    /// chown family: the requested owner and group.
    pub new_uid: u32,
    pub new_gid: u32,
    /// Device of the file (kernel encoding), with `inode`, when the file was at hand.
    pub dev: u32,
    /// Bit set of [`file_filter`].
    pub filter: u32,
    pub _pad: u32,
    pub first_dir: PathSlot,
    pub first_name: PathSlot,
    pub second_dir: PathSlot,
    pub second_name: PathSlot,
    pub data_len: u32,
    pub _pad2: u32,
}

/// Size of a file record's data area: two walked directories and two names.
pub const FILE_DATA_CAPACITY: usize =
    2 * (PATH_CAPACITY + COMPONENT_CAPACITY) + 2 * FILENAME_CAPACITY;

#[repr(C)]
pub struct FileScratch {
    pub record: FileRecord,
    pub data: [u8; FILE_DATA_CAPACITY],
}

/// Size of an exec record's data area: argv, then three paths, each with room for one more
/// component than its capacity so the verifier can prove every copy stays in bounds.
pub const EXEC_DATA_CAPACITY: usize =
    ARGV_CAPACITY + FILENAME_CAPACITY + 2 * (PATH_CAPACITY + COMPONENT_CAPACITY);

/// An exec record as the kernel side builds it in per-CPU scratch memory.
#[repr(C)]
pub struct ExecScratch {
    pub record: ExecRecord,
    pub data: [u8; EXEC_DATA_CAPACITY],
}

/// Indexes into the per-CPU drop counter array.
pub mod counter {
    /// Exec records that found the ring buffer full.
    pub const RINGBUF_FULL_EXEC: u32 = 0;
    pub const RINGBUF_FULL_FORK: u32 = 1;
    pub const RINGBUF_FULL_EXIT: u32 = 2;
    /// Syscall entries that could not be remembered for their exit (map full).
    pub const PENDING_MAP_FULL: u32 = 3;
    /// Exec argument areas larger than the configured limit (cut, and marked).
    pub const ARGV_TRUNCATED: u32 = 4;
    pub const RINGBUF_FULL_SOCKET: u32 = 5;
    pub const RINGBUF_FULL_FILE: u32 = 6;
    /// File events dropped in the kernel by the path filters (configuration, not loss).
    pub const FILE_FILTERED: u32 = 7;
    pub const COUNT: u32 = 8;
    /// Entries of the counters map. After the kernel's `COUNT` counters come as many that only
    /// userspace writes: how much of each counter it has already accounted for. The map outlives
    /// a worker when pinned, so the next worker counts exactly what happened in between.
    pub const SLOTS: u32 = 2 * COUNT;
}

/// Struct member offsets the kernel side needs, resolved by userspace from the running kernel's
/// BTF at load time. A zero-valued `valid` means "not resolved": the program then skips the reads
/// that need them and marks the record with a probe error instead of reading garbage.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct KernelOffsets {
    pub valid: u32,
    pub task_tgid: u32,
    pub task_real_parent: u32,
    pub task_cred: u32,
    pub task_mm: u32,
    pub task_fs: u32,
    pub task_exit_code: u32,
    pub cred_euid: u32,
    pub cred_egid: u32,
    pub mm_arg_start: u32,
    pub mm_arg_end: u32,
    pub mm_exe_file: u32,
    pub file_f_path: u32,
    pub fs_pwd: u32,
    pub path_mnt: u32,
    pub path_dentry: u32,
    pub dentry_parent: u32,
    pub dentry_name: u32,
    pub qstr_len: u32,
    pub qstr_name: u32,
    pub mount_mnt: u32,
    pub mount_parent: u32,
    pub mount_mountpoint: u32,
    pub vfsmount_root: u32,
    pub task_files: u32,
    pub files_fdt: u32,
    pub fdtable_fd: u32,
    pub fdtable_max_fds: u32,
    pub file_private_data: u32,
    pub file_f_inode: u32,
    pub inode_i_ino: u32,
    pub inode_i_sb: u32,
    pub super_s_dev: u32,
    pub dentry_d_inode: u32,
    pub dentry_d_sb: u32,
}

/// Offsets into the kernel's socket structures, resolved like [`KernelOffsets`]; separate so a
/// kernel without IPv6 (no `skc_v6_*`) still gets process and file events.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct SocketOffsets {
    pub valid: u32,
    pub socket_type: u32,
    pub socket_sk: u32,
    pub sock_common: u32,
    pub sock_protocol: u32,
    pub skc_family: u32,
    pub skc_daddr: u32,
    pub skc_rcv_saddr: u32,
    pub skc_dport: u32,
    pub skc_num: u32,
    pub skc_v6_daddr: u32,
    pub skc_v6_rcv_saddr: u32,
}

impl SocketOffsets {
    pub const UNRESOLVED: Self = Self {
        valid: 0,
        socket_type: 0,
        socket_sk: 0,
        sock_common: 0,
        sock_protocol: 0,
        skc_family: 0,
        skc_daddr: 0,
        skc_rcv_saddr: 0,
        skc_dport: 0,
        skc_num: 0,
        skc_v6_daddr: 0,
        skc_v6_rcv_saddr: 0,
    };
}

impl KernelOffsets {
    /// Offsets not resolved: the programs read none of the fields that need them.
    pub const UNRESOLVED: Self = Self {
        valid: 0,
        task_tgid: 0,
        task_real_parent: 0,
        task_cred: 0,
        task_mm: 0,
        task_fs: 0,
        task_exit_code: 0,
        cred_euid: 0,
        cred_egid: 0,
        mm_arg_start: 0,
        mm_arg_end: 0,
        mm_exe_file: 0,
        file_f_path: 0,
        fs_pwd: 0,
        path_mnt: 0,
        path_dentry: 0,
        dentry_parent: 0,
        dentry_name: 0,
        qstr_len: 0,
        qstr_name: 0,
        mount_mnt: 0,
        mount_parent: 0,
        mount_mountpoint: 0,
        vfsmount_root: 0,
        task_files: 0,
        files_fdt: 0,
        fdtable_fd: 0,
        fdtable_max_fds: 0,
        file_private_data: 0,
        file_f_inode: 0,
        inode_i_ino: 0,
        inode_i_sb: 0,
        super_s_dev: 0,
        dentry_d_inode: 0,
        dentry_d_sb: 0,
    };
}

/// Where syscall tracepoints keep their values: a stable ABI (`syscalls:sys_enter_*` records hold
/// `int __syscall_nr` at 8, then each argument in an 8-byte slot from 16; `sys_exit_*` records
/// hold `long ret` at 16). Userspace checks every tracepoint vigil attaches to against its
/// `format` before attaching.
pub mod syscall_record {
    /// Offset of the first argument of a `sys_enter_*` record.
    pub const FIRST_ARG: usize = 16;
    /// Size of each argument slot.
    pub const ARG_SIZE: usize = 8;
    /// Offset of `ret` in a `sys_exit_*` record.
    pub const RET: usize = 16;

    /// Offset of argument `n` (from 0).
    pub const fn arg(n: usize) -> usize {
        FIRST_ARG + ARG_SIZE * n
    }
}

/// How the exit probe tells that the last thread of a process ends.
pub mod exit_mode {
    /// The tracepoint's own `bool group_dead` field (at [`super::TracepointFields::exit_group_dead`]).
    pub const GROUP_DEAD: u32 = 1;
    /// Kernels whose tracepoint has no `group_dead`: `task->signal->live` has reached 0 (it is
    /// decremented before the tracepoint fires); one report per process is kept by a map, since
    /// threads exiting together may all see 0.
    pub const SIGNAL_LIVE: u32 = 2;
    /// Neither is known (no BTF): the thread group leader's exit stands for the process's.
    pub const THREAD_LEADER: u32 = 3;
}

/// Offsets of the `sched:*` tracepoint fields the programs read, located by userspace in the
/// running kernel's tracefs `format` files (they move between kernels), and how the exit probe
/// recognises a process's end.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TracepointFields {
    /// `sched_process_exec`: the `__data_loc char[] filename` field.
    pub exec_filename: u32,
    /// `sched_process_exec`: `pid_t old_pid` (the thread that called exec).
    pub exec_old_pid: u32,
    /// An [`exit_mode`] value.
    pub exit_mode: u32,
    /// `sched_process_exit`: `bool group_dead`, for [`exit_mode::GROUP_DEAD`].
    pub exit_group_dead: u32,
    /// `task_struct.signal` and `signal_struct.live`, for [`exit_mode::SIGNAL_LIVE`].
    pub task_signal: u32,
    pub signal_live: u32,
}

impl TracepointFields {
    /// Until userspace says otherwise: the layout of every kernel since 3.x for exec, and the
    /// exit rule that needs nothing from the kernel.
    pub const DEFAULT: Self = Self {
        exec_filename: 8,
        exec_old_pid: 16,
        exit_mode: exit_mode::THREAD_LEADER,
        exit_group_dead: 0,
        task_signal: 0,
        signal_live: 0,
    };
}

/// Settings userspace writes into the program's read-only globals before loading.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct ProbeConfig {
    /// The agent's own thread group id: its activity is not reported.
    pub agent_tgid: u32,
    /// argv bytes to capture per exec (at most [`ARGV_CAPACITY`]).
    pub argv_limit: u32,
    /// Bit set of [`filter_mode`]: which directory filters are configured.
    pub file_filter_mode: u32,
    /// This program set's generation: it records only while the shared [`names::ACTIVE_MAP`]
    /// holds this number (a worker taking the kernel side over switches from the old set to
    /// the new one in one map write, so no event is recorded by both or by neither).
    pub generation: u32,
}

/// Bits of [`ProbeConfig::file_filter_mode`].
pub mod filter_mode {
    /// Report a file event only if its path passes an INCLUDE directory (file_paths is set).
    pub const INCLUDE_ONLY: u32 = 1;
    /// Report read-only opens (under ACCESSES directories): osquery's file_accesses.
    pub const READ_OPENS: u32 = 2;
}

/// Default argv bytes captured per exec.
pub const DEFAULT_ARGV_LIMIT: u32 = 4096;

/// Names of the maps and programs, shared so the two sides cannot drift apart.
pub mod names {
    pub const EVENTS_MAP: &str = "EVENTS";
    pub const COUNTERS_MAP: &str = "COUNTERS";
    pub const CONFIG_GLOBAL: &str = "CONFIG";
    pub const OFFSETS_GLOBAL: &str = "OFFSETS";
    pub const SOCKET_OFFSETS_GLOBAL: &str = "SOCKET_OFFSETS";
    pub const TRACEPOINT_FIELDS_GLOBAL: &str = "TRACEPOINT_FIELDS";
    pub const DIR_FILTER_MAP: &str = "DIR_FILTER";
    /// One `u32`: the generation of the program set that records (see `ProbeConfig`).
    pub const ACTIVE_MAP: &str = "ACTIVE";
    /// Syscall entries waiting for their exit: shared by successive program sets, so a syscall
    /// that enters under one set and exits under the next is still reported.
    pub const PENDING_MAPS: &[&str] = &[
        "PENDING_EXEC",
        "PENDING_FORK",
        "PENDING_FILE",
        "PENDING_SOCKET",
    ];
}

/// `clone` flag: the new task is a thread of the caller, not a new process.
pub const CLONE_THREAD: u64 = 0x0001_0000;

#[cfg(feature = "user")]
mod user {
    // SAFETY: plain `#[repr(C)]` integers with explicit padding: every bit pattern is valid.
    unsafe impl aya::Pod for super::KernelOffsets {}
    // SAFETY: as above.
    unsafe impl aya::Pod for super::ProbeConfig {}
    // SAFETY: as above.
    unsafe impl aya::Pod for super::SocketOffsets {}
    // SAFETY: as above.
    unsafe impl aya::Pod for super::DirKey {}
    // SAFETY: as above.
    unsafe impl aya::Pod for super::TracepointFields {}
}
