//! What the `audit_records` fuzz target checks, here so `cargo test` replays the committed
//! corpus through the same code: arbitrary bytes, cut into records, go through the parser, the
//! assembler and the mapping without a panic, and every row made reads back the same from its
//! stored form. The netlink datagram splitter, the status and rule readers and the socket
//! address decoder take the raw bytes too.

use std::time::{Duration, Instant};

use super::{
    assemble::Assembler,
    events::{Interest, Mapped, ReadAt, map, sockaddr},
    netlink, record, rules,
    status::AuditStatus,
};
use crate::event_table::Event;

/// Cuts `input` into records: each is a little-endian type (2 bytes), a little-endian length
/// (2 bytes) and that many bytes of text (fewer at the end of the input).
pub fn records(mut input: &[u8]) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    while input.len() >= 4 {
        let kind = u16::from_le_bytes([input[0], input[1]]);
        let len = usize::from(u16::from_le_bytes([input[2], input[3]]));
        let end = (4 + len).min(input.len());
        out.push((kind, &input[4..end]));
        input = &input[end..];
    }
    out
}

/// The inverse of [`records`], to write seeds.
pub fn encode(records: &[(u16, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (kind, text) in records {
        let text = &text[..text.len().min(usize::from(u16::MAX))];
        out.extend_from_slice(&kind.to_le_bytes());
        out.extend_from_slice(&(text.len() as u16).to_le_bytes());
        out.extend_from_slice(text);
    }
    out
}

/// Runs everything over `input`; panics only when an invariant does not hold.
pub fn check(input: &[u8]) {
    let _ = netlink::split(input);
    let _ = AuditStatus::parse(input);
    let _ = rules::key(input);
    let _ = sockaddr(input);
    let interest = Interest {
        process_events: true,
        socket_events: true,
        accept_events: true,
        failed_socket_events: true,
        unix_socket_events: true,
        user_events: true,
        own_pid: 1,
    };
    let mut assembler = Assembler::new(Duration::from_secs(2), 8);
    let start = Instant::now();
    let mut events = Vec::new();
    for (kind, text) in records(input) {
        if let Ok(record) = record::parse(kind, text) {
            events.extend(assembler.push(record, start));
        }
    }
    events.extend(assembler.expire(start + Duration::from_secs(3)));
    events.extend(assembler.drain());
    for event in events {
        if let Mapped::Event(event) = map(&event, &interest, ReadAt { uptime: 1 }) {
            assert_eq!(
                Event::decode(event.table(), &event.encode()).as_ref(),
                Ok(&event),
                "an audit row does not read back the same from its stored form"
            );
        }
    }
}
