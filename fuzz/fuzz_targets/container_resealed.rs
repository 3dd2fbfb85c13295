//! Fuzz target: see `pyembed::resources::fuzzing::container_resealed`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    pyembed::resources::fuzzing::container_resealed(data);
});
