//! The event tables the store keeps, and the events that fill them. Each kind of event has one
//! module here holding all of it: its model, its stored form and, for the eBPF publisher's kinds,
//! the decoder of its kernel records (`ebpf.rs`). The list in [`for_each_table`] makes them
//! tables.

use crate::{codec::DecodeError, model::Actor};

/// The one list of event tables, one row each: `Table => "sql_name", Variant(EventType)`, and
/// `ebpf(Family)` for a table the eBPF publisher fills from the records of that family. Hands
/// the list to `$callback`, which makes from it [`EventTable`] and [`Event`] (below) and the eBPF
/// publisher's record dispatch ([`ebpf`]).
///
/// A table's place in this list is its slot in the in-flight ledger: append.
macro_rules! for_each_table {
    ($callback:ident) => {
        $callback! {
            BpfProcessEvents => "bpf_process_events",
                Process(crate::event_table::process::ProcessEvent), ebpf(Process);
            BpfSocketEvents => "bpf_socket_events",
                Socket(crate::event_table::socket::SocketEvent), ebpf(Socket);
            BpfFileEvents => "bpf_file_events",
                File(crate::event_table::file::FileEvent), ebpf(File);
            ProcessEvents => "process_events",
                AuditProcess(crate::event_table::audit::AuditProcessEvent);
            SocketEvents => "socket_events",
                AuditSocket(crate::event_table::audit::AuditSocketEvent);
            UserEvents => "user_events",
                User(crate::event_table::audit::UserEvent);
            BpfKernelModuleEvents => "bpf_kernel_module_events",
                KernelModule(crate::event_table::kernel_module::KernelModuleEvent), ebpf(Module);
            BpfPtraceEvents => "bpf_ptrace_events",
                Ptrace(crate::event_table::ptrace::PtraceEvent), ebpf(Ptrace);
            // ETW's and Endpoint Security's tables exist on their platform only (no column
            // family, no `vigil_events` row elsewhere); their rows and stored form are tested
            // everywhere.
            #[cfg(windows)]
            EtwProcessEvents => "process_etw_events", EtwProcess(crate::etw::EtwProcessEvent);
            #[cfg(windows)]
            EtwFileEvents => "etw_file_events", EtwFile(crate::etw::EtwFileEvent);
            #[cfg(windows)]
            EtwSocketEvents => "etw_socket_events", EtwSocket(crate::etw::EtwSocketEvent);
            #[cfg(target_os = "macos")]
            EsProcessEvents => "es_process_events", EsProcess(crate::es::EsProcessEvent);
            #[cfg(target_os = "macos")]
            EsProcessFileEvents => "es_process_file_events", EsFile(crate::es::EsFileEvent);
        }
    };
}

pub mod audit;
#[cfg(target_os = "linux")]
pub mod ebpf;
pub mod file;
pub mod kernel_module;
pub mod process;
pub mod ptrace;
pub mod socket;

/// What the store and the pipeline need of an event type, whatever its table.
pub trait TableEvent {
    /// Wall-clock time of the event in nanoseconds since the Unix epoch.
    fn time_ns(&self) -> u64;
    /// Who made the call, for events that name a caller the process table can tell more about.
    fn actor_mut(&mut self) -> Option<&mut Actor> {
        None
    }
    /// The event's stored form (`crate::codec`).
    fn encode(&self) -> Vec<u8>;
    /// Reads back a stored form [`TableEvent::encode`] wrote.
    fn decode(bytes: &[u8]) -> Result<Self, DecodeError>
    where
        Self: Sized;
}

/// Makes, from [`for_each_table`]'s list, each table's [`EventTable`] value and name and its
/// [`Event`] variant. Which publisher fills a table is the publisher's to say
/// (`EventTable::publisher`, in `crate::platform`).
macro_rules! event_tables {
    ($($(#[$cfg:meta])* $Table:ident => $name:literal, $Variant:ident($Type:ty) $(, ebpf($Family:ident))?;)*) => {
        /// One event table: one column family in the store, one SQL table.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum EventTable {
            $($(#[$cfg])* $Table,)*
        }

        impl EventTable {
            pub const ALL: &'static [EventTable] = &[$($(#[$cfg])* EventTable::$Table,)*];

            pub fn name(self) -> &'static str {
                match self {
                    $($(#[$cfg])* EventTable::$Table => $name,)*
                }
            }
        }

        /// An event on its way to the store.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum Event {
            $($(#[$cfg])* $Variant($Type),)*
        }

        impl Event {
            pub fn table(&self) -> EventTable {
                match self {
                    $($(#[$cfg])* Event::$Variant(_) => EventTable::$Table,)*
                }
            }

            fn typed(&self) -> &dyn TableEvent {
                match self {
                    $($(#[$cfg])* Event::$Variant(event) => event,)*
                }
            }

            fn typed_mut(&mut self) -> &mut dyn TableEvent {
                match self {
                    $($(#[$cfg])* Event::$Variant(event) => event,)*
                }
            }

            /// The event's stored form.
            pub fn encode(&self) -> Vec<u8> {
                match self {
                    $($(#[$cfg])* Event::$Variant(event) => event.encode(),)*
                }
            }

            /// Reads back a row [`Event::encode`] wrote for `table`.
            pub fn decode(table: EventTable, bytes: &[u8]) -> Result<Event, DecodeError> {
                match table {
                    $($(#[$cfg])* EventTable::$Table => <$Type as TableEvent>::decode(bytes).map(Event::$Variant),)*
                }
            }
        }
    };
}

for_each_table!(event_tables);

impl EventTable {
    pub fn names() -> Vec<&'static str> {
        Self::ALL.iter().map(|t| t.name()).collect()
    }
}

impl Event {
    pub fn time_ns(&self) -> u64 {
        self.typed().time_ns()
    }

    /// The caller, for events that name one (see [`TableEvent::actor_mut`]).
    pub fn actor_mut(&mut self) -> Option<&mut Actor> {
        self.typed_mut().actor_mut()
    }
}

/// ETW's and Endpoint Security's events: their stored form is theirs (`crate::etw::stored`,
/// `crate::es::stored`), compiled and tested on every platform.
macro_rules! platform_events {
    ($($Type:ty => $encode:path, $decode:path;)*) => {
        $(
            impl TableEvent for $Type {
                fn time_ns(&self) -> u64 {
                    self.time_ns
                }

                fn encode(&self) -> Vec<u8> {
                    $encode(self)
                }

                fn decode(bytes: &[u8]) -> Result<Self, DecodeError> {
                    $decode(bytes)
                }
            }
        )*
    };
}

platform_events! {
    crate::etw::EtwProcessEvent => crate::etw::stored::encode_process, crate::etw::stored::decode_process;
    crate::etw::EtwFileEvent => crate::etw::stored::encode_file, crate::etw::stored::decode_file;
    crate::etw::EtwSocketEvent => crate::etw::stored::encode_socket, crate::etw::stored::decode_socket;
    crate::es::EsProcessEvent => crate::es::stored::encode_process, crate::es::stored::decode_process;
    crate::es::EsFileEvent => crate::es::stored::encode_file, crate::es::stored::decode_file;
}
