//! Audit netlink input: whatever bytes arrive (cut into typed records), the parser, the event
//! assembler and the mapping to rows never panic, and a row made reads back the same from its
//! stored form (`vigil_events::linux::audit::fuzzing::check`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use vigil_events::linux::audit::fuzzing;

fuzz_target!(|input: &[u8]| {
    fuzzing::check(input);
});
