//! Fuzz target: see `pyembed::resources::fuzzing::packed_blob`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    pyembed::resources::fuzzing::packed_blob(data);
});
