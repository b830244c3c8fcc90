//! This platform's publishers: the one list the collector starts and `vigil_events` names.

use crate::{
    event_table::EventTable,
    publisher::{Publisher, Source},
};

/// What the agent's build compiled for the kernel and embeds in its binary.
#[derive(Debug, Clone, Copy)]
pub struct KernelObjects {
    /// vigil's eBPF programs (agent-ebpf), an ELF object.
    #[cfg(target_os = "linux")]
    pub ebpf: &'static [u8],
}

#[cfg(target_os = "linux")]
const SOURCES: &[&Source] = &[&crate::linux::ebpf::SOURCE, &crate::linux::audit::SOURCE];
#[cfg(windows)]
const SOURCES: &[&Source] = &[&crate::windows::etw::SOURCE];
#[cfg(target_os = "macos")]
const SOURCES: &[&Source] = &[&crate::macos::es::SOURCE];
#[cfg(not(any(target_os = "linux", windows, target_os = "macos")))]
const SOURCES: &[&Source] = &[];

/// This platform's publishers, in the order they start.
pub fn publishers(objects: KernelObjects) -> Vec<Box<dyn Publisher>> {
    #[cfg(target_os = "linux")]
    let publishers: Vec<Box<dyn Publisher>> = vec![
        Box::new(crate::linux::ebpf::EbpfPublisher::new(objects.ebpf)),
        Box::new(crate::linux::audit::AuditPublisher),
    ];
    #[cfg(windows)]
    let publishers: Vec<Box<dyn Publisher>> = {
        let _ = objects;
        vec![Box::new(crate::windows::etw::EtwPublisher)]
    };
    #[cfg(target_os = "macos")]
    let publishers: Vec<Box<dyn Publisher>> = {
        let _ = objects;
        vec![Box::new(crate::macos::es::EsPublisher)]
    };
    #[cfg(not(any(target_os = "linux", windows, target_os = "macos")))]
    let publishers: Vec<Box<dyn Publisher>> = {
        let _ = objects;
        Vec::new()
    };
    publishers
}

/// What each of this platform's publishers is, without starting any.
pub fn sources() -> &'static [&'static Source] {
    SOURCES
}

/// The publisher of this platform that fills `table`.
pub fn source_of(table: EventTable) -> Option<&'static Source> {
    SOURCES
        .iter()
        .copied()
        .find(|source| source.tables.contains(&table))
}

impl EventTable {
    /// The publisher that fills the table, as `vigil_events` names it; empty when no publisher
    /// of this platform does.
    pub fn publisher(self) -> &'static str {
        source_of(self).map_or("", |source| source.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_publishers_are_the_sources_and_each_table_has_at_most_one() {
        #[cfg(target_os = "linux")]
        let objects = KernelObjects { ebpf: &[] };
        #[cfg(not(target_os = "linux"))]
        let objects = KernelObjects {};
        let names: Vec<&str> = publishers(objects)
            .iter()
            .map(|p| p.source().name)
            .collect();
        let source_names: Vec<&str> = sources().iter().map(|s| s.name).collect();
        assert_eq!(names, source_names);
        for table in EventTable::ALL {
            let fillers = sources()
                .iter()
                .filter(|s| s.tables.contains(table))
                .count();
            assert!(
                fillers <= 1,
                "{} is filled by {fillers} publishers",
                table.name()
            );
        }
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn on_linux_the_bpf_tables_are_the_ebpf_publishers_and_the_others_audits() {
        for table in EventTable::ALL {
            let expected = if table.name().starts_with("bpf_") {
                "bpf"
            } else {
                "audit"
            };
            assert_eq!(table.publisher(), expected, "{}", table.name());
        }
    }
}
