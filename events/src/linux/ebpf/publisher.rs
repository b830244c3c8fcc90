//! The eBPF publisher: loads vigil's tracepoint programs feature by feature, takes the kernel
//! side over from the previous worker (or leaves it for the next), and reads the ring buffer on
//! a thread of its own.

use std::{
    path::Path,
    sync::{
        Arc, Mutex, PoisonError,
        atomic::{AtomicBool, Ordering},
    },
    thread::JoinHandle,
};

use aya::{Ebpf, EbpfLoader};
use vigil_ebpf_common::{ProbeConfig, names};

use super::{
    attach::{self, ProgramReport},
    config::{self, EbpfError},
    dir_filter::KernelDirFilter,
    handover::{self, Succession},
    host::{self, KernelTypes},
    layout::{self, Layout},
    pins::{Attachment, Pins, detach_all},
    probes::FEATURES,
    reader::{Reader, table_counters},
    source::SOURCE,
};
use crate::{
    counters::{Availability, Counters},
    publisher::{HandOver, Outlet, Publisher, PublisherError, Running, Settings, Source, Stopping},
};

/// vigil's eBPF programs (the ELF object the agent embeds), ready to start.
pub struct EbpfPublisher {
    object: &'static [u8],
}

impl EbpfPublisher {
    pub fn new(object: &'static [u8]) -> Self {
        Self { object }
    }
}

impl Publisher for EbpfPublisher {
    fn source(&self) -> &'static Source {
        &SOURCE
    }

    fn start(
        &self,
        settings: &Settings,
        outlet: Outlet,
        hand_over: Option<&HandOver>,
    ) -> Result<Box<dyn Running>, PublisherError> {
        Ok(Box::new(EbpfProbes::start(
            self.object,
            settings,
            outlet,
            hand_over,
        )?))
    }
}

/// The programs in the kernel, and the thread reading what they record.
pub struct EbpfProbes {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    pins: Option<Pins>,
    links: Vec<Attachment>,
    programs: Vec<ProgramReport>,
}

impl EbpfProbes {
    /// Starts, step by step (stopping, in [`Running`] below, undoes them in reverse): checks the
    /// settings and the host; reads the kernel's types and tracepoint layouts; finds the kernel
    /// side to take over; loads the object; attaches every feature this kernel allows; fills the
    /// directory filter; switches recording over to this set; starts reading. Errors come back
    /// here, before anything runs.
    pub fn start(
        object: &[u8],
        settings: &Settings,
        outlet: Outlet,
        hand_over: Option<&HandOver>,
    ) -> Result<Self, EbpfError> {
        config::validate(settings)?;
        host::check()?;
        let mut kernel = KernelTypes::read(&settings.disabled_tables);
        let layout = layout::plan(Path::new(host::TRACEFS), kernel.btf.as_ref(), FEATURES);
        kernel.forget_btf();
        let dirs = KernelDirFilter::of(&settings.file_filter);
        let mut succession =
            Succession::prepare(hand_over, &[object, &settings.ringbuf_bytes.to_le_bytes()]);
        let mut ebpf = match load(object, settings, &kernel, &layout, &dirs, &succession) {
            Ok(ebpf) => ebpf,
            Err(reason) => return Ok(Self::unavailable(settings, &outlet.counters, &reason)),
        };
        let attached = attach::attach_features(
            &mut ebpf,
            &layout,
            &settings.disabled_tables,
            succession.pins.as_mut(),
            &kernel.notes,
        );
        for (table, availability) in attached.tables {
            table_counters(&outlet.counters, table).set_availability(availability);
        }
        dirs.fill(&mut ebpf)?;
        succession.switch_on(&mut ebpf)?;
        let stop = Arc::new(AtomicBool::new(false));
        let (reader, ring) = Reader::new(
            &mut ebpf,
            settings,
            outlet,
            succession.takes_over(),
            stop.clone(),
        )?;
        let thread = reader.spawn(ring, ebpf)?;
        if let Some(hand_over) = hand_over {
            handover::mark(hand_over);
        }
        Ok(Self {
            stop,
            thread: Some(thread),
            pins: succession.pins,
            links: attached.links,
            programs: attached.programs,
        })
    }

    /// No map could be made (ring buffers need Linux 5.8): no table gets events, and each says
    /// why; the rest of vigil runs on.
    fn unavailable(settings: &Settings, counters: &Counters, reason: &str) -> Self {
        for &table in SOURCE.tables {
            if !settings.disabled_tables.contains(&table) {
                table_counters(counters, table).set_availability(Availability {
                    available: false,
                    reason: reason.to_owned(),
                });
            }
        }
        Self {
            stop: Arc::new(AtomicBool::new(false)),
            thread: None,
            pins: None,
            links: Vec::new(),
            programs: Vec::new(),
        }
    }

    /// What each program did on this kernel: verified, attached where, or why not.
    pub fn programs(&self) -> &[ProgramReport] {
        &self.programs
    }

    fn stop_reading(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Loads the object with this kernel's offsets and layouts, these settings, and the shared maps
/// of the succession; or says why the kernel cannot load it.
fn load(
    object: &[u8],
    settings: &Settings,
    kernel: &KernelTypes,
    layout: &Layout,
    dirs: &KernelDirFilter,
    succession: &Succession,
) -> Result<Ebpf, String> {
    let probe_config = ProbeConfig {
        agent_tgid: std::process::id(),
        argv_limit: settings.argv_limit,
        file_filter_mode: dirs.mode,
        generation: succession.generation,
    };
    let mut loader = PREPARED_LOADER
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take()
        .unwrap_or_else(|| new_loader(needs_kernel_btf(object)));
    loader
        .override_global(names::CONFIG_GLOBAL, &probe_config, true)
        .override_global(names::OFFSETS_GLOBAL, &kernel.offsets, true)
        .override_global(names::SOCKET_OFFSETS_GLOBAL, &kernel.socket_offsets, true)
        .override_global(names::TRACEPOINT_FIELDS_GLOBAL, &layout.fields, true)
        .map_max_entries(names::EVENTS_MAP, settings.ringbuf_bytes);
    succession.pin_maps(&mut loader);
    loader.load(object).map_err(|error| {
        tracing::error!(%error, "no kernel events on this kernel: loading the eBPF object failed");
        format!("the kernel cannot load vigil's eBPF object: {error}")
    })
}

/// A loader made by [`prepare_loader`], taken by the first load.
static PREPARED_LOADER: Mutex<Option<EbpfLoader<'static>>> = Mutex::new(None);

/// Makes the loader the first load will take, now. aya's `EbpfLoader::new` parses the kernel's
/// BTF whether or not it is needed (aya 0.14; 0.15 parses it only for a load that needs it, but
/// needs rustc 1.98): about 20 MB of heap for 60 ms on 6.18. A worker calls this first thing,
/// while it holds little else, so that moment does not set its peak RSS on top of the store
/// and the rest; the loader it keeps holds no BTF. An object that needs the kernel's BTF gets
/// no early loader: it would hold the BTF until the load.
pub fn prepare_loader(object: &[u8]) {
    if needs_kernel_btf(object) {
        return;
    }
    let loader = new_loader(false);
    *PREPARED_LOADER
        .lock()
        .unwrap_or_else(PoisonError::into_inner) = Some(loader);
}

/// A loader holding the kernel's BTF only if the object needs it (`needs_kernel_btf`, asked
/// once by the caller: it parses the whole object).
fn new_loader(needs_btf: bool) -> EbpfLoader<'static> {
    let mut loader = EbpfLoader::new();
    if !needs_btf {
        loader.btf(None);
    }
    loader
}

/// Whether loading `object` needs the kernel's BTF: only for CO-RE relocations, which vigil's
/// programs do not have (the member offsets they need come from [`super::btf`] and are
/// patched into globals). An object that does not parse is said to need it; the load then says
/// what is wrong with it.
pub fn needs_kernel_btf(object: &[u8]) -> bool {
    aya_obj::Object::parse(object).map_or(true, |parsed| parsed.has_btf_relocations())
}

impl Running for EbpfProbes {
    fn hands_over(&self) -> bool {
        self.pins.is_some()
    }

    /// Pinned probes keep recording for the next worker; those that could not be pinned are
    /// detached.
    fn hand_over(mut self: Box<Self>) {
        self.stop_reading();
        detach_all(std::mem::take(&mut self.links));
    }

    fn stop(mut self: Box<Self>) -> Stopping {
        self.stop_reading();
        if let Some(pins) = self.pins.take() {
            pins.release();
        }
        let links = std::mem::take(&mut self.links);
        Stopping::in_background(
            std::thread::Builder::new()
                .name("vigil-detach".into())
                .spawn(move || detach_all(links))
                .ok(),
        )
    }
}

impl Drop for EbpfProbes {
    fn drop(&mut self) {
        self.stop_reading();
        detach_all(std::mem::take(&mut self.links));
    }
}

#[cfg(test)]
mod tests {
    use super::needs_kernel_btf;

    #[test]
    fn an_object_that_does_not_parse_is_given_the_kernels_btf() {
        // The loader then fails on it and says why, as it did before.
        assert!(needs_kernel_btf(b"not an ELF object"));
    }
}
