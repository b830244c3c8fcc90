//! Resolving a `struct path` to its absolute name by walking dentries and mounts, under
//! `bpf_loop` so the verifier checks one step instead of every level.

use core::ffi::c_void;

use aya_ebpf::helpers::generated as helper;
use vigil_ebpf_common::{
    COMPONENT_CAPACITY, EXEC_DATA_CAPACITY, FILENAME_CAPACITY, KernelOffsets, PATH_CAPACITY,
    PATH_DEPTH_LIMIT, PathSlot, path_flags,
};

use crate::kernel::{OFFSETS, read_kernel};
use crate::process::EXEC_SCRATCH;

/// State of one path walk, shared with [`walk_step`] across `bpf_loop` iterations.
#[repr(C)]
pub(crate) struct WalkState {
    /// Where in the exec scratch data area this path's components go.
    base: u64,
    /// Bytes written so far.
    written: u64,
    vfsmount: u64,
    dentry: u64,
    components: u32,
    /// `path_flags` bits; COMPLETE once the walk reached the root.
    flags: u32,
}

pub(crate) const LOOP_CONTINUE: i64 = 0;
pub(crate) const LOOP_BREAK: i64 = 1;

/// One step up a path: crosses a mount point, or copies one component (leaf first, each followed
/// by a NUL) and moves to the parent dentry. Runs under `bpf_loop`, so the verifier checks the
/// body once instead of once per level.
pub(crate) extern "C" fn walk_step(_index: u64, ctx: *mut c_void) -> i64 {
    // SAFETY: `ctx` is the `WalkState` that `walk_path` passed to `bpf_loop`.
    let state = unsafe { &mut *ctx.cast::<WalkState>() };
    let offsets = OFFSETS.load();
    let Some(scratch) = EXEC_SCRATCH.get_ptr_mut(0) else {
        return LOOP_BREAK;
    };
    let Some(mnt_root) = read_kernel::<u64>(state.vfsmount + offsets.vfsmount_root as u64) else {
        return LOOP_BREAK;
    };
    if state.dentry == mnt_root {
        // The top of this mount: continue from the dentry it is mounted on, in the parent mount,
        // unless this is the root mount (its parent is itself).
        let mount = state.vfsmount - offsets.mount_mnt as u64;
        let Some(parent) = read_kernel::<u64>(mount + offsets.mount_parent as u64) else {
            return LOOP_BREAK;
        };
        if parent == mount {
            state.flags |= path_flags::COMPLETE;
            return LOOP_BREAK;
        }
        let Some(mountpoint) = read_kernel::<u64>(mount + offsets.mount_mountpoint as u64) else {
            return LOOP_BREAK;
        };
        state.dentry = mountpoint;
        state.vfsmount = parent + offsets.mount_mnt as u64;
        return LOOP_CONTINUE;
    }
    let Some(parent) = read_kernel::<u64>(state.dentry + offsets.dentry_parent as u64) else {
        return LOOP_BREAK;
    };
    if parent == state.dentry {
        state.flags |= path_flags::COMPLETE;
        return LOOP_BREAK;
    }
    let Some(name) =
        read_kernel::<u64>(state.dentry + offsets.dentry_name as u64 + offsets.qstr_name as u64)
    else {
        return LOOP_BREAK;
    };
    if state.written > (PATH_CAPACITY - COMPONENT_CAPACITY) as u64 {
        state.flags |= path_flags::TRUNCATED;
        return LOOP_BREAK;
    }
    let at = (state.base + state.written) as usize;
    if at > EXEC_DATA_CAPACITY - COMPONENT_CAPACITY {
        state.flags |= path_flags::TRUNCATED;
        return LOOP_BREAK;
    }
    // SAFETY: `at + COMPONENT_CAPACITY` is within the data area (checked above); the helper
    // writes at most COMPONENT_CAPACITY bytes including the NUL.
    let copied = unsafe {
        helper::bpf_probe_read_kernel_str(
            (*scratch).data.as_mut_ptr().add(at).cast::<c_void>(),
            COMPONENT_CAPACITY as u32,
            name as *const c_void,
        )
    };
    if copied <= 0 {
        return LOOP_BREAK;
    }
    state.written += copied as u64;
    state.components += 1;
    state.dentry = parent;
    LOOP_CONTINUE
}

/// Walks a `struct path` (at `path_addr`) up to the global root, writing its components into the
/// exec scratch data area at `base`. Crosses mount points through `struct mount`.
#[inline(always)]
pub(crate) fn walk_path(base: usize, path_addr: u64, offsets: &KernelOffsets) -> PathSlot {
    let mut slot = PathSlot {
        offset: base as u32,
        len: 0,
        flags: 0,
        components: 0,
    };
    let (Some(vfsmount), Some(dentry)) = (
        read_kernel::<u64>(path_addr + offsets.path_mnt as u64),
        read_kernel::<u64>(path_addr + offsets.path_dentry as u64),
    ) else {
        slot.flags = path_flags::UNREADABLE;
        return slot;
    };
    let mut state = WalkState {
        base: base as u64,
        written: 0,
        vfsmount,
        dentry,
        components: 0,
        flags: 0,
    };
    // SAFETY: `walk_step` has the callback signature bpf_loop expects and only touches `state`.
    unsafe {
        helper::bpf_loop(
            PATH_DEPTH_LIMIT,
            walk_step as *mut c_void,
            (&mut state as *mut WalkState).cast::<c_void>(),
            0,
        );
    }
    slot.len = state.written as u32;
    slot.components = state.components;
    slot.flags = if state.flags & path_flags::COMPLETE != 0 {
        path_flags::COMPLETE
    } else {
        path_flags::TRUNCATED
    };
    slot
}

/// Copies a NUL-terminated string (kernel or user) into `data[at..]`, at most FILENAME_CAPACITY.
#[inline(always)]
pub(crate) fn copy_str(data: *mut u8, at: usize, src: u64, user: bool) -> PathSlot {
    let mut slot = PathSlot {
        offset: at as u32,
        len: 0,
        flags: path_flags::UNREADABLE,
        components: 0,
    };
    if at > EXEC_DATA_CAPACITY - FILENAME_CAPACITY {
        return slot;
    }
    // SAFETY: `at + FILENAME_CAPACITY` is within the data area (checked above).
    let copied = unsafe {
        let dst = data.add(at).cast::<c_void>();
        if user {
            helper::bpf_probe_read_user_str(dst, FILENAME_CAPACITY as u32, src as *const c_void)
        } else {
            helper::bpf_probe_read_kernel_str(dst, FILENAME_CAPACITY as u32, src as *const c_void)
        }
    };
    if copied > 0 {
        slot.len = copied as u32;
        slot.flags = path_flags::COMPLETE;
        slot.components = 1;
    }
    slot
}
