//! Fuzz target: see `pyembed::resources::fuzzing::executable_bytes`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    pyembed::resources::fuzzing::executable_bytes(data);
});
