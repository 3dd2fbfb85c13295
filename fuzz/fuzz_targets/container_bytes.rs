//! Fuzz target: see `pyembed::resources::fuzzing::container_bytes`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    pyembed::resources::fuzzing::container_bytes(data);
});
