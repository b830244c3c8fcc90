//! ferrisetw's view of an event copied into the platform-neutral [`Record`] the mapping reads:
//! the properties each provider's mapping uses, by name, decoded by the kind the manifest gives.

use std::collections::BTreeMap;

use ferrisetw::{EventRecord, SchemaLocator, parser::Parser};

use crate::etw::{Provider, Record, Value};

/// How a property is decoded.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// An integer, pointer or FILETIME of 1, 2, 4 or 8 bytes, little-endian.
    Unsigned,
    Text,
    /// SIDs, IPv6 addresses: the bytes as they are.
    Bytes,
}

const PROCESS: &[(&str, Kind)] = &[
    ("ProcessID", Kind::Unsigned),
    ("ProcessSequenceNumber", Kind::Unsigned),
    ("CreateTime", Kind::Unsigned),
    ("ParentProcessID", Kind::Unsigned),
    ("ParentProcessSequenceNumber", Kind::Unsigned),
    ("SessionID", Kind::Unsigned),
    ("Flags", Kind::Unsigned),
    ("ProcessTokenElevationType", Kind::Unsigned),
    ("ProcessTokenIsElevated", Kind::Unsigned),
    ("MandatoryLabel", Kind::Bytes),
    ("ImageName", Kind::Text),
];

const KERNEL_LOGGER_PROCESS: &[(&str, Kind)] = &[
    ("ProcessId", Kind::Unsigned),
    ("ParentId", Kind::Unsigned),
    ("SessionId", Kind::Unsigned),
    ("ExitStatus", Kind::Unsigned),
    ("Flags", Kind::Unsigned),
    ("UserSID", Kind::Bytes),
    ("ImageFileName", Kind::Text),
    ("CommandLine", Kind::Text),
];

const FILE: &[(&str, Kind)] = &[
    ("FileObject", Kind::Unsigned),
    ("IssuingThreadId", Kind::Unsigned),
    ("CreateOptions", Kind::Unsigned),
    ("CreateAttributes", Kind::Unsigned),
    ("ShareAccess", Kind::Unsigned),
    ("FileName", Kind::Text),
    ("FilePath", Kind::Text),
    ("ByteOffset", Kind::Unsigned),
    ("IOSize", Kind::Unsigned),
];

const NETWORK_V4: &[(&str, Kind)] = &[
    ("PID", Kind::Unsigned),
    ("size", Kind::Unsigned),
    ("daddr", Kind::Unsigned),
    ("saddr", Kind::Unsigned),
    ("dport", Kind::Unsigned),
    ("sport", Kind::Unsigned),
    ("connid", Kind::Unsigned),
];

const NETWORK_V6: &[(&str, Kind)] = &[
    ("PID", Kind::Unsigned),
    ("size", Kind::Unsigned),
    ("daddr", Kind::Bytes),
    ("saddr", Kind::Bytes),
    ("dport", Kind::Unsigned),
    ("sport", Kind::Unsigned),
    ("connid", Kind::Unsigned),
];

/// `EVENT_HEADER_FLAG_64_BIT_HEADER`: the event was logged by a 64-bit process or kernel.
const HEADER_64_BIT: u16 = 0x0020;

/// Kernel-Network's IPv6 events (TCP 26-34, UDP 58-65).
fn is_ipv6(event_id: u16) -> bool {
    (26..=34).contains(&event_id) || (58..=65).contains(&event_id)
}

/// The record of `event` from `provider`; `None` when its schema cannot be found (an event the
/// provider's manifest does not describe).
pub fn record(provider: Provider, event: &EventRecord, schemas: &SchemaLocator) -> Option<Record> {
    let schema = schemas.event_schema(event).ok()?;
    let parser = Parser::create(event, &schema);
    let names = match provider {
        Provider::KernelProcess => PROCESS,
        Provider::KernelLoggerProcess => KERNEL_LOGGER_PROCESS,
        Provider::KernelFile => FILE,
        Provider::KernelNetwork if is_ipv6(event.event_id()) => NETWORK_V6,
        Provider::KernelNetwork => NETWORK_V4,
    };
    let mut properties = BTreeMap::new();
    for &(name, kind) in names {
        let value = match kind {
            Kind::Text => parser.try_parse::<String>(name).ok().map(Value::Text),
            Kind::Bytes => parser.try_parse::<Vec<u8>>(name).ok().map(Value::Bytes),
            Kind::Unsigned => parser
                .try_parse::<Vec<u8>>(name)
                .ok()
                .and_then(|bytes| little_endian(&bytes))
                .map(Value::Unsigned),
        };
        if let Some(value) = value {
            properties.insert(name.to_owned(), value);
        }
    }
    Some(Record {
        provider,
        event_id: event.event_id(),
        opcode: event.opcode(),
        version: event.version(),
        pointer_bytes: if event.event_flags() & HEADER_64_BIT != 0 {
            8
        } else {
            4
        },
        timestamp: u64::try_from(event.raw_timestamp()).unwrap_or(0),
        process_id: event.process_id(),
        thread_id: event.thread_id(),
        properties,
    })
}

fn little_endian(bytes: &[u8]) -> Option<u64> {
    match bytes.len() {
        1 | 2 | 4 | 8 => {
            let mut wide = [0u8; 8];
            wide[..bytes.len()].copy_from_slice(bytes);
            Some(u64::from_le_bytes(wide))
        }
        _ => None,
    }
}
