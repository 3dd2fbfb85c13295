//! A `python3.11`-like command whose standard library comes from packed
//! resources.
//!
//! It parses its command line as `python` does (`-m`, `-c`, a script, `-X`,
//! ...) and runs it with `Py_RunMain`. The containers are named by the
//! environment variable `PYEMBED_PACKED_RESOURCES` (several joined with
//! `:`, earlier ones win); without it, the command is a plain embedded
//! CPython. Packed modules are imported first; the filesystem importer stays
//! on for everything the containers lack (CPython's own regression tests,
//! say) unless `PYEMBED_FILESYSTEM_IMPORTER=0`.
//!
//! Child processes started with `sys.executable` inherit the variables, so
//! they run from the same containers.
//!
//! ```sh
//! pyembed pack --stdlib /usr/lib/python3.11 -o stdlib.pyembed
//! PYEMBED_PACKED_RESOURCES=$PWD/stdlib.pyembed \
//!     cargo run --example packed-python -- -m test test_json
//! ```
//!
//! `benches/regrtest_packed.sh` runs a selection of CPython's tests this way
//! and next to `/usr/bin/python3.11`.

use pyembed::{MainPythonInterpreter, OxidizedPythonInterpreterConfig, PackedResourcesSource};

fn main() {
    let mut config = OxidizedPythonInterpreterConfig::default();
    config.interpreter_config.parse_argv = Some(true);
    config.argv = Some(std::env::args_os().collect());
    let containers: Vec<_> = std::env::var_os("PYEMBED_PACKED_RESOURCES")
        .map(|paths| {
            std::env::split_paths(&paths)
                .filter(|path| !path.as_os_str().is_empty())
                .map(PackedResourcesSource::MemoryMappedPath)
                .collect()
        })
        .unwrap_or_default();
    // No (or an empty) variable: a plain embedded CPython, no packed importer.
    config.oxidized_importer = !containers.is_empty();
    config.packed_resources = containers;
    config.filesystem_importer =
        std::env::var_os("PYEMBED_FILESYSTEM_IMPORTER").is_none_or(|value| value != "0");
    let interpreter = match MainPythonInterpreter::new(config) {
        Ok(interpreter) => interpreter,
        Err(error) => {
            eprintln!("packed-python: {error}");
            std::process::exit(1);
        }
    };
    std::process::exit(interpreter.py_runmain());
}
