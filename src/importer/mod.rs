//! The packed-resources importer: imports Python modules from verified
//! containers (see [`crate::resources`]) instead of the filesystem.
//!
//! [`OxidizedFinder`] is a pyo3 class implementing importlib's meta path
//! finder and loader protocols over a [`PythonResourcesState`], the index of
//! every container the interpreter was configured with. The interpreter
//! creates one between CPython's core and main initialisation phases and
//! puts it first on `sys.meta_path`, so even `encodings`, which the main
//! phase imports, comes from packed resources (see [`crate::technotes`] for
//! the resulting `sys.meta_path` layouts).
//!
//! The class lives in the built-in module `oxidized_importer`, registered on
//! the interpreter's inittab before initialisation, so `import
//! oxidized_importer` works in every interpreter this crate creates, whether
//! or not the importer was installed:
//!
//! ```python
//! import oxidized_importer, sys
//! finder = oxidized_importer.OxidizedFinder()
//! finder.index_file_memory_mapped("/opt/app/plugins.pyembed")
//! sys.meta_path.insert(0, finder)
//! sys.path_hooks.insert(0, finder.path_hook)  # for pkgutil over packed packages
//! ```
//!
//! What it serves today: Python modules and packages (bytecode for the
//! interpreter's optimisation level, compiled from packed source when that
//! level is missing), namespace packages, `get_source` for tracebacks and
//! `inspect`, and `pkgutil.iter_modules()` for top-level modules. With the
//! importer installed, `sys.excepthook` prints with the `traceback` module,
//! so uncaught exceptions show packed source lines too.
//! `importlib.resources` reads packed package data and `importlib.metadata`
//! packed `.dist-info` files (see `resources`). On Linux, packed extension
//! modules (and the shared libraries they need) load from memory, never from
//! a temporary file (see `extension`). `OxidizedFinder.path_hook`, first on
//! `sys.path_hooks`, gives `pkgutil` an [`OxidizedPathEntryFinder`] for
//! packed packages' virtual `__path__` directories.
//!
//! [`PythonResourcesState`]: crate::resources::PythonResourcesState

mod extension;
mod finder;
mod indexed;
mod loading;
mod path_entry;
mod paths;
mod resources;

pub use finder::OxidizedFinder;
pub use path_entry::OxidizedPathEntryFinder;

use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::resources::PythonResourcesState;

/// The built-in module `oxidized_importer`.
#[pymodule]
pub(crate) mod oxidized_importer {
    #[pymodule_export]
    use super::OxidizedFinder;
    #[pymodule_export]
    use super::OxidizedPathEntryFinder;
    #[pymodule_export]
    use super::indexed::OxidizedResource;
    #[pymodule_export]
    use super::resources::module_getattr;
}

unsafe extern "C" {
    /// The entry point `#[pymodule]` generates for `oxidized_importer`.
    fn PyInit_oxidized_importer() -> *mut pyo3::ffi::PyObject;
}

/// The `PyInit_*` function of `oxidized_importer`, for the inittab.
pub(crate) fn module_init_function() -> unsafe extern "C" fn() -> *mut pyo3::ffi::PyObject {
    PyInit_oxidized_importer
}

/// Creates an [`OxidizedFinder`] over `state` and inserts it at
/// `sys.meta_path[0]`.
///
/// Called between the core and main phases of initialisation; everything it
/// uses is built in or frozen.
pub(crate) fn install(py: Python<'_>, state: PythonResourcesState) -> PyResult<()> {
    let finder = Bound::new(py, OxidizedFinder::new(py, state)?)?;
    let meta_path = py
        .import("sys")?
        .getattr("meta_path")?
        .cast_into::<PyList>()?;
    meta_path.insert(0, &finder)?;
    let path_hooks = py
        .import("sys")?
        .getattr("path_hooks")?
        .cast_into::<PyList>()?;
    path_hooks.insert(0, finder.getattr("path_hook")?)
}

/// Moves the `OxidizedFinder.path_hook` that [`install`] added back to
/// `sys.path_hooks[0]`: the main phase inserts `zipimporter` at index 0
/// after it.
pub(crate) fn put_path_hook_first(py: Python<'_>) -> PyResult<()> {
    let path_hooks = py
        .import("sys")?
        .getattr("path_hooks")?
        .cast_into::<PyList>()?;
    let ours = path_hooks.iter().position(|hook| {
        hook.getattr("__self__")
            .is_ok_and(|owner| owner.is_instance_of::<OxidizedFinder>())
    });
    if let Some(index) = ours.filter(|&index| index > 0) {
        let hook = path_hooks.get_item(index)?;
        path_hooks.del_item(index)?;
        path_hooks.insert(0, hook)?;
    }
    Ok(())
}
