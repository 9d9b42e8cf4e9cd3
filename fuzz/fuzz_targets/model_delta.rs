//! Fuzz target: decode a model delta and apply it to a model holding every layer (see
//! `horao_fuzz::model::apply_delta_entry`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    horao_fuzz::model::apply_delta_entry(data);
});
