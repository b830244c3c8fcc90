//! Compact binary encoding of stored events: a version byte, then LEB128 integers and
//! length-prefixed strings in a fixed order. Smaller and faster than JSON, and a decode error is
//! a typed value (a corrupt record is counted and skipped, never a crash).

use crate::model::{
    Actor, AuditIds, AuditProcessEvent, AuditSocketEvent, FileEvent, FileOperation,
    KernelModuleEvent, ProcessAction, ProcessEvent, SocketEvent, Syscall, Task, UserEvent,
};

const PROCESS_EVENT_V1: u8 = 1;
const SOCKET_EVENT_V1: u8 = 1;
const FILE_EVENT_V1: u8 = 1;
const KERNEL_MODULE_EVENT_V1: u8 = 1;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("record ends early")]
    Truncated,
    #[error("unknown record version {0}")]
    Version(u8),
    #[error("field `{0}` holds an invalid value")]
    Invalid(&'static str),
}

struct Writer(Vec<u8>);

impl Writer {
    fn uint(&mut self, mut value: u64) {
        loop {
            let byte = (value & 0x7f) as u8;
            value >>= 7;
            if value == 0 {
                self.0.push(byte);
                return;
            }
            self.0.push(byte | 0x80);
        }
    }

    fn int(&mut self, value: i64) {
        // Zig-zag, so small negative numbers (errnos) stay one byte.
        self.uint(((value << 1) ^ (value >> 63)) as u64);
    }

    fn str(&mut self, value: &str) {
        self.uint(value.len() as u64);
        self.0.extend_from_slice(value.as_bytes());
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, DecodeError> {
        let (&first, rest) = self.0.split_first().ok_or(DecodeError::Truncated)?;
        self.0 = rest;
        Ok(first)
    }

    fn uint(&mut self) -> Result<u64, DecodeError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.byte()?;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(DecodeError::Invalid("varint"))
    }

    fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        u32::try_from(self.uint()?).map_err(|_| DecodeError::Invalid(field))
    }

    fn int(&mut self) -> Result<i64, DecodeError> {
        let raw = self.uint()?;
        Ok(((raw >> 1) as i64) ^ -((raw & 1) as i64))
    }

    fn str(&mut self, field: &'static str) -> Result<String, DecodeError> {
        self.str_ref(field).map(str::to_owned)
    }

    /// A string borrowed from the record: nothing allocated.
    fn str_ref(&mut self, field: &'static str) -> Result<&'a str, DecodeError> {
        let len = usize::try_from(self.uint()?).map_err(|_| DecodeError::Invalid(field))?;
        if len > self.0.len() {
            return Err(DecodeError::Truncated);
        }
        let (bytes, rest) = self.0.split_at(len);
        self.0 = rest;
        std::str::from_utf8(bytes).map_err(|_| DecodeError::Invalid(field))
    }
}

fn action_code(action: ProcessAction) -> u8 {
    match action {
        ProcessAction::Exec => 1,
        ProcessAction::ExecFailed => 2,
        ProcessAction::Fork => 3,
        ProcessAction::Exit => 4,
    }
}

pub fn encode_process_event(event: &ProcessEvent) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(128 + event.path.len() + event.cwd.len()));
    w.0.push(PROCESS_EVENT_V1);
    w.0.push(action_code(event.action));
    w.0.push(event.syscall.code());
    w.uint(event.time_ns);
    write_task(&mut w, &event.task);
    w.str(&event.path);
    w.str(&event.filename);
    w.str(&event.cwd);
    w.uint(event.argv.len() as u64);
    for arg in &event.argv {
        w.str(arg);
    }
    w.0.push(u8::from(event.argv_truncated));
    w.int(event.exit_code);
    w.uint(event.exit_signal.into());
    w.uint(event.child_pid.into());
    w.uint(event.duration_ns);
    w.uint(event.probe_error.into());
    w.str(&event.parent_path);
    w.0
}

pub fn decode_process_event(bytes: &[u8]) -> Result<ProcessEvent, DecodeError> {
    decode_process_event_view(bytes).map(|view| view.to_event())
}

/// A process event read in place: its strings borrowed from where it is stored (a store page, a
/// record), so reading one allocates nothing. SQL scans read rows this way and copy only the
/// cells a query uses.
#[derive(Debug, Clone, Copy)]
pub struct ProcessEventView<'a> {
    pub action: ProcessAction,
    pub syscall: Syscall,
    pub time_ns: u64,
    pub task: TaskView<'a>,
    pub path: &'a str,
    pub filename: &'a str,
    pub cwd: &'a str,
    pub argv: Args<'a>,
    pub argv_truncated: bool,
    pub exit_code: i64,
    pub exit_signal: u32,
    pub child_pid: u32,
    pub duration_ns: u64,
    pub probe_error: u32,
    pub parent_path: &'a str,
}

/// [`Task`] with its `comm` borrowed.
#[derive(Debug, Clone, Copy)]
pub struct TaskView<'a> {
    pub pid: u32,
    pub tid: u32,
    pub parent: u32,
    pub uid: u32,
    pub gid: u32,
    pub euid: u32,
    pub egid: u32,
    pub cgroup_id: u64,
    pub comm: &'a str,
}

/// A process's arguments, still encoded (validated when the event was read) or an event's own.
#[derive(Debug, Clone, Copy)]
pub struct Args<'a>(ArgsSource<'a>);

#[derive(Debug, Clone, Copy)]
enum ArgsSource<'a> {
    Encoded { count: usize, bytes: &'a [u8] },
    Owned(&'a [String]),
}

impl<'a> Args<'a> {
    pub fn len(&self) -> usize {
        match self.0 {
            ArgsSource::Encoded { count, .. } => count,
            ArgsSource::Owned(args) => args.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn iter(&self) -> impl Iterator<Item = &'a str> + use<'a> {
        let (encoded, owned) = match self.0 {
            ArgsSource::Encoded { count, bytes } => (Some((count, Reader(bytes))), None),
            ArgsSource::Owned(args) => (None, Some(args.iter().map(String::as_str))),
        };
        let encoded = encoded.into_iter().flat_map(|(count, mut reader)| {
            // Every argument was read once already: none fails here.
            (0..count).map_while(move |_| reader.str_ref("argv").ok())
        });
        encoded.chain(owned.into_iter().flatten())
    }

    /// The command line as osquery shows it: arguments joined by single spaces.
    pub fn cmdline(&self) -> String {
        // Sized once: pushing into an empty string reallocated it as it grew.
        let bytes: usize = self.iter().map(|arg| arg.len() + 1).sum();
        let mut line = String::with_capacity(bytes);
        for (i, arg) in self.iter().enumerate() {
            if i > 0 {
                line.push(' ');
            }
            line.push_str(arg);
        }
        line
    }
}

impl TaskView<'_> {
    pub fn to_task(&self) -> Task {
        Task {
            pid: self.pid,
            tid: self.tid,
            parent: self.parent,
            uid: self.uid,
            gid: self.gid,
            euid: self.euid,
            egid: self.egid,
            cgroup_id: self.cgroup_id,
            comm: self.comm.to_owned(),
        }
    }
}

impl Task {
    pub fn view(&self) -> TaskView<'_> {
        TaskView {
            pid: self.pid,
            tid: self.tid,
            parent: self.parent,
            uid: self.uid,
            gid: self.gid,
            euid: self.euid,
            egid: self.egid,
            cgroup_id: self.cgroup_id,
            comm: &self.comm,
        }
    }
}

impl ProcessEventView<'_> {
    pub fn to_event(&self) -> ProcessEvent {
        ProcessEvent {
            action: self.action,
            syscall: self.syscall,
            time_ns: self.time_ns,
            task: self.task.to_task(),
            path: self.path.to_owned(),
            filename: self.filename.to_owned(),
            cwd: self.cwd.to_owned(),
            argv: self.argv.iter().map(str::to_owned).collect(),
            argv_truncated: self.argv_truncated,
            exit_code: self.exit_code,
            exit_signal: self.exit_signal,
            child_pid: self.child_pid,
            duration_ns: self.duration_ns,
            probe_error: self.probe_error,
            parent_path: self.parent_path.to_owned(),
        }
    }
}

impl ProcessEvent {
    pub fn view(&self) -> ProcessEventView<'_> {
        ProcessEventView {
            action: self.action,
            syscall: self.syscall,
            time_ns: self.time_ns,
            task: self.task.view(),
            path: &self.path,
            filename: &self.filename,
            cwd: &self.cwd,
            argv: Args(ArgsSource::Owned(&self.argv)),
            argv_truncated: self.argv_truncated,
            exit_code: self.exit_code,
            exit_signal: self.exit_signal,
            child_pid: self.child_pid,
            duration_ns: self.duration_ns,
            probe_error: self.probe_error,
            parent_path: &self.parent_path,
        }
    }
}

/// Reads a stored process event in place (see [`ProcessEventView`]); the same checks as
/// [`decode_process_event`], which is this made owned.
pub fn decode_process_event_view(bytes: &[u8]) -> Result<ProcessEventView<'_>, DecodeError> {
    let mut r = Reader(bytes);
    let version = r.byte()?;
    if version != PROCESS_EVENT_V1 {
        return Err(DecodeError::Version(version));
    }
    let action = match r.byte()? {
        1 => ProcessAction::Exec,
        2 => ProcessAction::ExecFailed,
        3 => ProcessAction::Fork,
        4 => ProcessAction::Exit,
        _ => return Err(DecodeError::Invalid("action")),
    };
    let syscall = Syscall::from_code(r.byte()?).ok_or(DecodeError::Invalid("syscall"))?;
    let time_ns = r.uint()?;
    let task = read_task_view(&mut r)?;
    let path = r.str_ref("path")?;
    let filename = r.str_ref("filename")?;
    let cwd = r.str_ref("cwd")?;
    let argc = r.uint()?;
    // Each argument takes at least one byte: a count larger than what is left is corrupt.
    if argc > r.0.len() as u64 {
        return Err(DecodeError::Invalid("argc"));
    }
    let args_start = r.0;
    for _ in 0..argc {
        r.str_ref("argv")?;
    }
    let argv = Args(ArgsSource::Encoded {
        count: argc as usize,
        bytes: &args_start[..args_start.len() - r.0.len()],
    });
    let argv_truncated = match r.byte()? {
        0 => false,
        1 => true,
        _ => return Err(DecodeError::Invalid("truncated")),
    };
    let exit_code = r.int()?;
    let exit_signal = r.u32("exit_signal")?;
    let child_pid = r.u32("child_pid")?;
    let duration_ns = r.uint()?;
    let probe_error = r.u32("probe_error")?;
    let parent_path = r.str_ref("parent_path")?;
    if !r.0.is_empty() {
        return Err(DecodeError::Invalid("trailing bytes"));
    }
    Ok(ProcessEventView {
        action,
        syscall,
        time_ns,
        task,
        path,
        filename,
        cwd,
        argv,
        argv_truncated,
        exit_code,
        exit_signal,
        child_pid,
        duration_ns,
        probe_error,
        parent_path,
    })
}

fn write_task(w: &mut Writer, task: &Task) {
    w.uint(task.pid.into());
    w.uint(task.tid.into());
    w.uint(task.parent.into());
    w.uint(task.uid.into());
    w.uint(task.gid.into());
    w.uint(task.euid.into());
    w.uint(task.egid.into());
    w.uint(task.cgroup_id);
    w.str(&task.comm);
}

fn read_task(r: &mut Reader<'_>) -> Result<Task, DecodeError> {
    read_task_view(r).map(|task| task.to_task())
}

fn read_task_view<'a>(r: &mut Reader<'a>) -> Result<TaskView<'a>, DecodeError> {
    Ok(TaskView {
        pid: r.u32("pid")?,
        tid: r.u32("tid")?,
        parent: r.u32("parent")?,
        uid: r.u32("uid")?,
        gid: r.u32("gid")?,
        euid: r.u32("euid")?,
        egid: r.u32("egid")?,
        cgroup_id: r.uint()?,
        comm: r.str_ref("comm")?,
    })
}

fn write_actor(w: &mut Writer, actor: &Actor) {
    write_task(w, &actor.task);
    w.str(&actor.path);
    w.str(&actor.cmdline);
}

fn read_actor(r: &mut Reader<'_>) -> Result<Actor, DecodeError> {
    Ok(Actor {
        task: read_task(r)?,
        path: r.str("path")?,
        cmdline: r.str("cmdline")?,
    })
}

impl Reader<'_> {
    fn u16(&mut self, field: &'static str) -> Result<u16, DecodeError> {
        u16::try_from(self.uint()?).map_err(|_| DecodeError::Invalid(field))
    }

    fn finish(&self) -> Result<(), DecodeError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::Invalid("trailing bytes"))
        }
    }
}

pub fn encode_socket_event(event: &SocketEvent) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(96 + event.actor.cmdline.len()));
    w.0.push(SOCKET_EVENT_V1);
    w.0.push(event.syscall.code());
    w.uint(event.time_ns);
    write_actor(&mut w, &event.actor);
    w.int(event.fd.into());
    w.int(event.result);
    w.uint(event.family.into());
    w.uint(event.sock_type.into());
    w.uint(event.protocol.into());
    w.str(&event.local_address);
    w.uint(event.local_port.into());
    w.str(&event.remote_address);
    w.uint(event.remote_port.into());
    w.str(&event.socket_path);
    w.uint(event.duration_ns);
    w.uint(event.probe_error.into());
    w.0
}

pub fn decode_socket_event(bytes: &[u8]) -> Result<SocketEvent, DecodeError> {
    let mut r = Reader(bytes);
    let version = r.byte()?;
    if version != SOCKET_EVENT_V1 {
        return Err(DecodeError::Version(version));
    }
    let syscall = Syscall::from_code(r.byte()?).ok_or(DecodeError::Invalid("syscall"))?;
    let time_ns = r.uint()?;
    let actor = read_actor(&mut r)?;
    let fd = i32::try_from(r.int()?).map_err(|_| DecodeError::Invalid("fd"))?;
    let event = SocketEvent {
        syscall,
        time_ns,
        actor,
        fd,
        result: r.int()?,
        family: r.u16("family")?,
        sock_type: r.u16("type")?,
        protocol: r.u16("protocol")?,
        local_address: r.str("local_address")?,
        local_port: r.u16("local_port")?,
        remote_address: r.str("remote_address")?,
        remote_port: r.u16("remote_port")?,
        socket_path: r.str("socket_path")?,
        duration_ns: r.uint()?,
        probe_error: r.u32("probe_error")?,
    };
    r.finish()?;
    Ok(event)
}

pub fn encode_file_event(event: &FileEvent) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(
        96 + event.path.len() + event.dest_path.len(),
    ));
    w.0.push(FILE_EVENT_V1);
    w.0.push(event.operation.code());
    w.0.push(event.syscall.code());
    w.uint(event.time_ns);
    write_actor(&mut w, &event.actor);
    w.str(&event.path);
    w.0.push(u8::from(event.path_resolved));
    w.str(&event.dest_path);
    w.uint(event.mode.into());
    w.uint(event.flags.into());
    w.uint(event.inode);
    w.uint(event.device);
    w.int(event.fd.into());
    w.int(event.result);
    w.uint(event.new_uid.into());
    w.uint(event.new_gid.into());
    w.int(event.size);
    w.uint(event.duration_ns);
    w.uint(event.probe_error.into());
    w.0
}

pub fn decode_file_event(bytes: &[u8]) -> Result<FileEvent, DecodeError> {
    let mut r = Reader(bytes);
    let version = r.byte()?;
    if version != FILE_EVENT_V1 {
        return Err(DecodeError::Version(version));
    }
    let operation = FileOperation::from_code(r.byte()?).ok_or(DecodeError::Invalid("operation"))?;
    let syscall = Syscall::from_code(r.byte()?).ok_or(DecodeError::Invalid("syscall"))?;
    let time_ns = r.uint()?;
    let actor = read_actor(&mut r)?;
    let path = r.str("path")?;
    let path_resolved = match r.byte()? {
        0 => false,
        1 => true,
        _ => return Err(DecodeError::Invalid("path_resolved")),
    };
    let event = FileEvent {
        operation,
        syscall,
        time_ns,
        actor,
        path,
        path_resolved,
        dest_path: r.str("dest_path")?,
        mode: r.u32("mode")?,
        flags: r.u32("flags")?,
        inode: r.uint()?,
        device: r.uint()?,
        fd: i32::try_from(r.int()?).map_err(|_| DecodeError::Invalid("fd"))?,
        result: r.int()?,
        new_uid: r.u32("new_uid")?,
        new_gid: r.u32("new_gid")?,
        size: r.int()?,
        duration_ns: r.uint()?,
        probe_error: r.u32("probe_error")?,
    };
    r.finish()?;
    Ok(event)
}

pub fn encode_kernel_module_event(event: &KernelModuleEvent) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(
        96 + event.actor.cmdline.len() + event.module_path.len() + event.params.len(),
    ));
    w.0.push(KERNEL_MODULE_EVENT_V1);
    w.0.push(event.syscall.code());
    w.uint(event.time_ns);
    write_actor(&mut w, &event.actor);
    w.str(&event.name);
    w.str(&event.module_path);
    w.uint(event.size);
    w.str(&event.params);
    w.uint(event.flags.into());
    w.int(event.fd.into());
    w.int(event.result);
    w.uint(event.duration_ns);
    w.uint(event.probe_error.into());
    w.0
}

pub fn decode_kernel_module_event(bytes: &[u8]) -> Result<KernelModuleEvent, DecodeError> {
    let mut r = Reader(bytes);
    let version = r.byte()?;
    if version != KERNEL_MODULE_EVENT_V1 {
        return Err(DecodeError::Version(version));
    }
    let syscall = Syscall::from_code(r.byte()?).ok_or(DecodeError::Invalid("syscall"))?;
    let time_ns = r.uint()?;
    let actor = read_actor(&mut r)?;
    let event = KernelModuleEvent {
        syscall,
        time_ns,
        actor,
        name: r.str("name")?,
        module_path: r.str("module_path")?,
        size: r.uint()?,
        params: r.str("params")?,
        flags: r.u32("flags")?,
        fd: i32::try_from(r.int()?).map_err(|_| DecodeError::Invalid("fd"))?,
        result: r.int()?,
        duration_ns: r.uint()?,
        probe_error: r.u32("probe_error")?,
    };
    r.finish()?;
    Ok(event)
}

const AUDIT_PROCESS_EVENT_V1: u8 = 1;
const AUDIT_SOCKET_EVENT_V1: u8 = 1;
const USER_EVENT_V1: u8 = 1;

impl Reader<'_> {
    fn version(&mut self, expected: u8) -> Result<(), DecodeError> {
        match self.byte()? {
            v if v == expected => Ok(()),
            v => Err(DecodeError::Version(v)),
        }
    }

    fn flag(&mut self, field: &'static str) -> Result<bool, DecodeError> {
        match self.byte()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(DecodeError::Invalid(field)),
        }
    }

    fn syscall(&mut self) -> Result<Syscall, DecodeError> {
        Syscall::from_code(self.byte()?).ok_or(DecodeError::Invalid("syscall"))
    }

    fn strings(&mut self, field: &'static str) -> Result<Vec<String>, DecodeError> {
        let count = self.uint()?;
        // Each string takes at least one byte: a count larger than what is left is corrupt.
        if count > self.0.len() as u64 {
            return Err(DecodeError::Invalid(field));
        }
        (0..count).map(|_| self.str(field)).collect()
    }
}

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

    pub(crate) fn sample_event(time_ns: u64) -> ProcessEvent {
        ProcessEvent {
            action: ProcessAction::Exec,
            syscall: Syscall::Execve,
            time_ns,
            task: Task {
                pid: 4242,
                tid: 4242,
                parent: 1,
                uid: 1000,
                gid: 1000,
                euid: 0,
                egid: 0,
                cgroup_id: 77,
                comm: "true".into(),
            },
            path: "/usr/bin/true".into(),
            filename: "/bin/true".into(),
            cwd: "/tmp".into(),
            argv: vec!["/bin/true".into(), "a b".into(), String::new()],
            argv_truncated: false,
            exit_code: -2,
            exit_signal: 0,
            child_pid: 0,
            duration_ns: 12_345,
            probe_error: 0,
            parent_path: "/usr/bin/bash".into(),
        }
    }

    #[test]
    fn round_trips() {
        let event = sample_event(1_700_000_000_123_456_789);
        let bytes = encode_process_event(&event);
        assert_eq!(decode_process_event(&bytes), Ok(event));
    }

    #[test]
    fn a_view_reads_the_stored_event_in_place() {
        let event = sample_event(1_700_000_000_123_456_789);
        let bytes = encode_process_event(&event);
        let stored = decode_process_event_view(&bytes).expect("a view");
        let own = event.view();
        for view in [&stored, &own] {
            assert_eq!(view.to_event(), event);
            assert_eq!(view.argv.len(), event.argv.len());
            assert_eq!(view.argv.cmdline(), event.cmdline());
            assert_eq!(view.argv.iter().collect::<Vec<_>>(), event.argv);
        }
        // The view's strings are the stored bytes themselves, not copies.
        let stored_range = bytes.as_ptr_range();
        assert!(stored_range.contains(&stored.path.as_ptr()));
        assert!(stored_range.contains(&stored.task.comm.as_ptr()));
    }

    #[test]
    fn every_truncation_is_an_error_not_a_panic() {
        let bytes = encode_process_event(&sample_event(1));
        for len in 0..bytes.len() {
            assert!(
                decode_process_event(&bytes[..len]).is_err(),
                "prefix of {len} bytes"
            );
        }
    }

    pub(crate) fn sample_socket_event(time_ns: u64) -> SocketEvent {
        SocketEvent {
            syscall: Syscall::Connect,
            time_ns,
            actor: Actor {
                task: Task {
                    pid: 7,
                    tid: 8,
                    parent: 1,
                    uid: 1000,
                    gid: 1000,
                    euid: 1000,
                    egid: 1000,
                    cgroup_id: 3,
                    comm: "curl".into(),
                },
                path: "/usr/bin/curl".into(),
                cmdline: "curl https://example.com".into(),
            },
            fd: 5,
            result: -115,
            family: 10,
            sock_type: 1,
            protocol: 6,
            local_address: "::1".into(),
            local_port: 40000,
            remote_address: "::1".into(),
            remote_port: 443,
            socket_path: String::new(),
            duration_ns: 99,
            probe_error: 0,
        }
    }

    #[test]
    fn file_events_round_trip_and_reject_truncation() {
        let event = FileEvent {
            operation: FileOperation::Rename,
            syscall: Syscall::Renameat2,
            time_ns: 9,
            actor: sample_socket_event(1).actor,
            path: "/tmp/a".into(),
            path_resolved: true,
            dest_path: "/tmp/b/c".into(),
            mode: 0o644,
            flags: 1,
            inode: 1234,
            device: 2049,
            fd: -1,
            result: -2,
            new_uid: u32::MAX,
            new_gid: u32::MAX,
            size: -7,
            duration_ns: 3,
            probe_error: 0,
        };
        let bytes = encode_file_event(&event);
        assert_eq!(decode_file_event(&bytes), Ok(event));
        for len in 0..bytes.len() {
            assert!(decode_file_event(&bytes[..len]).is_err(), "prefix {len}");
        }
    }

    #[test]
    fn socket_events_round_trip_and_reject_truncation() {
        let event = sample_socket_event(5);
        let bytes = encode_socket_event(&event);
        assert_eq!(decode_socket_event(&bytes), Ok(event));
        for len in 0..bytes.len() {
            assert!(decode_socket_event(&bytes[..len]).is_err(), "prefix {len}");
        }
    }

    #[test]
    fn kernel_module_events_round_trip_and_reject_truncation() {
        let event = KernelModuleEvent {
            syscall: Syscall::FinitModule,
            time_ns: 11,
            actor: sample_socket_event(1).actor,
            name: String::new(),
            module_path: "/tmp/rootkit.ko".into(),
            size: 0,
            params: "hide=1".into(),
            flags: 2,
            fd: 4,
            result: -8,
            duration_ns: 1_500,
            probe_error: 0,
        };
        let bytes = encode_kernel_module_event(&event);
        assert_eq!(decode_kernel_module_event(&bytes), Ok(event));
        for len in 0..bytes.len() {
            assert!(
                decode_kernel_module_event(&bytes[..len]).is_err(),
                "prefix {len}"
            );
        }
    }

    #[test]
    fn rejects_unknown_versions_and_garbage() {
        assert_eq!(decode_process_event(&[9]), Err(DecodeError::Version(9)));
        assert!(decode_process_event(b"\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff").is_err());
        let mut bytes = encode_process_event(&sample_event(1));
        bytes.push(0);
        assert!(decode_process_event(&bytes).is_err());
    }

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
