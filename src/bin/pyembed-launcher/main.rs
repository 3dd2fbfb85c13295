//! `pyembed-launcher`: the executable `pyembed build` appends a payload to.
//!
//! On its own it only says that it has no payload. A built copy finds the
//! containers and build configuration appended to its own file and runs
//! them: a `python3.11`-like command or an application. All the work is in
//! [`pyembed::launcher`]; this file stays thin so the runtime crate, not the
//! binary, owns the behaviour.

fn main() {
    std::process::exit(pyembed::launcher::main());
}
