//! Embed a statically linked CPython in a Rust program.
//!
//! `pyembed` runs CPython 3.11 inside your executable: no `libpython.so`, no
//! Python installation needed at run time when the standard library is
//! served from packed resources. You describe the interpreter with an
//! [`OxidizedPythonInterpreterConfig`], create the process's single
//! [`MainPythonInterpreter`], and run code through [pyo3].
//!
//! # A first interpreter
//!
//! ```
//! use pyembed::{MainPythonInterpreter, OxidizedPythonInterpreterConfig};
//! use pyo3::prelude::*;
//!
//! let mut config = OxidizedPythonInterpreterConfig::default();
//! // Do not read Python options from this program's own command line.
//! config.interpreter_config.parse_argv = Some(false);
//! config.argv = Some(vec!["demo".into(), "--verbose".into()]);
//! config.sys_frozen = true;
//!
//! let interpreter = MainPythonInterpreter::new(config)?;
//! let answer: i64 = interpreter.with_gil(|py| -> PyResult<i64> {
//!     let sys = py.import("sys")?;
//!     assert!(sys.getattr("frozen")?.extract::<bool>()?);
//!     let argv: Vec<String> = sys.getattr("argv")?.extract()?;
//!     assert_eq!(argv, ["demo", "--verbose"]);
//!     py.eval(c"sum(range(10)) - 3", None, None)?.extract()
//! })?;
//! assert_eq!(answer, 42);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Dropping the interpreter finalizes CPython. A process gets one interpreter:
//! a second [`MainPythonInterpreter::new`] fails with
//! [`NewInterpreterError::AlreadyRunning`] while one is alive and with
//! [`NewInterpreterError::AlreadyFinalized`] after it is gone.
//!
//! # Running a program like `python` does
//!
//! [`MainPythonInterpreter::run`] hands control to Python's own `Py_RunMain()`
//! (the `-c`, `-m`, script or REPL the configuration names) and returns the
//! process exit code; it also dispatches `multiprocessing` workers started
//! from a frozen executable. A minimal `python` clone:
//!
//! ```no_run
//! use pyembed::{MainPythonInterpreter, OxidizedPythonInterpreterConfig};
//!
//! fn main() {
//!     let mut config = OxidizedPythonInterpreterConfig::default();
//!     config.interpreter_config.parse_argv = Some(true);
//!     let code = match MainPythonInterpreter::new(config) {
//!         Ok(interpreter) => interpreter.run(),
//!         Err(error) => {
//!             eprintln!("{error}");
//!             1
//!         }
//!     };
//!     std::process::exit(code);
//! }
//! ```
//!
//! # Configuration
//!
//! [`PythonInterpreterConfig`] mirrors CPython's `PyPreConfig`/`PyConfig`: a
//! [`PythonInterpreterProfile`] picks the base (`Python` behaves like the
//! `python` command, `Isolated` ignores the environment), and every other
//! field is an `Option` that overrides it. [`OxidizedPythonInterpreterConfig`]
//! wraps it with this crate's features: `sys.frozen`, `sys._MEIPASS`,
//! `sys.argvb`, `multiprocessing` dispatch, `TERMINFO_DIRS` and `TCL_LIBRARY`
//! set-up, a loaded-modules report, Rust extension modules
//! ([`ExtensionModule`]), and the packed-resources importer settings.
//! [`OxidizedPythonInterpreterConfig::resolve`] fills in the executable path
//! and expands `$ORIGIN`. With the `serialization` feature both types
//! implement serde's traits, so a configuration can live in a TOML file.
//!
//! # Linking
//!
//! pyo3 must link a *static* libpython (`shared=false` in a
//! `PYO3_CONFIG_FILE`); this crate's build script refuses a shared one with a
//! message saying how to fix it. In this repository `.cargo/config.toml`
//! selects Debian's `libpython3.11-pic.a`. A downstream binary should also
//! export CPython's symbols so extension modules loaded from disk resolve
//! `Py*` functions against it (only those: exporting every symbol, as
//! `-Wl,--export-dynamic` does, adds a symbol lookup at each start for each
//! Rust function the program reaches through its GOT), and route CPython's `PyThread_exit_thread` to
//! this crate's replacement so that daemon threads still running when the
//! interpreter is finalised are parked rather than unwound through Rust
//! frames (which aborts the process; CPython 3.14 parks them itself). Put
//! this in its `build.rs`:
//!
//! ```text
//! println!("cargo::rustc-link-arg-bins=-Wl,--export-dynamic-symbol=Py*");
//! println!("cargo::rustc-link-arg-bins=-Wl,--export-dynamic-symbol=_Py*");
//! println!("cargo::rustc-link-arg-bins=-Wl,--wrap=PyThread_exit_thread");
//! ```
//!
//! # Importing from packed resources
//!
//! `pyembed pack` turns the standard library and an application into one
//! container file ([`resources`] describes the format). With
//! `oxidized_importer` on, the interpreter imports from it through
//! [`OxidizedFinder`], put first on `sys.meta_path` before the standard
//! library is first touched; with `filesystem_importer` off as well, nothing
//! is imported from `sys.path` and no Python installation is needed:
//!
//! ```no_run
//! use pyembed::{MainPythonInterpreter, OxidizedPythonInterpreterConfig, PackedResourcesSource};
//!
//! let mut config = OxidizedPythonInterpreterConfig::default();
//! config.interpreter_config.parse_argv = Some(false);
//! config.oxidized_importer = true;
//! config.filesystem_importer = false;
//! // `$ORIGIN` is the executable's directory. A container compiled in with
//! // `include_bytes!` works too: `PackedResourcesSource::Memory(BYTES)`.
//! config.packed_resources = vec![PackedResourcesSource::MemoryMappedPath(
//!     "$ORIGIN/app.pyembed".into(),
//! )];
//! let interpreter = MainPythonInterpreter::new(config)?;
//! interpreter.with_gil(|py| py.run(c"import json; print(json.__file__)", None, None))?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`technotes`] explains how initialisation works and why, and how the
//! importer is injected.
//!
//! [pyo3]: https://pyo3.rs

mod allocator;
mod config;
mod error;
mod importer;
mod interpreter;
pub mod launcher;
#[cfg(feature = "cli")]
pub mod pack;
pub mod resources;
pub mod technotes;

pub use allocator::{MemoryAllocatorDomain, PythonMemoryAllocator};
pub use config::{
    Allocator, BytecodeOptimizationLevel, BytesWarning, CheckHashPycsMode, CoerceCLocale,
    ExtensionModule, MemoryAllocatorBackend, MultiprocessingStartMethod, ORIGIN,
    OxidizedPythonInterpreterConfig, PackedResourcesSource, PythonInterpreterConfig,
    PythonInterpreterProfile, ResolvedOxidizedPythonInterpreterConfig, TerminfoResolution,
    UnknownVariant,
};
pub use error::{InitPhase, NewInterpreterError};
pub use importer::OxidizedFinder;
pub use interpreter::MainPythonInterpreter;

/// Which CPython this build of pyembed links, as the build script found it:
/// `"pinned CPython 3.11.2 (tarball sha256 …, archive sha256 …, PGO+LTO)"` for
/// the build of `python-stdlib/cpython/build.sh` (see `docs/cpython.md`), or
/// `"CPython 3.11 from <dir>/lib<name>.a"` for any other static library, such
/// as Debian's `libpython3.11-pic.a`.
pub const LINKED_CPYTHON: &str = env!("PYEMBED_LINKED_CPYTHON");

/// The `major.minor` version of the CPython this build links, e.g. `"3.11"`.
pub const LINKED_PYTHON_VERSION: &str = env!("PYEMBED_LINKED_PYTHON_VERSION");

/// A SHA-256 over this crate's sources (`Cargo.toml`, `build.rs`, `src/`),
/// which `pyembed --version` reports so that `pyembed build` can tell
/// whether a pinned toolchain runs the same code (docs/build.md).
#[doc(hidden)]
pub const SOURCE_DIGEST: &str = env!("PYEMBED_SOURCE_DIGEST");

/// The standard library of the CPython build this crate links, as the build
/// script found it on the build machine (`<prefix>/lib/pythonX.Y` next to the
/// pyo3 config's `executable`; empty without one). The `pyembed` CLI falls
/// back to it to start its own interpreter; it means nothing on another
/// machine.
#[doc(hidden)]
pub const LINKED_STDLIB: &str = env!("PYEMBED_LINKED_STDLIB");

/// The README's examples compile and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
