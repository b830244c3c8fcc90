//! The calling task, and what the process table knows of it, as the eBPF publisher's events
//! store them.

use super::{
    DecodeError,
    wire::{Reader, Writer},
};
use crate::model::{Actor, ActorView, Task, TaskView};

pub(crate) fn write_task(w: &mut Writer, task: &Task) {
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

pub(crate) fn read_task(r: &mut Reader<'_>) -> Result<Task, DecodeError> {
    read_task_view(r).and_then(|task| task.to_task())
}

pub(crate) fn read_task_view<'a>(r: &mut Reader<'a>) -> Result<TaskView<'a>, DecodeError> {
    Ok(TaskView {
        pid: r.u32("pid")?,
        tid: r.u32("tid")?,
        parent: r.u32("parent")?,
        uid: r.u32("uid")?,
        gid: r.u32("gid")?,
        euid: r.u32("euid")?,
        egid: r.u32("egid")?,
        cgroup_id: r.uint()?,
        comm: r.text_ref("comm")?,
    })
}

pub(crate) fn write_actor(w: &mut Writer, actor: &Actor) {
    write_task(w, &actor.task);
    w.str(&actor.path);
    w.str(&actor.cmdline);
}

pub(crate) fn read_actor_view<'a>(r: &mut Reader<'a>) -> Result<ActorView<'a>, DecodeError> {
    Ok(ActorView {
        task: read_task_view(r)?,
        path: r.text_ref("path")?,
        cmdline: r.text_ref("cmdline")?,
    })
}

pub(crate) fn read_actor(r: &mut Reader<'_>) -> Result<Actor, DecodeError> {
    Ok(Actor {
        task: read_task(r)?,
        path: r.str("path")?,
        cmdline: r.str("cmdline")?,
    })
}
