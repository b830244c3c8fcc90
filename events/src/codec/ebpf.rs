//! The stored form of the eBPF publisher's events: process, socket, file and kernel module
//! events, each with the calling task (and, but for process events, what the process table
//! knows of the caller).

use super::{
    DecodeError,
    wire::{Reader, Writer},
};
use crate::model::{
    Actor, FileEvent, FileOperation, KernelModuleEvent, ProcessAction, ProcessEvent, SocketEvent,
    Syscall, Task,
};

const PROCESS_EVENT_V1: u8 = 1;
const SOCKET_EVENT_V1: u8 = 1;
const FILE_EVENT_V1: u8 = 1;
const KERNEL_MODULE_EVENT_V1: u8 = 1;

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
    let task = read_task(&mut r)?;
    let path = r.str("path")?;
    let filename = r.str("filename")?;
    let cwd = r.str("cwd")?;
    let argc = r.uint()?;
    // Each argument takes at least one byte: a count larger than what is left is corrupt.
    if argc > r.0.len() as u64 {
        return Err(DecodeError::Invalid("argc"));
    }
    let mut argv = Vec::with_capacity(argc as usize);
    for _ in 0..argc {
        argv.push(r.str("argv")?);
    }
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
    let parent_path = r.str("parent_path")?;
    if !r.0.is_empty() {
        return Err(DecodeError::Invalid("trailing bytes"));
    }
    Ok(ProcessEvent {
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
    Ok(Task {
        pid: r.u32("pid")?,
        tid: r.u32("tid")?,
        parent: r.u32("parent")?,
        uid: r.u32("uid")?,
        gid: r.u32("gid")?,
        euid: r.u32("euid")?,
        egid: r.u32("egid")?,
        cgroup_id: r.uint()?,
        comm: r.str("comm")?,
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
