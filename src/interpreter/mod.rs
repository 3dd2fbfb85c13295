//! [`MainPythonInterpreter`]: the process's embedded CPython interpreter.
//!
//! `new()` walks CPython's multi-phase initialisation (see
//! [`crate::technotes`]): resolve the configuration, pre-initialise, register
//! extension modules, initialise the core, install importers, initialise main,
//! then set this crate's `sys` attributes and hooks. Afterwards the GIL is
//! released; [`MainPythonInterpreter::with_gil`] takes it for a closure.

mod daemon_threads;
mod environment;
mod lifecycle;
mod multiprocessing;
mod pyconfig;
mod setup;

use std::ffi::OsString;
use std::marker::PhantomData;

use pyo3::ffi;
use pyo3::prelude::*;

use crate::config::{OxidizedPythonInterpreterConfig, ResolvedOxidizedPythonInterpreterConfig};
use crate::error::{InitPhase, NewInterpreterError};

/// The embedded Python interpreter of this process.
///
/// Create it with [`MainPythonInterpreter::new`]; run code with
/// [`with_gil`](Self::with_gil); hand control to Python with
/// [`run`](Self::run) or [`py_runmain`](Self::py_runmain). Dropping it
/// finalizes the interpreter (once), after which no other interpreter can be
/// created in this process.
///
/// The type is neither `Send` nor `Sync`: CPython's main thread state belongs
/// to the thread that initialised it, and finalization must happen there.
pub struct MainPythonInterpreter<'interpreter, 'resources: 'interpreter> {
    config: ResolvedOxidizedPythonInterpreterConfig<'resources>,
    /// The main thread's state while the GIL is released; null once finalized.
    thread_state: *mut ffi::PyThreadState,
    _interpreter: PhantomData<&'interpreter ()>,
}

impl<'interpreter, 'resources> MainPythonInterpreter<'interpreter, 'resources> {
    /// Initialise CPython in this process from `config`.
    ///
    /// Fails with [`NewInterpreterError::AlreadyRunning`] when an interpreter
    /// exists, and [`NewInterpreterError::AlreadyFinalized`] after one was
    /// finalized (CPython cannot be initialised twice reliably). Other errors
    /// name the [`InitPhase`] and CPython's status message or exception.
    ///
    /// Environment variables may be set (`TERMINFO_DIRS`, `TCL_LIBRARY`) as the
    /// configuration asks; call this before starting threads that read the
    /// environment.
    pub fn new(
        config: OxidizedPythonInterpreterConfig<'resources>,
    ) -> Result<MainPythonInterpreter<'interpreter, 'resources>, NewInterpreterError> {
        let mut slot = lifecycle::Slot::claim()?;
        let config = config.resolve()?;
        validate(&config)?;
        // Containers are opened and their headers and indices verified before
        // CPython is touched, so a missing or damaged file leaves the process
        // free to try again with a corrected configuration.
        let resources = setup::open_packed_resources(&config)?;

        environment::apply(&config);

        let interpreter_config = &config.interpreter_config;
        let argv = config.resolve_sys_argv();

        slot.touch();
        pre_initialize(&config, &argv)?;
        // SAFETY: pre-initialisation completed and core initialisation has
        // not started: the window in which CPython allows new allocators.
        unsafe { crate::allocator::install(&config) }?;
        register_extension_modules(&config)?;

        let py_config = pyconfig::py_config(interpreter_config, &argv)?;
        // SAFETY: pre-initialisation ran; `py_config` is a complete PyConfig
        // that CPython copies before returning.
        let status = unsafe { ffi::Py_InitializeFromConfig(py_config.as_ptr()) };
        drop(py_config);
        pyconfig::check_status(status, InitPhase::Core)?;

        // Core is up: builtins, sys and the frozen importlib exist, and nothing
        // has been imported from outside the binary yet. This is where an
        // importer serving the standard library must be installed.
        // SAFETY: Py_InitializeFromConfig returned with this thread holding the GIL.
        let py = unsafe { Python::assume_attached() };
        let stdlib_hint = setup::missing_stdlib_hint(&config, resources.as_ref());
        setup::install_importers(py, resources)?;

        // SAFETY: the core phase completed on this thread, which holds the GIL,
        // and the main phase has not started.
        unsafe { lifecycle::apply_core_overrides(interpreter_config.warn_default_encoding) };

        // SAFETY: the core phase completed on this thread, which holds the GIL.
        unsafe { lifecycle::initialize_main() }
            // SAFETY: the failed main phase left this thread holding the GIL.
            .map_err(|error| unsafe { setup::with_pending_exception(error) })
            .map_err(|error| stdlib_hint.apply(error))?;

        // SAFETY: as above; `_Py_InitializeMain` keeps the GIL held.
        let py = unsafe { Python::assume_attached() };
        setup::after_main(py, &config)?;

        // SAFETY: this thread holds the GIL; releasing it lets other threads
        // (and `with_gil`, through PyGILState_Ensure) attach.
        let thread_state = unsafe { ffi::PyEval_SaveThread() };
        slot.running();

        Ok(MainPythonInterpreter {
            config,
            thread_state,
            _interpreter: PhantomData,
        })
    }

    /// Run `f` with the GIL held.
    ///
    /// A panic in `f` releases the GIL and propagates to the caller; the
    /// interpreter stays usable.
    pub fn with_gil<F, R>(&self, f: F) -> R
    where
        F: for<'py> FnOnce(Python<'py>) -> R,
    {
        Python::attach(f)
    }

    /// The resolved configuration this interpreter was started with.
    pub fn config(&self) -> &ResolvedOxidizedPythonInterpreterConfig<'resources> {
        &self.config
    }

    /// Whether this process was started by `multiprocessing` as a child: a
    /// spawned worker (first argument `--multiprocessing-fork`) or a helper
    /// (the resource tracker or fork server, started with `-c "from
    /// multiprocessing.<helper> import main; ..."`).
    pub fn is_multiprocessing(&self) -> bool {
        multiprocessing::is_worker(&self.config.resolve_sys_argv())
    }

    /// Run the configured program the way `python` does (`Py_RunMain()`):
    /// `run_command`, `run_module`, `run_filename`, or the REPL; then finalize.
    ///
    /// Returns the process exit code: 0 on success, 1 for an uncaught
    /// exception. An uncaught `SystemExit(n)` does not return: CPython
    /// finalizes the interpreter (running `atexit` handlers) and exits the
    /// process with `n` itself, so Rust code after this call and Rust
    /// destructors do not run in that case.
    pub fn py_runmain(mut self) -> i32 {
        self.acquire();
        // SAFETY: this thread holds the GIL; Py_RunMain finalizes the
        // interpreter before returning, so it is marked finished right after.
        let code = unsafe { ffi::Py_RunMain() };
        self.thread_state = std::ptr::null_mut();
        lifecycle::finished();
        code
    }

    /// Run the interpreter as the process's main program.
    ///
    /// A multiprocessing child (see [`is_multiprocessing`](Self::is_multiprocessing))
    /// is dispatched to `multiprocessing.spawn.spawn_main()` or to its helper
    /// command when `multiprocessing_auto_dispatch` is on, and its exit code
    /// (including `SystemExit(n)`) is returned; anything else goes to
    /// [`py_runmain`](Self::py_runmain).
    pub fn run(self) -> i32 {
        if self.config.multiprocessing_auto_dispatch && self.is_multiprocessing() {
            let argv = self.config.resolve_sys_argv();
            self.with_gil(|py| multiprocessing::run_worker(py, &argv))
        } else {
            self.py_runmain()
        }
    }

    /// Take the GIL back on the main thread after `PyEval_SaveThread`.
    fn acquire(&mut self) {
        if !self.thread_state.is_null() {
            // SAFETY: `thread_state` is the main thread state saved in `new`,
            // and this type never leaves the thread that created it.
            unsafe { ffi::PyEval_RestoreThread(self.thread_state) };
        }
    }
}

impl Drop for MainPythonInterpreter<'_, '_> {
    fn drop(&mut self) {
        if self.thread_state.is_null() {
            return;
        }
        self.acquire();
        self.thread_state = std::ptr::null_mut();
        // SAFETY: the interpreter is initialised and this thread holds the GIL.
        // Py_FinalizeEx runs atexit handlers (which write the loaded-modules
        // file) and tears the interpreter down.
        unsafe { ffi::Py_FinalizeEx() };
        lifecycle::finished();
    }
}

/// Reject configurations CPython would fail on obscurely, naming the field.
fn validate(
    config: &ResolvedOxidizedPythonInterpreterConfig<'_>,
) -> Result<(), NewInterpreterError> {
    let ic = &config.interpreter_config;
    if let Some(home) = &ic.home {
        if !home.is_dir() {
            return Err(NewInterpreterError::MissingPath {
                field: "interpreter_config.home",
                path: home.clone(),
            });
        }
    }
    if let Some(digits) = ic.int_max_str_digits {
        if digits != 0 && digits < 640 {
            return Err(NewInterpreterError::InvalidConfig {
                field: "interpreter_config.int_max_str_digits",
                message: format!("{digits} must be 0 (no limit) or at least 640"),
            });
        }
    }
    if config.allocator_pymalloc_arena && (config.allocator_mem || config.allocator_obj) {
        return Err(NewInterpreterError::InvalidConfig {
            field: "allocator_pymalloc_arena",
            message: "cannot be combined with allocator_mem or allocator_obj: pymalloc \
                      arenas exist only when pymalloc serves those domains"
                .into(),
        });
    }
    if let Some(seed) = ic.hash_seed {
        if seed > u64::from(u32::MAX) {
            return Err(NewInterpreterError::InvalidConfig {
                field: "interpreter_config.hash_seed",
                message: format!("{seed} is larger than CPython's maximum, 4294967295"),
            });
        }
    }
    let pins = &config.packed_resources_digests;
    if !pins.is_empty() && pins.len() != config.packed_resources.len() {
        return Err(NewInterpreterError::InvalidConfig {
            field: "packed_resources_digests",
            message: format!(
                "has {} digests for {} packed_resources sources; give one per source, in order",
                pins.len(),
                config.packed_resources.len()
            ),
        });
    }
    if let Some(bad) = pins
        .iter()
        .find(|pin| crate::resources::Digest::from_hex(pin).is_none())
    {
        return Err(NewInterpreterError::InvalidConfig {
            field: "packed_resources_digests",
            message: format!("`{bad}` is not a SHA-256 digest (64 hexadecimal digits)"),
        });
    }
    crate::allocator::check_backend(config.allocator_backend)?;
    pyconfig::check_no_nul(ic)?;
    pyconfig::BytesArgv::new("argv", &config.resolve_sys_argv())?;
    Ok(())
}

fn pre_initialize(
    config: &ResolvedOxidizedPythonInterpreterConfig<'_>,
    argv: &[OsString],
) -> Result<(), NewInterpreterError> {
    let pre = pyconfig::pre_config(&config.interpreter_config);
    let status = if pre.parse_argv != 0 {
        // -E, -I, -X utf8 and -X dev on the command line affect pre-initialisation.
        let args = pyconfig::BytesArgv::new("argv", argv)?;
        let mut pointers = args.pointers();
        let argc = isize::try_from(pointers.len()).unwrap_or(isize::MAX);
        // SAFETY: `pre` is initialised; `pointers` holds `argc` valid C strings
        // owned by `args`, alive for the call.
        unsafe { ffi::Py_PreInitializeFromBytesArgs(&pre, argc, pointers.as_mut_ptr()) }
    } else {
        // SAFETY: `pre` is an initialised PyPreConfig.
        unsafe { ffi::Py_PreInitialize(&pre) }
    };
    pyconfig::check_status(status, InitPhase::PreInitialization)
}

fn register_extension_modules(
    config: &ResolvedOxidizedPythonInterpreterConfig<'_>,
) -> Result<(), NewInterpreterError> {
    for module in config.extra_extension_modules.iter().flatten() {
        // CPython keeps the name pointer in its inittab for the life of the
        // process; the process never initialises CPython twice, so leaking one
        // copy per module is bounded.
        let name: &'static std::ffi::CStr = Box::leak(module.name.clone().into_boxed_c_str());
        // SAFETY: called after pre-initialisation and before Py_Initialize*, as
        // PyImport_AppendInittab requires; `name` lives forever.
        let rc = unsafe { ffi::PyImport_AppendInittab(name.as_ptr(), Some(module.init_func)) };
        if rc != 0 {
            return Err(NewInterpreterError::InvalidConfig {
                field: "extra_extension_modules",
                message: format!("CPython could not register extension module {name:?}"),
            });
        }
    }
    // `oxidized_importer` is always built in, after the configured modules
    // (the inittab's first entry of a name wins), so Python code can create
    // finders of its own even when the importer is not installed.
    // SAFETY: as above; the name is a 'static C string.
    let rc = unsafe {
        ffi::PyImport_AppendInittab(
            c"oxidized_importer".as_ptr(),
            Some(crate::importer::module_init_function()),
        )
    };
    if rc != 0 {
        return Err(NewInterpreterError::InvalidConfig {
            field: "oxidized_importer",
            message: "CPython could not register the built-in module oxidized_importer".into(),
        });
    }
    Ok(())
}
