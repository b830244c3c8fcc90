//! The event tables the store keeps, and the events that fill them.

use crate::{
    codec,
    model::{FileEvent, ProcessEvent, SocketEvent},
};

/// One event table: one column family in the store, one SQL table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventTable {
    BpfProcessEvents,
    BpfSocketEvents,
    BpfFileEvents,
}

impl EventTable {
    pub const ALL: &'static [EventTable] = &[
        EventTable::BpfProcessEvents,
        EventTable::BpfSocketEvents,
        EventTable::BpfFileEvents,
    ];

    pub fn name(self) -> &'static str {
        match self {
            EventTable::BpfProcessEvents => "bpf_process_events",
            EventTable::BpfSocketEvents => "bpf_socket_events",
            EventTable::BpfFileEvents => "bpf_file_events",
        }
    }

    /// The publisher that fills the table, as `vigil_events` names it.
    pub fn publisher(self) -> &'static str {
        match self {
            EventTable::BpfProcessEvents
            | EventTable::BpfSocketEvents
            | EventTable::BpfFileEvents => "bpf",
        }
    }

    pub fn names() -> Vec<&'static str> {
        Self::ALL.iter().map(|t| t.name()).collect()
    }
}

/// An event on its way to the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    Process(ProcessEvent),
    Socket(SocketEvent),
    File(FileEvent),
}

impl Event {
    pub fn table(&self) -> EventTable {
        match self {
            Event::Process(_) => EventTable::BpfProcessEvents,
            Event::Socket(_) => EventTable::BpfSocketEvents,
            Event::File(_) => EventTable::BpfFileEvents,
        }
    }

    pub fn time_ns(&self) -> u64 {
        match self {
            Event::Process(e) => e.time_ns,
            Event::Socket(e) => e.time_ns,
            Event::File(e) => e.time_ns,
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        match self {
            Event::Process(e) => codec::encode_process_event(e),
            Event::Socket(e) => codec::encode_socket_event(e),
            Event::File(e) => codec::encode_file_event(e),
        }
    }

    /// Reads back a row [`Event::encode`] wrote for `table`.
    pub fn decode(table: EventTable, bytes: &[u8]) -> Result<Event, codec::DecodeError> {
        match table {
            EventTable::BpfProcessEvents => codec::decode_process_event(bytes).map(Event::Process),
            EventTable::BpfSocketEvents => codec::decode_socket_event(bytes).map(Event::Socket),
            EventTable::BpfFileEvents => codec::decode_file_event(bytes).map(Event::File),
        }
    }
}
