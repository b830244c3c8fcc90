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
    /// A kernel module was loaded or unloaded (or the call failed).
    Module = 7,
    /// A ptrace request that attaches to or writes into another process (or the call failed).
    Ptrace = 8,
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
            7 => Some(Self::Module),
            8 => Some(Self::Ptrace),
            _ => None,
        }
    }
}

/// Which event table a record feeds, as the kernel side knows it: every record kind, every
/// watched syscall and every ring-buffer counter belongs to one family. Userspace maps each
/// family to its table once (the decoder's `family_table`).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    Process = 0,
    Socket = 1,
    File = 2,
    Module = 3,
    Ptrace = 4,
}

impl RecordKind {
    /// The family of the records of this kind.
    pub const fn family(self) -> Family {
        match self {
            Self::Exec | Self::ExecFailed | Self::Fork | Self::Exit => Family::Process,
            Self::Socket => Family::Socket,
            Self::File => Family::File,
            Self::Module => Family::Module,
            Self::Ptrace => Family::Ptrace,
        }
    }
}

/// The one list of syscalls vigil watches, from which both sides generate what they need: the
/// ids records carry ([`SyscallId`]), the names the `syscall` column shows, the program list
/// userspace attaches (`syscalls:sys_enter_<name>` and `sys_exit_<name>`), and the kernel side's
/// syscall id for each entry program. `$callback` is a macro taking the two groups below:
///
/// - `ids`: ids that are not a watched syscall's (`unknown`, and a process's `exit`, reported
///   from `sched_process_exit`): `Variant = id, name;`
/// - `syscalls`, in the order they are attached: `Variant = id, name, family, arguments the
///   entry program reads, entry program, the family's shared exit program;`
///
/// Ids are stored in event rows: never reuse or renumber one.
#[macro_export]
macro_rules! for_each_syscall {
    ($callback:ident) => {
        $callback! {
            ids {
                Unknown = 0, unknown;
                Exit = 7, exit;
            }
            syscalls {
                Execve = 1, execve, Process, 2, vigil_enter_execve, vigil_exit_execve;
                Execveat = 2, execveat, Process, 3, vigil_enter_execveat, vigil_exit_execve;
                Clone = 5, clone, Process, 1, vigil_enter_clone, vigil_exit_clone;
                Clone3 = 6, clone3, Process, 1, vigil_enter_clone3, vigil_exit_clone;
                Fork = 3, fork, Process, 0, vigil_enter_fork, vigil_exit_clone;
                Vfork = 4, vfork, Process, 0, vigil_enter_vfork, vigil_exit_clone;
                Connect = 8, connect, Socket, 3, vigil_enter_connect, vigil_exit_socket;
                Accept = 9, accept, Socket, 3, vigil_enter_accept, vigil_exit_socket;
                Accept4 = 10, accept4, Socket, 3, vigil_enter_accept4, vigil_exit_socket;
                Bind = 11, bind, Socket, 3, vigil_enter_bind, vigil_exit_socket;
                Listen = 12, listen, Socket, 1, vigil_enter_listen, vigil_exit_socket;
                Open = 13, open, File, 3, vigil_enter_open, vigil_exit_file;
                Openat = 14, openat, File, 4, vigil_enter_openat, vigil_exit_file;
                Openat2 = 15, openat2, File, 3, vigil_enter_openat2, vigil_exit_file;
                Creat = 16, creat, File, 2, vigil_enter_creat, vigil_exit_file;
                Unlink = 17, unlink, File, 1, vigil_enter_unlink, vigil_exit_file;
                Unlinkat = 18, unlinkat, File, 3, vigil_enter_unlinkat, vigil_exit_file;
                Rmdir = 19, rmdir, File, 1, vigil_enter_rmdir, vigil_exit_file;
                Rename = 20, rename, File, 2, vigil_enter_rename, vigil_exit_file;
                Renameat = 21, renameat, File, 4, vigil_enter_renameat, vigil_exit_file;
                Renameat2 = 22, renameat2, File, 5, vigil_enter_renameat2, vigil_exit_file;
                Chmod = 23, chmod, File, 2, vigil_enter_chmod, vigil_exit_file;
                Fchmod = 24, fchmod, File, 2, vigil_enter_fchmod, vigil_exit_file;
                Fchmodat = 25, fchmodat, File, 3, vigil_enter_fchmodat, vigil_exit_file;
                Fchmodat2 = 26, fchmodat2, File, 4, vigil_enter_fchmodat2, vigil_exit_file;
                Chown = 27, chown, File, 3, vigil_enter_chown, vigil_exit_file;
                Lchown = 28, lchown, File, 3, vigil_enter_lchown, vigil_exit_file;
                Fchown = 29, fchown, File, 3, vigil_enter_fchown, vigil_exit_file;
                Fchownat = 30, fchownat, File, 5, vigil_enter_fchownat, vigil_exit_file;
                Truncate = 31, truncate, File, 2, vigil_enter_truncate, vigil_exit_file;
                Ftruncate = 32, ftruncate, File, 2, vigil_enter_ftruncate, vigil_exit_file;
                Link = 33, link, File, 2, vigil_enter_link, vigil_exit_file;
                Linkat = 34, linkat, File, 5, vigil_enter_linkat, vigil_exit_file;
                Symlink = 35, symlink, File, 2, vigil_enter_symlink, vigil_exit_file;
                Symlinkat = 36, symlinkat, File, 3, vigil_enter_symlinkat, vigil_exit_file;
                Mkdir = 37, mkdir, File, 2, vigil_enter_mkdir, vigil_exit_file;
                Mkdirat = 38, mkdirat, File, 3, vigil_enter_mkdirat, vigil_exit_file;
                InitModule = 39, init_module, Module, 3, vigil_enter_init_module, vigil_exit_module;
                FinitModule = 40, finit_module, Module, 3, vigil_enter_finit_module,
                    vigil_exit_module;
                DeleteModule = 41, delete_module, Module, 2, vigil_enter_delete_module,
                    vigil_exit_module;
                Ptrace = 42, ptrace, Ptrace, 4, vigil_enter_ptrace, vigil_exit_ptrace;
            }
        }
    };
}

macro_rules! syscall_ids {
    (
        ids { $($Other:ident = $other_id:literal, $other_name:ident;)* }
        syscalls {
            $($Variant:ident = $id:literal, $name:ident, $family:ident, $args:literal,
              $enter:ident, $exit:ident;)*
        }
    ) => {
        /// The syscall (or event) that produced a record, as the kernel side knows it.
        #[repr(u32)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum SyscallId {
            $($Other = $other_id,)*
            $($Variant = $id,)*
        }

        impl SyscallId {
            /// Every id, in the table's order.
            pub const ALL: &'static [SyscallId] = &[$(Self::$Other,)* $(Self::$Variant,)*];

            /// The id a record carries as a number; `Unknown` for a number no row has.
            pub const fn from_u32(value: u32) -> Self {
                match value {
                    $($other_id => Self::$Other,)*
                    $($id => Self::$Variant,)*
                    _ => Self::Unknown,
                }
            }

            /// The name the `syscall` column shows.
            pub const fn name(self) -> &'static str {
                match self {
                    $(Self::$Other => stringify!($other_name),)*
                    $(Self::$Variant => stringify!($name),)*
                }
            }
        }

    };
}

for_each_syscall!(syscall_ids);

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

/// Size of a module record's data area: the module file's walked path (finit_module), then
/// the parameters string (init_module, finit_module) or the module's name (delete_module).
pub const MODULE_DATA_CAPACITY: usize = PATH_CAPACITY + COMPONENT_CAPACITY + FILENAME_CAPACITY;

/// A kernel module call (init_module, finit_module, delete_module) and its result.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct ModuleRecord {
    pub header: RecordHeader,
    /// The syscall's return value: 0, or a negative errno.
    pub result: i64,
    pub duration_ns: u64,
    /// init_module: the length of the image the caller passed.
    pub image_len: u64,
    /// finit_module: the module file's descriptor; -1 for the others.
    pub fd: i32,
    /// finit_module's and delete_module's flags.
    pub flags: u32,
    /// delete_module: the module's name as the caller gave it.
    pub name: PathSlot,
    /// finit_module: the file behind `fd`, walked leaf first.
    pub file: PathSlot,
    /// init_module, finit_module: the parameters string as the caller gave it.
    pub params: PathSlot,
    /// Bytes used in the data area.
    pub data_len: u32,
    pub _pad: u32,
}

/// A module record as the kernel side builds it in per-CPU scratch memory.
#[repr(C)]
pub struct ModuleScratch {
    pub record: ModuleRecord,
    pub data: [u8; MODULE_DATA_CAPACITY],
}

/// A ptrace call whose request takes hold of, or writes into, another process, and its result.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct PtraceRecord {
    pub header: RecordHeader,
    /// The syscall's return value: 0, or a negative errno.
    pub result: i64,
    pub duration_ns: u64,
    /// The request (a [`ptrace_request`] value).
    pub request: u64,
    /// The `addr` and `data` arguments as given (for the pokes: where, and the word written).
    pub addr: u64,
    pub data: u64,
    /// The target's pid as given.
    pub target_pid: i32,
    pub _pad: u32,
}

/// The ptrace requests vigil reports: those that attach to another process or change its
/// memory, registers or signal state (reads, resumes and detaches are left out in the kernel).
pub mod ptrace_request {
    pub const POKETEXT: u64 = 4;
    pub const POKEDATA: u64 = 5;
    pub const POKEUSER: u64 = 6;
    pub const SETREGS: u64 = 13;
    pub const SETFPREGS: u64 = 15;
    pub const ATTACH: u64 = 16;
    pub const SETFPXREGS: u64 = 19;
    pub const SETOPTIONS: u64 = 0x4200;
    pub const SETSIGINFO: u64 = 0x4203;
    pub const SETREGSET: u64 = 0x4205;
    pub const SEIZE: u64 = 0x4206;
    pub const SETSIGMASK: u64 = 0x420b;

    /// Every reported request with the name the `request` column shows.
    pub const NAMES: &[(u64, &str)] = &[
        (POKETEXT, "PTRACE_POKETEXT"),
        (POKEDATA, "PTRACE_POKEDATA"),
        (POKEUSER, "PTRACE_POKEUSER"),
        (SETREGS, "PTRACE_SETREGS"),
        (SETFPREGS, "PTRACE_SETFPREGS"),
        (ATTACH, "PTRACE_ATTACH"),
        (SETFPXREGS, "PTRACE_SETFPXREGS"),
        (SETOPTIONS, "PTRACE_SETOPTIONS"),
        (SETSIGINFO, "PTRACE_SETSIGINFO"),
        (SETREGSET, "PTRACE_SETREGSET"),
        (SEIZE, "PTRACE_SEIZE"),
        (SETSIGMASK, "PTRACE_SETSIGMASK"),
    ];

    /// Whether the kernel side reports `request` (a match, not a loop over [`NAMES`]: the
    /// verifier takes it as a few comparisons).
    #[inline(always)]
    pub const fn reported(request: u64) -> bool {
        matches!(
            request,
            POKETEXT
                | POKEDATA
                | POKEUSER
                | SETREGS
                | SETFPREGS
                | ATTACH
                | SETFPXREGS
                | SETOPTIONS
                | SETSIGINFO
                | SETREGSET
                | SEIZE
                | SETSIGMASK
        )
    }
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
    pub const RINGBUF_FULL_MODULE: u32 = 8;
    pub const RINGBUF_FULL_PTRACE: u32 = 9;
    pub const COUNT: u32 = 10;

    /// What a kernel counter that userspace reports counts.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub enum Meaning {
        /// Records lost: the ring buffer was full.
        RingBufferFull,
        /// Exec argument areas cut at the configured limit.
        ArgvTruncated,
        /// Events left out by configuration.
        Filtered,
    }

    /// The counters userspace reports, each with the family whose table shows it (no table
    /// shows [`PENDING_MAP_FULL`]).
    pub const REPORTED: &[(u32, super::Family, Meaning)] = &[
        (
            RINGBUF_FULL_EXEC,
            super::Family::Process,
            Meaning::RingBufferFull,
        ),
        (
            RINGBUF_FULL_FORK,
            super::Family::Process,
            Meaning::RingBufferFull,
        ),
        (
            RINGBUF_FULL_EXIT,
            super::Family::Process,
            Meaning::RingBufferFull,
        ),
        (
            ARGV_TRUNCATED,
            super::Family::Process,
            Meaning::ArgvTruncated,
        ),
        (
            RINGBUF_FULL_SOCKET,
            super::Family::Socket,
            Meaning::RingBufferFull,
        ),
        (
            RINGBUF_FULL_FILE,
            super::Family::File,
            Meaning::RingBufferFull,
        ),
        (FILE_FILTERED, super::Family::File, Meaning::Filtered),
        (
            RINGBUF_FULL_MODULE,
            super::Family::Module,
            Meaning::RingBufferFull,
        ),
        (
            RINGBUF_FULL_PTRACE,
            super::Family::Ptrace,
            Meaning::RingBufferFull,
        ),
    ];
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
    /// The directory filter map holds at least one directory: only then do the file programs'
    /// path walks look each directory they pass up in it (a hash lookup and four reads a step).
    pub const DIRECTORIES: u32 = 4;
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
        "PENDING_MODULE",
        "PENDING_PTRACE",
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
