//! Interpreter set-up done by this crate around CPython's own initialisation:
//! importer installation between the core and main phases, then `sys`
//! attributes and hooks once the interpreter is complete.

use std::ffi::CStr;
use std::os::unix::ffi::OsStrExt;

use pyo3::ffi;
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

/// A failed `PyStatus` often leaves behind the Python exception that caused
/// it (an `encodings` that raises on import, say), which CPython itself never
/// prints. Fold it, with its traceback, into the error; the status text
/// becomes the context.
///
/// The interpreter is only half started here (`Py_IsInitialized()` is still
/// false, so pyo3's safe API refuses to run): this reads the exception with
/// the raw C API and attribute lookups only, importing nothing.
///
/// # Safety
/// This thread must hold the GIL of the interpreter whose start failed.
pub(crate) unsafe fn with_pending_exception(error: NewInterpreterError) -> NewInterpreterError {
    let NewInterpreterError::Status {
        phase,
        function,
        message,
    } = &error
    else {
        return error;
    };
    // SAFETY: the caller holds the GIL; PyErr_Occurred only reads the thread
    // state.
    if unsafe { ffi::PyErr_Occurred() }.is_null() {
        return error;
    }
    // SAFETY: the GIL is held; PyErr_Fetch hands us one reference to each
    // non-NULL object (released below) and clears the error indicator.
    #[cfg(not(Py_3_12))]
    let (kind, value, traceback) = unsafe {
        let (mut kind, mut value, mut traceback) = (
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
        );
        ffi::PyErr_Fetch(&mut kind, &mut value, &mut traceback);
        ffi::PyErr_NormalizeException(&mut kind, &mut value, &mut traceback);
        (kind, value, traceback)
    };
    // SAFETY: the GIL is held; PyErr_GetRaisedException hands us one
    // reference to the (normalised) exception and clears the indicator; its
    // type and traceback are new references too, all released below.
    #[cfg(Py_3_12)]
    let (kind, value, traceback) = unsafe {
        let value = ffi::PyErr_GetRaisedException();
        if value.is_null() {
            (std::ptr::null_mut(), value, std::ptr::null_mut())
        } else {
            let kind: *mut ffi::PyObject = ffi::Py_TYPE(value).cast();
            ffi::Py_INCREF(kind);
            (kind, value, ffi::PyException_GetTraceback(value))
        }
    };
    // SAFETY: the GIL is held and the pointers are NULL or owned references.
    let exception = unsafe { describe_exception(kind, value) };
    // SAFETY: as above.
    let traceback_text = unsafe { describe_traceback(traceback) };
    // SAFETY: releasing the references PyErr_Fetch gave us.
    unsafe {
        ffi::Py_XDECREF(kind);
        ffi::Py_XDECREF(value);
        ffi::Py_XDECREF(traceback);
        // Whatever the helpers above raised is of no further interest.
        ffi::PyErr_Clear();
    }
    let context = match function {
        Some(function) => format!("{function}: {message}"),
        None => message.clone(),
    };
    NewInterpreterError::PythonException {
        phase: *phase,
        context,
        exception,
        traceback: traceback_text,
    }
}

/// `str()` of `object` as a Rust string, or `None`.
///
/// # Safety
/// The GIL is held; `object` is NULL or a valid object.
unsafe fn text_of(object: *mut ffi::PyObject) -> Option<String> {
    if object.is_null() {
        return None;
    }
    // SAFETY: the caller's contract; each new reference is released.
    unsafe {
        let text = ffi::PyObject_Str(object);
        if text.is_null() {
            ffi::PyErr_Clear();
            return None;
        }
        let mut size: ffi::Py_ssize_t = 0;
        let data = ffi::PyUnicode_AsUTF8AndSize(text, &mut size);
        let result = (!data.is_null()).then(|| {
            let bytes = std::slice::from_raw_parts(data.cast::<u8>(), size as usize);
            String::from_utf8_lossy(bytes).into_owned()
        });
        ffi::Py_DECREF(text);
        if result.is_none() {
            ffi::PyErr_Clear();
        }
        result
    }
}

/// Attribute `name` of `object` (a new reference), or NULL with no error set.
///
/// # Safety
/// The GIL is held; `object` is NULL or a valid object.
unsafe fn attribute(object: *mut ffi::PyObject, name: &CStr) -> *mut ffi::PyObject {
    if object.is_null() {
        return std::ptr::null_mut();
    }
    // SAFETY: the caller's contract.
    unsafe {
        let value = ffi::PyObject_GetAttrString(object, name.as_ptr());
        if value.is_null() {
            ffi::PyErr_Clear();
        }
        value
    }
}

/// `Type: value`, as the last line of a traceback shows it.
///
/// # Safety
/// The GIL is held; the pointers are NULL or valid objects.
unsafe fn describe_exception(kind: *mut ffi::PyObject, value: *mut ffi::PyObject) -> String {
    // SAFETY: the caller's contract; new references are released.
    unsafe {
        let name = attribute(kind, c"__qualname__");
        let name_text = text_of(name).unwrap_or_else(|| "exception".to_string());
        ffi::Py_XDECREF(name);
        match text_of(value).filter(|text| !text.is_empty()) {
            Some(text) => format!("{name_text}: {text}"),
            None => name_text,
        }
    }
}

/// The frames of `traceback`, innermost last, in Python's own layout.
///
/// # Safety
/// The GIL is held; `traceback` is NULL or a traceback object.
unsafe fn describe_traceback(traceback: *mut ffi::PyObject) -> Option<String> {
    let mut lines = Vec::new();
    // SAFETY: the caller's contract; every new reference is released, and a
    // borrowed `traceback` is never released.
    unsafe {
        let mut current = traceback;
        ffi::Py_XINCREF(current);
        // Bounded: a traceback is a finite chain, but never trust a cycle.
        for _ in 0..200 {
            if current.is_null() || current == ffi::Py_None() {
                break;
            }
            let line = attribute(current, c"tb_lineno");
            let frame = attribute(current, c"tb_frame");
            let code = attribute(frame, c"f_code");
            let file = attribute(code, c"co_filename");
            let name = attribute(code, c"co_name");
            lines.push(format!(
                "  File \"{}\", line {}, in {}",
                text_of(file).unwrap_or_default(),
                text_of(line).unwrap_or_default(),
                text_of(name).unwrap_or_default()
            ));
            for object in [line, frame, code, file, name] {
                ffi::Py_XDECREF(object);
            }
            let next = attribute(current, c"tb_next");
            ffi::Py_DECREF(current);
            current = next;
        }
        ffi::Py_XDECREF(current);
    }
    (!lines.is_empty()).then(|| format!("Traceback (most recent call last):\n{}", lines.join("\n")))
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
    for (n, source) in config.packed_resources.iter().enumerate() {
        let container = crate::resources::Container::open_static(source).map_err(|error| {
            NewInterpreterError::PackedResources {
                container: source.description(),
                error: Box::new(error),
            }
        })?;
        // Pins were checked to be well-formed digests, one per source.
        if let Some(pin) = config.packed_resources_digests.get(n) {
            let actual = container.content_digest();
            if crate::resources::Digest::from_hex(pin) != Some(actual) {
                return Err(NewInterpreterError::UnexpectedPackedResources {
                    container: source.description(),
                    expected: pin.to_ascii_lowercase(),
                    actual: actual.to_string(),
                });
            }
        }
        state.index_container(source.description(), container);
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
            (
                Some(hint),
                NewInterpreterError::PythonException {
                    phase,
                    context,
                    exception,
                    traceback,
                },
            ) => NewInterpreterError::PythonException {
                phase,
                context,
                exception: format!("{exception}; hint: {hint}"),
                traceback,
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
        Some(state) if !config.filesystem_importer && state.get("encodings").is_none() => {
            Some(concat!(
                "the packed resources do not contain the standard library (no `encodings` \
                 package), and filesystem_importer is off; pack it (`pyembed pack --stdlib \
                 <dir> ...`, <dir> being CPython ",
                env!("PYEMBED_LINKED_PYTHON_VERSION"),
                "'s standard library, e.g. /usr/lib/python",
                env!("PYEMBED_LINKED_PYTHON_VERSION"),
                ") or turn filesystem_importer on"
            ))
        }
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
