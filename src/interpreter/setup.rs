//! Interpreter set-up done by this crate around CPython's own initialisation:
//! importer installation between the core and main phases, then `sys`
//! attributes and hooks once the interpreter is complete.

use std::os::unix::ffi::OsStrExt;

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyList, PyModule};

use crate::config::ResolvedOxidizedPythonInterpreterConfig;
use crate::error::{InitPhase, NewInterpreterError};
use crate::resources::PythonResourcesState;

const STARTUP_PY: &std::ffi::CStr = {
    match std::ffi::CStr::from_bytes_with_nul(concat!(include_str!("startup.py"), "\0").as_bytes())
    {
        Ok(s) => s,
        Err(_) => panic!("startup.py contains a NUL byte"),
    }
};

/// A Python exception as a [`NewInterpreterError`] with its traceback.
pub(crate) fn python_error(
    py: Python<'_>,
    phase: InitPhase,
    context: &str,
    err: PyErr,
) -> NewInterpreterError {
    let traceback = err.traceback(py).and_then(|tb| tb.format().ok());
    NewInterpreterError::PythonException {
        phase,
        context: context.to_string(),
        exception: err.to_string(),
        traceback,
    }
}

/// Opens and indexes every `packed_resources` source when `oxidized_importer`
/// is on (`None` otherwise), before CPython starts.
///
/// A file is memory-mapped, memory in the executable's image is borrowed,
/// other memory is copied (see `Container::open_static`); each container's
/// header, index and tier-0 index are verified. Sources are indexed in order,
/// so a name in an earlier source wins.
pub(crate) fn open_packed_resources(
    config: &ResolvedOxidizedPythonInterpreterConfig<'_>,
) -> Result<Option<PythonResourcesState>, NewInterpreterError> {
    if !config.oxidized_importer {
        return Ok(None);
    }
    let mut state = PythonResourcesState::new(config.origin());
    for source in &config.packed_resources {
        state
            .index_source(source)
            .map_err(|error| NewInterpreterError::PackedResources {
                container: source.description(),
                error: Box::new(error),
            })?;
    }
    Ok(Some(state))
}

/// Install importers on `sys.meta_path` between the core and main phases.
///
/// At this point `sys.meta_path` holds `BuiltinImporter` and `FrozenImporter`
/// only, and `encodings` has not been imported: a finder inserted here serves
/// every later import, including the standard library's.
///
/// With `oxidized_importer` (`resources` is `Some`), an `OxidizedFinder`
/// over the index goes to `sys.meta_path[0]`. The main phase then adds
/// `PathFinder` after it; `after_main` removes `PathFinder` again when
/// `filesystem_importer` is off.
pub(crate) fn install_importers(
    py: Python<'_>,
    resources: Option<PythonResourcesState>,
) -> Result<(), NewInterpreterError> {
    let Some(state) = resources else {
        return Ok(());
    };
    crate::importer::install(py, state).map_err(|e| {
        python_error(
            py,
            InitPhase::ImporterInstallation,
            "installing the packed-resources importer",
            e,
        )
    })
}

/// A hint for a main phase that fails because the packed resources, the
/// only source of modules, lack the standard library.
pub(crate) struct StdlibHint(Option<&'static str>);

impl StdlibHint {
    /// Adds the hint, if there is one, to the message of a failed main phase.
    pub(crate) fn apply(&self, error: NewInterpreterError) -> NewInterpreterError {
        match (self.0, error) {
            (
                Some(hint),
                NewInterpreterError::Status {
                    phase,
                    function,
                    message,
                },
            ) => NewInterpreterError::Status {
                phase,
                function,
                message: format!("{message}; hint: {hint}"),
            },
            (_, error) => error,
        }
    }
}

/// With the packed-resources importer as the only importer of Python code
/// (`filesystem_importer` off, so `home` is the origin and CPython finds no
/// standard library on disk), the main phase needs `encodings` from the
/// containers. When they lack it, the main phase fails with CPython's
/// "failed to get the Python codec of the filesystem encoding"; this is the
/// hint that says why.
pub(crate) fn missing_stdlib_hint(
    config: &ResolvedOxidizedPythonInterpreterConfig<'_>,
    resources: Option<&PythonResourcesState>,
) -> StdlibHint {
    StdlibHint(match resources {
        Some(state) if !config.filesystem_importer && state.get("encodings").is_none() => Some(
            "the packed resources do not contain the standard library (no `encodings` \
             package), and filesystem_importer is off; pack it (`pyembed pack --stdlib \
             /usr/lib/python3.11 ...`) or turn filesystem_importer on",
        ),
        _ => None,
    })
}

/// Everything after `_Py_InitializeMain()`.
pub(crate) fn after_main(
    py: Python<'_>,
    config: &ResolvedOxidizedPythonInterpreterConfig<'_>,
) -> Result<(), NewInterpreterError> {
    let phase = InitPhase::PostInitialization;
    let sys = py
        .import("sys")
        .map_err(|e| python_error(py, phase, "importing sys", e))?;
    let set = |name: &str, value: Bound<'_, PyAny>| {
        sys.setattr(name, value)
            .map_err(|e| python_error(py, phase, &format!("setting sys.{name}"), e))
    };

    set(
        "oxidized",
        true.into_pyobject(py)
            .expect("infallible")
            .to_owned()
            .into_any(),
    )?;
    if config.sys_frozen {
        set(
            "frozen",
            true.into_pyobject(py)
                .expect("infallible")
                .to_owned()
                .into_any(),
        )?;
    }
    if config.sys_meipass {
        // A `str`, as PyInstaller sets it (code does `sys._MEIPASS + "/x"`).
        let Ok(origin) = config.origin().as_os_str().into_pyobject(py);
        set("_MEIPASS", origin.into_any())?;
    }
    if config.argvb {
        let args = config.resolve_sys_argvb();
        let items = args.iter().map(|a| PyBytes::new(py, a.as_bytes()));
        let list = PyList::new(py, items).map_err(|e| python_error(py, phase, "sys.argvb", e))?;
        set("argvb", list.into_any())?;
    }

    if config.oxidized_importer {
        crate::importer::put_path_hook_first(py)
            .map_err(|e| python_error(py, phase, "ordering sys.path_hooks", e))?;
    }
    if !config.filesystem_importer {
        remove_path_finder(py)
            .map_err(|e| python_error(py, phase, "removing the filesystem importer", e))?;
    }

    let method = config.multiprocessing_start_method.method_name();
    let modules_dir = config
        .write_modules_directory_env
        .as_deref()
        .and_then(std::env::var_os)
        .filter(|dir| !dir.is_empty());
    if config.oxidized_importer {
        install_source_excepthook(py)
            .map_err(|e| python_error(py, phase, "installing sys.excepthook", e))?;
    }
    // startup.py is compiled (from source, ~0.4 ms) only when one of its
    // hooks is asked for; the default start-up runs no Python of ours.
    if method.is_some() || modules_dir.is_some() {
        let startup =
            PyModule::from_code(py, STARTUP_PY, c"<pyembed startup>", c"_pyembed_startup")
                .map_err(|e| python_error(py, phase, "compiling the start-up module", e))?;
        // The functions keep their globals alive; the module need not stay importable.
        let _ = sys
            .getattr("modules")
            .and_then(|m| m.del_item("_pyembed_startup"));
        if let Some(method) = method {
            startup
                .call_method1("install_start_method_hook", (method,))
                .map_err(|e| {
                    python_error(
                        py,
                        phase,
                        "installing the multiprocessing start method hook",
                        e,
                    )
                })?;
        }
        if let Some(dir) = modules_dir {
            startup
                .call_method1("write_modules_at_exit", (dir,))
                .map_err(|e| python_error(py, phase, "registering the loaded-modules writer", e))?;
        }
    }
    Ok(())
}

/// Print uncaught exceptions with source lines from packed modules.
///
/// CPython's default `sys.excepthook` prints tracebacks in C and reads
/// source lines from files only, so a module imported from packed resources
/// (which has no file) would show none. The `traceback` module asks
/// `linecache`, which asks the module's `__loader__.get_source()`; its output
/// is otherwise the same. `KeyboardInterrupt` goes straight to
/// `sys.__excepthook__`: importing `traceback` then would run code through
/// paths that clear CPython's "unhandled KeyboardInterrupt" flag, and
/// `Py_RunMain` would exit with 1 instead of dying from SIGINT as `python`
/// does. If printing fails, the default hook runs instead.
///
/// It is a Rust function rather than Python source so that installing it
/// costs no compilation at start-up.
#[pyfunction]
#[pyo3(signature = (exc_type, exc_value, exc_traceback, /))]
fn source_excepthook(
    py: Python<'_>,
    exc_type: &Bound<'_, PyAny>,
    exc_value: &Bound<'_, PyAny>,
    exc_traceback: &Bound<'_, PyAny>,
) -> PyResult<()> {
    let args = (exc_type, exc_value, exc_traceback);
    let interrupted = exc_type.cast::<pyo3::types::PyType>().is_ok_and(|t| {
        t.is_subclass_of::<pyo3::exceptions::PyKeyboardInterrupt>()
            .unwrap_or(false)
    });
    if !interrupted {
        let printed = py
            .import("traceback")
            .and_then(|traceback| traceback.call_method1("print_exception", args));
        if printed.is_ok() {
            return Ok(());
        }
    }
    py.import("sys")?.getattr("__excepthook__")?.call1(args)?;
    Ok(())
}

/// Replaces `sys.excepthook` with [`source_excepthook`] unless someone
/// already replaced CPython's.
fn install_source_excepthook(py: Python<'_>) -> PyResult<()> {
    let sys = py.import("sys")?;
    if !sys
        .getattr("excepthook")?
        .is(&sys.getattr("__excepthook__")?)
    {
        return Ok(());
    }
    sys.setattr("excepthook", wrap_pyfunction!(source_excepthook, py)?)
}

/// Remove `importlib.machinery.PathFinder` from `sys.meta_path`.
fn remove_path_finder(py: Python<'_>) -> PyResult<()> {
    let sys = py.import("sys")?;
    let path_finder = py.import("importlib.machinery")?.getattr("PathFinder")?;
    let meta_path = sys.getattr("meta_path")?.cast_into::<PyList>()?;
    let kept: Vec<Bound<'_, PyAny>> = meta_path.iter().filter(|f| !f.is(&path_finder)).collect();
    sys.setattr("meta_path", PyList::new(py, kept)?)
}
