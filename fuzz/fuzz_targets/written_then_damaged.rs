//! Fuzz target: see `pyembed::resources::fuzzing::written_then_damaged`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = pyembed::resources::fuzzing::written_then_damaged(data);
});
