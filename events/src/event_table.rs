//! The event tables the store keeps, and the events that fill them: declared once, below.

use crate::{
    codec,
    model::{
        Actor, AuditProcessEvent, AuditSocketEvent, FileEvent, KernelModuleEvent, ProcessEvent,
        SocketEvent, UserEvent,
    },
};

/// What the store and the pipeline need of an event type, whatever its table.
pub trait TableEvent {
    /// Wall-clock time of the event in nanoseconds since the Unix epoch.
    fn time_ns(&self) -> u64;
    /// Who made the call, for events that name a caller the process table can tell more about.
    fn actor_mut(&mut self) -> Option<&mut Actor> {
        None
    }
}

impl TableEvent for ProcessEvent {
    fn time_ns(&self) -> u64 {
        self.time_ns
    }
}

impl TableEvent for SocketEvent {
    fn time_ns(&self) -> u64 {
        self.time_ns
    }

    fn actor_mut(&mut self) -> Option<&mut Actor> {
        Some(&mut self.actor)
    }
}

impl TableEvent for FileEvent {
    fn time_ns(&self) -> u64 {
        self.time_ns
    }

    fn actor_mut(&mut self) -> Option<&mut Actor> {
        Some(&mut self.actor)
    }
}

impl TableEvent for KernelModuleEvent {
    fn time_ns(&self) -> u64 {
        self.time_ns
    }

    fn actor_mut(&mut self) -> Option<&mut Actor> {
        Some(&mut self.actor)
    }
}

impl TableEvent for AuditProcessEvent {
    fn time_ns(&self) -> u64 {
        self.time_ns
    }
}

impl TableEvent for AuditSocketEvent {
    fn time_ns(&self) -> u64 {
        self.time_ns
    }
}

impl TableEvent for UserEvent {
    fn time_ns(&self) -> u64 {
        self.time_ns
    }
}

/// Declares every event table: `Table => "sql_name", Variant(EventType), encode, decode;`
/// makes the table's [`EventTable`] value and name, its [`Event`] variant, and how its rows are
/// stored. Which publisher fills a table is the publisher's to say (`EventTable::publisher`, in
/// `crate::platform`).
macro_rules! event_tables {
    ($($(#[$cfg:meta])* $Table:ident => $name:literal, $Variant:ident($Type:ty), $encode:path, $decode:path;)*) => {
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

            pub fn encode(&self) -> Vec<u8> {
                match self {
                    $($(#[$cfg])* Event::$Variant(event) => $encode(event),)*
                }
            }

            /// Reads back a row [`Event::encode`] wrote for `table`.
            pub fn decode(table: EventTable, bytes: &[u8]) -> Result<Event, codec::DecodeError> {
                match table {
                    $($(#[$cfg])* EventTable::$Table => $decode(bytes).map(Event::$Variant),)*
                }
            }
        }
    };
}

event_tables! {
    BpfProcessEvents => "bpf_process_events", Process(ProcessEvent),
        codec::encode_process_event, codec::decode_process_event;
    BpfSocketEvents => "bpf_socket_events", Socket(SocketEvent),
        codec::encode_socket_event, codec::decode_socket_event;
    BpfFileEvents => "bpf_file_events", File(FileEvent),
        codec::encode_file_event, codec::decode_file_event;
    ProcessEvents => "process_events", AuditProcess(AuditProcessEvent),
        codec::encode_audit_process_event, codec::decode_audit_process_event;
    SocketEvents => "socket_events", AuditSocket(AuditSocketEvent),
        codec::encode_audit_socket_event, codec::decode_audit_socket_event;
    UserEvents => "user_events", User(UserEvent),
        codec::encode_user_event, codec::decode_user_event;
    BpfKernelModuleEvents => "bpf_kernel_module_events", KernelModule(KernelModuleEvent),
        codec::encode_kernel_module_event, codec::decode_kernel_module_event;
    // ETW's and Endpoint Security's tables exist on their platform only (no column family, no
    // `vigil_events` row elsewhere); their rows and stored form are tested everywhere.
    #[cfg(windows)]
    EtwProcessEvents => "process_etw_events", EtwProcess(crate::etw::EtwProcessEvent),
        crate::etw::stored::encode_process, crate::etw::stored::decode_process;
    #[cfg(windows)]
    EtwFileEvents => "etw_file_events", EtwFile(crate::etw::EtwFileEvent),
        crate::etw::stored::encode_file, crate::etw::stored::decode_file;
    #[cfg(windows)]
    EtwSocketEvents => "etw_socket_events", EtwSocket(crate::etw::EtwSocketEvent),
        crate::etw::stored::encode_socket, crate::etw::stored::decode_socket;
    #[cfg(target_os = "macos")]
    EsProcessEvents => "es_process_events", EsProcess(crate::es::EsProcessEvent),
        crate::es::stored::encode_process, crate::es::stored::decode_process;
    #[cfg(target_os = "macos")]
    EsProcessFileEvents => "es_process_file_events", EsFile(crate::es::EsFileEvent),
        crate::es::stored::encode_file, crate::es::stored::decode_file;
}

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

macro_rules! timed_events {
    ($($Type:ty),*) => {
        $(
            impl TableEvent for $Type {
                fn time_ns(&self) -> u64 {
                    self.time_ns
                }
            }
        )*
    };
}

timed_events!(
    crate::etw::EtwProcessEvent,
    crate::etw::EtwFileEvent,
    crate::etw::EtwSocketEvent,
    crate::es::EsProcessEvent,
    crate::es::EsFileEvent
);
