//! Resolving a `struct path` to its absolute name by walking dentries and mounts, under
//! `bpf_loop` so the verifier checks one step instead of every level. A walk writes into the data
//! area of the scratch record its [`WalkTarget`] names (each record family declares its own, so
//! this module knows none of them), and, for file events, notes which configured directories (by
//! device and inode) it passed.

use core::ffi::c_void;

use aya_ebpf::{
    helpers::generated as helper,
    macros::map,
    maps::{HashMap, PerCpuArray},
};
use vigil_ebpf_common::{
    COMPONENT_CAPACITY, DirKey, FILENAME_CAPACITY, KernelOffsets, PATH_CAPACITY, PATH_DEPTH_LIMIT,
    PathSlot, filter_mode, path_flags,
};

use crate::kernel::{CONFIG, member, member_pair, member_ptr, read_ptr};

/// Directories whose events are excluded, included, or whose reads are watched, by identity:
/// a relative, `..` or symlinked spelling of a path cannot slip past them. Values are
/// `dir_filter` bits; userspace fills the map from the configuration.
#[map]
pub(crate) static DIR_FILTER: HashMap<DirKey, u32> = HashMap::with_max_entries(1024, 0);

/// Bytes the current walk has written, per CPU. Not in [`WalkState`] on the stack: there, a
/// count that grows at each step gives the verifier a new state at each step, and it checks the
/// step once per byte the path could hold (600,000 instructions for the exec program, most of
/// the time vigil takes to start). Read from a map, it is the same unknown bounded value at
/// every step, and one check of the step covers them all.
#[map]
static WALK_WRITTEN: PerCpuArray<u64> = PerCpuArray::with_max_entries(1, 0);

/// A per-CPU scratch record a walk writes into. Each walk is generic over its target, so each
/// target gets its own step callback, verified with the target fixed: that keeps the verifier's
/// work per walk small.
pub(crate) trait WalkTarget {
    /// Bytes in the record's data area.
    const CAPACITY: usize;
    /// Whether the walk notes the configured directories it passes (file events).
    const FILTERS: bool;
    /// The start of the record's data area on this CPU, when the scratch map gives it.
    fn data() -> Option<*mut u8>;
}

/// State of one path walk, shared with [`walk_step`] across `bpf_loop` iterations.
#[repr(C)]
pub(crate) struct WalkState {
    /// Where in the target's data area this path's components go.
    base: u64,
    vfsmount: u64,
    /// The root dentry of `vfsmount`: read once per mount, not at every step.
    mnt_root: u64,
    dentry: u64,
    components: u32,
    /// `path_flags` bits; COMPLETE once the walk reached the root.
    flags: u32,
    /// `dir_filter` bits of the configured directories passed so far (file walks only).
    filter: u32,
    /// Whether any directory is configured: without, a file walk has nothing to look up.
    check_dirs: u32,
    /// The offsets a step uses, copied here once per walk: loading the `OFFSETS` global copies
    /// all of it, which in every iteration is most of what the verifier goes through.
    offsets: StepOffsets,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct StepOffsets {
    vfsmount_root: u32,
    mount_mnt: u32,
    mount_parent: u32,
    mount_mountpoint: u32,
    dentry_parent: u32,
    /// `dentry.d_name.name`.
    dentry_name: u32,
    dentry_d_inode: u32,
    dentry_d_sb: u32,
    inode_i_ino: u32,
    super_s_dev: u32,
}

impl StepOffsets {
    #[inline(always)]
    fn of(offsets: &KernelOffsets) -> Self {
        Self {
            vfsmount_root: offsets.vfsmount_root,
            mount_mnt: offsets.mount_mnt,
            mount_parent: offsets.mount_parent,
            mount_mountpoint: offsets.mount_mountpoint,
            dentry_parent: offsets.dentry_parent,
            dentry_name: offsets.dentry_name + offsets.qstr_name,
            dentry_d_inode: offsets.dentry_d_inode,
            dentry_d_sb: offsets.dentry_d_sb,
            inode_i_ino: offsets.inode_i_ino,
            super_s_dev: offsets.super_s_dev,
        }
    }
}

pub(crate) const LOOP_CONTINUE: i64 = 0;
pub(crate) const LOOP_BREAK: i64 = 1;

/// Notes whether `dentry` is one of the configured directories.
#[inline(always)]
fn check_filter(state: &mut WalkState) {
    let offsets = state.offsets;
    let dentry = state.dentry;
    let inode = member_ptr(dentry, offsets.dentry_d_inode as u64);
    let sb = member_ptr(dentry, offsets.dentry_d_sb as u64);
    let (ino, ino_read) = member::<u64>(inode, offsets.inode_i_ino as u64);
    let (dev, dev_read) = member::<u32>(sb, offsets.super_s_dev as u64);
    if !ino_read || !dev_read {
        return;
    }
    let key = DirKey { dev, _pad: 0, ino };
    // SAFETY: the value is copied out at once.
    if let Some(bits) = unsafe { DIR_FILTER.get(&key) } {
        state.filter |= *bits;
    }
}

/// Copies one component into the target's data area at `at`.
#[inline(always)]
fn write_component<T: WalkTarget>(at: usize, name: u64) -> i64 {
    let Some(data) = T::data() else {
        return -1;
    };
    if at > T::CAPACITY - COMPONENT_CAPACITY {
        return -1;
    }
    // SAFETY: `at + COMPONENT_CAPACITY` is within the data area (checked above); the helper
    // writes at most COMPONENT_CAPACITY bytes including the NUL.
    unsafe {
        helper::bpf_probe_read_kernel_str(
            data.add(at).cast::<c_void>(),
            COMPONENT_CAPACITY as u32,
            name as *const c_void,
        )
    }
}

/// The `bpf_loop` callback of walks into `T`.
extern "C" fn walk_step_into<T: WalkTarget>(_index: u64, ctx: *mut c_void) -> i64 {
    // SAFETY: `ctx` is the `WalkState` that `walk` passed to `bpf_loop`.
    walk_step::<T>(unsafe { &mut *ctx.cast::<WalkState>() })
}

/// One step up a path: crosses a mount point, or copies one component (leaf first, each followed
/// by a NUL) and moves to the parent dentry.
#[inline(always)]
fn walk_step<T: WalkTarget>(state: &mut WalkState) -> i64 {
    let offsets = state.offsets;
    if T::FILTERS && state.check_dirs != 0 {
        check_filter(state);
    }
    if state.mnt_root == 0 {
        return LOOP_BREAK;
    }
    if state.dentry == state.mnt_root {
        // The top of this mount: continue from the dentry it is mounted on, in the parent mount,
        // unless this is the root mount (its parent is itself).
        let mount = state.vfsmount - offsets.mount_mnt as u64;
        let parent = member_ptr(mount, offsets.mount_parent as u64);
        if parent == 0 {
            return LOOP_BREAK;
        }
        if parent == mount {
            state.flags |= path_flags::COMPLETE;
            return LOOP_BREAK;
        }
        let mountpoint = member_ptr(mount, offsets.mount_mountpoint as u64);
        if mountpoint == 0 {
            return LOOP_BREAK;
        }
        state.dentry = mountpoint;
        state.vfsmount = parent + offsets.mount_mnt as u64;
        state.mnt_root = member_ptr(state.vfsmount, offsets.vfsmount_root as u64);
        return LOOP_CONTINUE;
    }
    let (parent, name) = member_pair(
        state.dentry,
        offsets.dentry_parent as u64,
        offsets.dentry_name as u64,
    );
    if parent == 0 {
        return LOOP_BREAK;
    }
    if parent == state.dentry {
        state.flags |= path_flags::COMPLETE;
        return LOOP_BREAK;
    }
    if name == 0 {
        return LOOP_BREAK;
    }
    let Some(written) = WALK_WRITTEN.get_ptr_mut(0) else {
        return LOOP_BREAK;
    };
    // SAFETY: a per-CPU value, exclusively ours while this program runs.
    let so_far = unsafe { *written };
    if so_far > (PATH_CAPACITY - COMPONENT_CAPACITY) as u64 {
        state.flags |= path_flags::TRUNCATED;
        return LOOP_BREAK;
    }
    let copied = write_component::<T>((state.base + so_far) as usize, name);
    if copied <= 0 {
        state.flags |= path_flags::TRUNCATED;
        return LOOP_BREAK;
    }
    // SAFETY: as above.
    unsafe { *written = so_far + copied as u64 };
    state.components += 1;
    state.dentry = parent;
    LOOP_CONTINUE
}

/// A finished walk: where its components are, and the configured directories it passed.
pub(crate) struct Walked {
    pub slot: PathSlot,
    pub filter: u32,
}

/// Walks a `struct path` (at `path_addr`) up to the global root, writing its components into
/// `T`'s data area at `base`. Crosses mount points through `struct mount`.
#[inline(always)]
pub(crate) fn walk<T: WalkTarget>(base: usize, path_addr: u64, offsets: &KernelOffsets) -> Walked {
    let mut slot = PathSlot {
        offset: base as u32,
        len: 0,
        flags: 0,
        components: 0,
    };
    let vfsmount = read_ptr(path_addr + offsets.path_mnt as u64);
    let dentry = read_ptr(path_addr + offsets.path_dentry as u64);
    let written = WALK_WRITTEN.get_ptr_mut(0);
    let (Some(written), true) = (written, vfsmount != 0 && dentry != 0) else {
        slot.flags = path_flags::UNREADABLE;
        return Walked { slot, filter: 0 };
    };
    // SAFETY: a per-CPU value, exclusively ours while this program runs.
    unsafe { *written = 0 };
    let check_dirs = T::FILTERS && CONFIG.load().file_filter_mode & filter_mode::DIRECTORIES != 0;
    let mut state = WalkState {
        base: base as u64,
        vfsmount,
        mnt_root: member_ptr(vfsmount, offsets.vfsmount_root as u64),
        dentry,
        components: 0,
        flags: 0,
        filter: 0,
        check_dirs: check_dirs as u32,
        offsets: StepOffsets::of(offsets),
    };
    // One callback per target: each is verified with its target fixed.
    let step = walk_step_into::<T> as *mut c_void;
    // SAFETY: `walk_step` has the callback signature bpf_loop expects and only touches `state`.
    unsafe {
        helper::bpf_loop(
            PATH_DEPTH_LIMIT,
            step,
            (&mut state as *mut WalkState).cast::<c_void>(),
            0,
        );
    }
    // SAFETY: as above.
    slot.len = unsafe { *written } as u32;
    slot.components = state.components;
    slot.flags = if state.flags & path_flags::COMPLETE != 0 {
        path_flags::COMPLETE
    } else {
        path_flags::TRUNCATED
    };
    Walked {
        slot,
        filter: state.filter,
    }
}

/// Copies a NUL-terminated string (kernel or user) into `data[at..]` (a data area of `capacity`
/// bytes), at most FILENAME_CAPACITY bytes.
#[inline(always)]
pub(crate) fn copy_str(
    data: *mut u8,
    capacity: usize,
    at: usize,
    src: u64,
    user: bool,
) -> PathSlot {
    let mut slot = PathSlot {
        offset: at as u32,
        len: 0,
        flags: path_flags::UNREADABLE,
        components: 0,
    };
    if capacity < FILENAME_CAPACITY || at > capacity - FILENAME_CAPACITY {
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
