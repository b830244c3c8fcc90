//! The session's own counts of what it lost: `EventsLost` (events its buffers had no room for)
//! and `RealTimeBuffersLost` (buffers vigil did not read in time), from
//! `ControlTraceW(EVENT_TRACE_CONTROL_QUERY)`. Nobody sees these unless they ask: ETW drops
//! silently.

use ::windows::{
    Win32::System::Diagnostics::Etw::{
        CONTROLTRACE_HANDLE, ControlTraceW, EVENT_TRACE_CONTROL_QUERY, EVENT_TRACE_PROPERTIES,
    },
    core::HSTRING,
};

/// What a session lost since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Losses {
    pub events: u64,
    pub buffers: u64,
}

/// Room after the properties for the session's name and log file name, as the API wants.
const NAMES_BYTES: usize = 2 * 1024 * 2;

/// The losses of the session named `name`; `None` when it cannot be queried (it stopped).
pub fn query(name: &str) -> Option<Losses> {
    let header = std::mem::size_of::<EVENT_TRACE_PROPERTIES>();
    let total = header + NAMES_BYTES;
    // u64s keep the buffer aligned for EVENT_TRACE_PROPERTIES.
    let mut buffer = vec![0u64; total.div_ceil(8)];
    let properties = buffer.as_mut_ptr().cast::<EVENT_TRACE_PROPERTIES>();
    // SAFETY: `buffer` is zeroed, aligned and large enough for the properties and the names the
    // query writes after them, at the offsets set here.
    unsafe {
        (*properties).Wnode.BufferSize = u32::try_from(total).ok()?;
        (*properties).LoggerNameOffset = u32::try_from(header).ok()?;
        (*properties).LogFileNameOffset = u32::try_from(header + NAMES_BYTES / 2).ok()?;
    }
    // SAFETY: `properties` points into `buffer`, which outlives the call.
    let status = unsafe {
        ControlTraceW(
            CONTROLTRACE_HANDLE::default(),
            &HSTRING::from(name),
            properties,
            EVENT_TRACE_CONTROL_QUERY,
        )
    };
    if status.is_err() {
        return None;
    }
    // SAFETY: the query filled the properties in `buffer`.
    let (events, buffers) =
        unsafe { ((*properties).EventsLost, (*properties).RealTimeBuffersLost) };
    Some(Losses {
        events: events.into(),
        buffers: buffers.into(),
    })
}
