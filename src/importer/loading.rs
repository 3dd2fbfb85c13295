//! Turning packed bytes into code objects and source text, and packed-data
//! failures into `ImportError`s.
//!
//! Bytecode goes from the container to `marshal` without a copy:
//! [`PythonResourcesState::data`] returns a verified `&[u8]` that borrows from
//! the container (a memory map, the executable's image, or an owned copy),
//! and [`pyo3::marshal::loads`] hands that slice straight to CPython's
//! `PyMarshal_ReadObjectFromString`, which builds new objects from it and
//! keeps no reference to the bytes once it returns. The state (and with it
//! the container) is held by an `Arc` for the whole call, so the slice
//! cannot dangle. Damaged bytes never reach `marshal`: `data` checks the
//! digests first and the failure becomes an `ImportError` naming the module,
//! the container and both digests.

use std::ffi::OsString;

use pyo3::exceptions::PyImportError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyCode, PyTuple};

use super::paths;
use crate::resources::{ContainerError, DataField, Found, PythonResourcesState};

/// Python objects the importer calls on every import, looked up once.
pub(crate) struct Runtime {
    /// `importlib.machinery.ModuleSpec`.
    pub(crate) module_spec: Py<PyAny>,
    /// `importlib.machinery.BuiltinImporter`.
    pub(crate) builtin_importer: Py<PyAny>,
    /// `importlib.machinery.FrozenImporter`.
    pub(crate) frozen_importer: Py<PyAny>,
    /// `importlib.machinery.PathFinder` (the filesystem importer), looked
    /// up lazily: `_frozen_importlib_external` is installed by the main
    /// initialisation phase, after the importer.
    pub(crate) path_finder: std::sync::OnceLock<Py<PyAny>>,
    /// `_imp._fix_co_filename`.
    fix_co_filename: Py<PyAny>,
    /// `_imp.is_frozen`.
    pub(crate) is_frozen: Py<PyAny>,
    /// `importlib._bootstrap._call_with_frames_removed`: executing a module
    /// through it lets CPython trim the import machinery's frames from
    /// tracebacks of errors raised by the module's code.
    call_with_frames_removed: Py<PyAny>,
    /// `builtins.exec`.
    exec: Py<PyAny>,
    /// `builtins.compile`.
    compile: Py<PyAny>,
}

impl Runtime {
    /// Looks the objects up. Works from the end of the core initialisation
    /// phase on: everything comes from built-in or already-loaded modules
    /// (`_frozen_importlib` is in `sys.modules` once the core phase is done).
    pub(crate) fn load(py: Python<'_>) -> PyResult<Runtime> {
        let bootstrap = py.import("_frozen_importlib")?;
        let imp = py.import("_imp")?;
        let builtins = py.import("builtins")?;
        Ok(Runtime {
            module_spec: bootstrap.getattr("ModuleSpec")?.unbind(),
            builtin_importer: bootstrap.getattr("BuiltinImporter")?.unbind(),
            frozen_importer: bootstrap.getattr("FrozenImporter")?.unbind(),
            path_finder: std::sync::OnceLock::new(),
            fix_co_filename: imp.getattr("_fix_co_filename")?.unbind(),
            is_frozen: imp.getattr("is_frozen")?.unbind(),
            call_with_frames_removed: bootstrap.getattr("_call_with_frames_removed")?.unbind(),
            exec: builtins.getattr("exec")?.unbind(),
            compile: builtins.getattr("compile")?.unbind(),
        })
    }

    /// Runs `code` in `namespace` the way CPython's loaders do.
    pub(crate) fn exec(
        &self,
        py: Python<'_>,
        code: &Bound<'_, PyAny>,
        namespace: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        self.call_with_frames_removed
            .bind(py)
            .call1((self.exec.bind(py), code, namespace))
            .map(drop)
    }
}

/// The bytecode field holding code for optimisation level `optimize`
/// (`sys.flags.optimize`: 0, 1 or 2).
pub(crate) fn bytecode_field(optimize: u8) -> DataField {
    match optimize {
        0 => DataField::Bytecode,
        1 => DataField::BytecodeOpt1,
        _ => DataField::BytecodeOpt2,
    }
}

/// The code object of packed module `name`, with `co_filename` set to its
/// virtual path; `None` for a namespace package, which has no code.
///
/// Uses the bytecode for `optimize`. When the container has none for that
/// level but has the source, the source is compiled (at the interpreter's
/// level); when it has neither, or its bytes are damaged, the error is an
/// `ImportError` naming the module.
pub(crate) fn code_object<'py>(
    py: Python<'py>,
    runtime: &Runtime,
    state: &PythonResourcesState,
    name: &str,
    optimize: u8,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    let found = python_module(py, state, name)?;
    if found.entry.is_namespace_package() {
        return Ok(None);
    }
    let container = found.source.container();
    let path = paths::module_file(state.origin(), name, found.entry.is_package());
    let bytecode = container
        .data(name, bytecode_field(optimize))
        .map_err(|error| {
            damaged(
                py,
                name,
                &found,
                &format!("reading its bytecode (optimization level {optimize})"),
                &error,
            )
        })?;
    if let Some(bytecode) = bytecode {
        let code = pyo3::marshal::loads(py, bytecode).map_err(|error| {
            chained_import_error(
                py,
                name,
                &found,
                format!(
                    "cannot unmarshal the bytecode of '{name}' (optimization level {optimize})"
                ),
                error,
            )
        })?;
        if !code.is_instance_of::<PyCode>() {
            return Err(import_error(
                py,
                name,
                Some(found.source.description()),
                format!(
                    "the bytecode of '{name}' in packed resources {} is a {}, not a code object",
                    found.source.description(),
                    code.get_type().name()?
                ),
            ));
        }
        runtime
            .fix_co_filename
            .bind(py)
            .call1((&code, path.as_os_str()))?;
        return Ok(Some(code));
    }
    let source = container
        .data(name, DataField::Source)
        .map_err(|error| damaged(py, name, &found, "reading its source", &error))?;
    let Some(source) = source else {
        return Err(import_error(
            py,
            name,
            Some(found.source.description()),
            format!(
                "packed resources {} hold no bytecode for '{name}' at optimization level \
                 {optimize} (sys.flags.optimize) and no source to compile; hint: pack with \
                 `--opt {optimize}` or keep sources",
                found.source.description()
            ),
        ));
    };
    // `compile` honours a PEP 263 coding declaration in bytes, and uses the
    // interpreter's optimisation level (optimize=-1).
    let code = runtime.compile.bind(py).call1((
        PyBytes::new(py, source),
        path.as_os_str(),
        "exec",
        0,
        true,
        -1,
    ))?;
    Ok(Some(code))
}

/// The decoded source of packed module `name` (PEP 263 rules, universal
/// newlines, as `importlib.util.decode_source`), or `None` if only
/// bytecode was packed.
pub(crate) fn source_text<'py>(
    py: Python<'py>,
    state: &PythonResourcesState,
    name: &str,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    let found = python_module(py, state, name)?;
    let source = found
        .source
        .container()
        .data(name, DataField::Source)
        .map_err(|error| damaged(py, name, &found, "reading its source", &error))?;
    let Some(source) = source else {
        return Ok(None);
    };
    // `importlib.util.decode_source` is this function; importing it from
    // the frozen bootstrap module avoids importing `importlib.util`.
    let decode = py
        .import("_frozen_importlib_external")?
        .getattr("decode_source")?;
    decode.call1((PyBytes::new(py, source),)).map(Some)
}

/// The index entry of Python module `name`, or the `ImportError` the loader
/// protocol asks for when the loader does not know the module.
pub(crate) fn python_module<'s>(
    py: Python<'_>,
    state: &'s PythonResourcesState,
    name: &str,
) -> PyResult<Found<'s>> {
    state
        .get(name)
        .filter(|found| found.entry.is_python_module())
        .ok_or_else(|| {
            import_error(
                py,
                name,
                None,
                format!("'{name}' is not a Python module in the packed resources"),
            )
        })
}

/// The virtual `__file__` of `found`, or `None` for a namespace package.
pub(crate) fn module_file(
    state: &PythonResourcesState,
    name: &str,
    found: &Found<'_>,
) -> Option<OsString> {
    (!found.entry.is_namespace_package())
        .then(|| paths::module_file(state.origin(), name, found.entry.is_package()))
}

/// An `ImportError` with its `name` (and `path`, the container) attributes
/// set, as `ImportError(message, name=..., path=...)` would.
pub(crate) fn import_error(
    py: Python<'_>,
    name: &str,
    path: Option<&str>,
    message: String,
) -> PyErr {
    let error = PyImportError::new_err(message);
    let value = error.value(py);
    // Setting attributes of a fresh ImportError cannot fail in practice;
    // if it did, the error without them is still the right error.
    let _ = value.setattr("name", name);
    if let Some(path) = path {
        let _ = value.setattr("path", path);
    }
    error
}

/// The `ImportError` for damaged or unreadable packed data: the module, the
/// container, what was being read, and the container error with its causes
/// (for a digest mismatch: the region, the expected and the computed SHA-256).
pub(crate) fn damaged(
    py: Python<'_>,
    name: &str,
    found: &Found<'_>,
    reading: &str,
    error: &ContainerError,
) -> PyErr {
    let message = format!(
        "cannot import '{name}' from packed resources {}: {reading}: {}",
        found.source.description(),
        with_causes(error)
    );
    import_error(py, name, Some(found.source.description()), message)
}

/// `error` followed by its causes, joined by `: `.
pub(crate) fn with_causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}

fn chained_import_error(
    py: Python<'_>,
    name: &str,
    found: &Found<'_>,
    message: String,
    cause: PyErr,
) -> PyErr {
    let error = import_error(
        py,
        name,
        Some(found.source.description()),
        format!("{message}: {cause}"),
    );
    error.set_cause(py, Some(cause));
    error
}

/// `(name, ispkg)` pairs for `pkgutil.iter_modules`: the packed top-level
/// Python modules, sorted, each name prefixed with `prefix`.
pub(crate) fn top_level_modules<'py>(
    py: Python<'py>,
    state: &PythonResourcesState,
    prefix: &str,
) -> PyResult<Vec<Bound<'py, PyTuple>>> {
    state
        .children(None)
        .filter(|(_, entry)| entry.is_module())
        .map(|(name, entry)| (format!("{prefix}{name}"), entry.is_package()).into_pyobject(py))
        .collect()
}
