//! Fuzz target: decode arbitrary bytes as every envelope kind (see `horao_crdt::fuzzing::decode_any`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    horao_crdt::fuzzing::decode_any(data);
});
