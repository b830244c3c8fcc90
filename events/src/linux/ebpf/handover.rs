//! Handing the kernel side over from one worker to the next. With a [`HandOver`], the ring
//! buffer, the counters, the pending-syscall maps and one link per tracepoint are pinned in bpffs
//! (see `pins`): when a worker dies its programs keep recording, and the next worker's set takes
//! over in one map write to the pinned ACTIVE map: each set records only while ACTIVE holds its
//! generation, so no event is recorded by both sets, or by neither.

use std::path::{Path, PathBuf};

use aya::{Ebpf, EbpfLoader};
use vigil_ebpf_common::names;

use super::{
    config::EbpfError,
    pins::{self, Pins},
};
use crate::{fnv::fnv1a, publisher::HandOver};

/// Where every vigil daemon pins its kernel programs, one directory per database.
fn pins_root() -> PathBuf {
    Path::new(pins::BPFFS).join("vigil")
}

/// Where the workers of `hand_over`'s database pin their kernel programs.
fn pin_dir(hand_over: &HandOver) -> PathBuf {
    pin_directory(hand_over.database())
}

/// Where the workers of a daemon on `database` pin their kernel programs. A daemon that runs as
/// its own user needs this directory to be that user's (bpffs's `vigil` directory is root's).
pub fn pin_directory(database: &Path) -> PathBuf {
    use std::os::unix::ffi::OsStrExt as _;
    let id = fnv1a(&[database.as_os_str().as_bytes()]);
    pins_root().join(format!("{id:016x}"))
}

/// This program set's place in the succession of workers: the pins it shares with the set
/// before and after it, and its generation.
pub(super) struct Succession {
    /// `None`: the kernel side goes with this process.
    pub pins: Option<Pins>,
    /// One more than the set it takes over (which records until this one switches on), or 1.
    pub generation: u32,
}

impl Succession {
    /// Finds what a previous worker left (sweeping what was left for databases that are gone),
    /// or prepares to leave it. `layout` names the shape of the shared maps: a set of another
    /// shape (another object, another ring size) is not taken over.
    pub fn prepare(hand_over: Option<&HandOver>, layout: &[&[u8]]) -> Self {
        let pins = hand_over.and_then(|hand_over| {
            pins::sweep_abandoned(&pins_root());
            // Kernels before 5.15 attach tracepoints without BPF links, which cannot be pinned.
            if !aya::features().bpf_perf_link() {
                tracing::warn!(
                    "this kernel attaches tracepoint programs without BPF links \
                    (before Linux 5.15): they cannot be pinned, so events during a worker \
                    restart will be missed"
                );
                return None;
            }
            Pins::prepare(&pin_dir(hand_over), fnv1a(layout))
                .inspect_err(|error| {
                    tracing::warn!(%error, "events during a worker restart will be missed");
                })
                .ok()
        });
        let generation = pins
            .as_ref()
            .filter(|p| p.reused)
            .and_then(|p| active_generation(&p.map_path(names::ACTIVE_MAP)))
            .map_or(1, |active| active.wrapping_add(1).max(1));
        Self { pins, generation }
    }

    /// Whether a previous worker's ring buffer and counters are taken over.
    pub fn takes_over(&self) -> bool {
        self.pins.as_ref().is_some_and(|p| p.reused)
    }

    /// Loads the shared maps from their pins (taken over when a previous worker left them,
    /// created and pinned otherwise).
    pub fn pin_maps(&self, loader: &mut EbpfLoader<'_>) {
        let Some(pins) = &self.pins else {
            return;
        };
        for name in [names::EVENTS_MAP, names::COUNTERS_MAP, names::ACTIVE_MAP]
            .iter()
            .chain(names::PENDING_MAPS)
        {
            loader.map_pin_path(name, pins.map_path(name));
        }
    }

    /// Everything is attached and configured: this set records from now on, and the set it
    /// took over stops, in the same instant; then the old set's programs are detached.
    pub fn switch_on(&mut self, ebpf: &mut Ebpf) -> Result<(), EbpfError> {
        let map = ebpf
            .map_mut(names::ACTIVE_MAP)
            .ok_or(EbpfError::MissingMap(names::ACTIVE_MAP))?;
        let mut active: aya::maps::Array<_, u32> = aya::maps::Array::try_from(map)?;
        active.set(0, self.generation, 0)?;
        if let Some(pins) = &mut self.pins {
            if pins.reused {
                tracing::info!("took over the previous worker's kernel ring buffer and counters");
            }
            pins.detach_predecessors();
        }
        Ok(())
    }
}

/// Notes which database the pins serve, so they are swept once it is gone.
pub(super) fn mark(hand_over: &HandOver) {
    pins::mark_database(&pin_dir(hand_over), hand_over.database());
}

/// The generation recording in a pinned program set's switch map, if it can be read.
fn active_generation(path: &Path) -> Option<u32> {
    let map = aya::maps::MapData::from_pin(path).ok()?;
    let active: aya::maps::Array<_, u32> =
        aya::maps::Array::try_from(aya::maps::Map::Array(map)).ok()?;
    active.get(&0, 0).ok()
}
