//! Fuzz target: decode a stored model snapshot (see `horao_fuzz::model::decode_snapshot_entry`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    horao_fuzz::model::decode_snapshot_entry(data);
});
