//! Fuzz target: decode a sync message and apply it to a node holding state (see
//! `horao_crdt::fuzzing::apply_message`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    horao_crdt::fuzzing::apply_message(data);
});
