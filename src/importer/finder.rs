//! [`OxidizedFinder`]: the meta path finder and loader over packed resources.
//!
//! One object plays both importlib roles (PEP 451): `find_spec` answers
//! whether a name is packed and returns a `ModuleSpec` whose loader is the
//! finder itself; `create_module`/`exec_module` load it, and the
//! `InspectLoader`/`ExecutionLoader` methods (`get_code`, `get_source`,
//! `is_package`, `get_filename`) serve `runpy`, `inspect`, `linecache` and
//! `pkgutil`.
//!
//! # Priority
//!
//! The finder sits first on `sys.meta_path`, so it sees every import. A name
//! the interpreter provides itself keeps priority over a packed copy: for a
//! name that is both packed and built in (`sys.builtin_module_names`) or
//! frozen (`_imp.is_frozen`), `find_spec` returns what `BuiltinImporter` or
//! `FrozenImporter` finds. Built-in and frozen names are recorded once, when
//! the finder is created or a container is indexed. A name that is not
//! packed returns `None` at the cost of one ordered-map lookup, and the
//! importers after this one carry on. A packed extension module wins over a
//! packed Python module of the same name, as in CPython's `FileFinder`; on
//! Linux it loads from memory (see `extension`).
//!
//! # Threads
//!
//! The index is an immutable [`PythonResourcesState`] behind an `Arc`. Each
//! call takes the read lock only to clone the `Arc`, and releases it before
//! calling into Python; adding a container builds a new state and swaps it
//! in under the write lock, again without calling Python while holding it.
//! So no Rust lock is ever held across a call that could wait for the GIL
//! or an import lock, and concurrent imports cannot deadlock on the finder.

use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

use super::extension;
use super::indexed::{self, OxidizedResource};
use super::loading::{self, Runtime};
use super::path_entry::OxidizedPathEntryFinder;
use super::paths;
use super::resources;
use crate::resources::{
    Container, ContainerError, PythonResourcesState, ResourceFlags, verify_ahead_after,
};

/// A meta path finder and loader that imports Python modules from packed
/// resources containers.
///
/// Created and put first on `sys.meta_path` by the interpreter when
/// `oxidized_importer` is enabled; Python code can also create one
/// (`oxidized_importer.OxidizedFinder()`) and index containers into it with
/// `index_file_memory_mapped(path)` or `index_bytes(data)`.
#[pyclass(frozen, module = "oxidized_importer")]
pub struct OxidizedFinder {
    state: RwLock<Arc<PythonResourcesState>>,
    /// `sys.flags.optimize` when the finder was created: which bytecode to use.
    optimize: u8,
    runtime: Runtime,
    /// Modules executed so far, counted until verification ahead of use
    /// starts.
    executed: AtomicUsize,
    /// After how many executed modules to start verifying ahead
    /// ([`PythonResourcesState::verify_ahead`]); `None`: never.
    verify_ahead_after: Option<usize>,
}

impl OxidizedFinder {
    /// A finder over `state`, whose built-in and frozen names are filled in
    /// from the running interpreter. Put it on `sys.meta_path` (with
    /// `Bound::new`) to use it.
    pub fn new(py: Python<'_>, mut state: PythonResourcesState) -> PyResult<Self> {
        let runtime = Runtime::load(py)?;
        let sys = py.import("sys")?;
        let builtin: Vec<String> = sys.getattr("builtin_module_names")?.extract()?;
        state.set_builtin_modules(builtin);
        let names: Vec<String> = state
            .entries()
            .filter(|(_, entry)| entry.is_module())
            .map(|(name, _)| name.to_owned())
            .collect();
        state.add_frozen_modules(frozen_among(py, &runtime, names)?);
        let optimize: i64 = sys.getattr("flags")?.getattr("optimize")?.extract()?;
        let verify_ahead_after = verify_ahead_after().map_err(PyValueError::new_err)?;
        Ok(OxidizedFinder {
            state: RwLock::new(Arc::new(state)),
            optimize: optimize.clamp(0, 2) as u8,
            runtime,
            executed: AtomicUsize::new(0),
            verify_ahead_after,
        })
    }

    /// The current index: the containers and names this finder serves. The
    /// lock is held only to clone the `Arc`.
    pub fn state(&self) -> Arc<PythonResourcesState> {
        Arc::clone(&self.state.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Indexes `container` after the containers already present.
    fn add_container(
        &self,
        py: Python<'_>,
        description: String,
        container: Container<'static>,
    ) -> PyResult<usize> {
        // Ask Python which names are frozen before taking the lock.
        let names: Vec<String> = container
            .summaries()
            .filter(|summary| {
                summary.flags.contains(ResourceFlags::PYTHON_MODULE)
                    || summary.flags.contains(ResourceFlags::EXTENSION_MODULE)
            })
            .map(|summary| summary.name.to_owned())
            .collect();
        let frozen = frozen_among(py, &self.runtime, names)?;
        let mut guard = self.state.write().unwrap_or_else(PoisonError::into_inner);
        let mut state = PythonResourcesState::clone(&guard);
        let added = state.index_container(description, container);
        state.add_frozen_modules(frozen);
        *guard = Arc::new(state);
        Ok(added)
    }
}

/// Appends to `locations` the portions of namespace package `fullname` that
/// the filesystem importer finds, when it is on `sys.meta_path`.
///
/// CPython merges a namespace package's portions from every `sys.path`
/// entry; a packed namespace package found first would otherwise hide the
/// directories on disk. So, with the filesystem importer on, its
/// `__path__` is the packed virtual directory followed by the on-disk
/// portions `PathFinder` reports (computed once, at import; later
/// `sys.path` changes do not recompute it, unlike CPython's
/// `_NamespacePath`). When a regular package of the same name exists on
/// disk, `PathFinder` reports that instead of portions, and nothing joins:
/// the packed namespace package still wins, having been found first.
fn add_filesystem_portions(
    py: Python<'_>,
    runtime: &loading::Runtime,
    fullname: &str,
    path: Option<&Bound<'_, PyAny>>,
    locations: &Bound<'_, PyList>,
) -> PyResult<()> {
    let path_finder = match runtime.path_finder.get() {
        Some(finder) => finder.bind(py).clone(),
        None => {
            let Ok(external) = py.import("_frozen_importlib_external") else {
                return Ok(());
            };
            let finder = external.getattr("PathFinder")?;
            runtime.path_finder.get_or_init(|| finder.clone().unbind());
            finder
        }
    };
    let meta_path = py.import("sys")?.getattr("meta_path")?;
    if !meta_path.contains(&path_finder)? {
        return Ok(());
    }
    let spec = path_finder.call_method1("find_spec", (fullname, path))?;
    if spec.is_none() || !spec.getattr("loader")?.is_none() {
        return Ok(());
    }
    let portions = spec.getattr("submodule_search_locations")?;
    if portions.is_none() {
        return Ok(());
    }
    for portion in portions.try_iter()? {
        let portion = portion?;
        if !locations.contains(&portion)? {
            locations.append(portion)?;
        }
    }
    Ok(())
}

/// The packed name whose code serves `fullname`: `fullname` itself, or,
/// for `pkg.__init__` when only the regular package `pkg` is packed, `pkg`
/// (see [`paths::init_module_package`]).
fn code_name<'n>(state: &PythonResourcesState, fullname: &'n str) -> &'n str {
    if state.get(fullname).is_none()
        && let Some(package) = paths::init_module_package(fullname)
        && state.get(package).is_some_and(|found| {
            found.entry.is_python_module()
                && found.entry.is_package()
                && !found.entry.is_namespace_package()
        })
    {
        return package;
    }
    fullname
}

/// The names among `names` that the interpreter has frozen into itself.
///
/// `_imp.is_frozen` is the authority (it honours `-X frozen_modules` and
/// `PyImport_FrozenModules`), but asking it for each of a standard library's
/// ~1,000 module names costs a quarter of a millisecond at every start.
/// `_imp._frozen_module_names()` (3.11+) lists the candidates (a few dozen),
/// so only names among them are asked; without it, every name is.
fn frozen_among(py: Python<'_>, runtime: &Runtime, names: Vec<String>) -> PyResult<Vec<String>> {
    let is_frozen = runtime.is_frozen.bind(py);
    let candidates: Option<std::collections::HashSet<String>> = py
        .import("_imp")
        .and_then(|imp| imp.call_method0("_frozen_module_names"))
        .and_then(|listed| listed.extract::<Vec<String>>())
        .ok()
        .map(|listed| listed.into_iter().collect());
    let mut frozen = Vec::new();
    for name in names {
        if candidates.as_ref().is_some_and(|c| !c.contains(&name)) {
            continue;
        }
        if is_frozen.call1((name.as_str(),))?.is_truthy()? {
            frozen.push(name);
        }
    }
    Ok(frozen)
}

#[pymethods]
impl OxidizedFinder {
    /// `OxidizedFinder(origin=None)`: an empty finder whose virtual paths are
    /// rooted at `origin` (default: the executable's directory).
    #[new]
    #[pyo3(signature = (origin = None))]
    fn py_new(py: Python<'_>, origin: Option<PathBuf>) -> PyResult<Self> {
        let origin = match origin {
            Some(origin) => origin,
            None => std::env::current_exe()
                .ok()
                .and_then(|exe| exe.parent().map(PathBuf::from))
                .ok_or_else(|| PyOSError::new_err("cannot determine the executable's directory"))?,
        };
        OxidizedFinder::new(py, PythonResourcesState::new(origin))
    }

    /// `importlib.abc.MetaPathFinder.find_spec`: a `ModuleSpec` for a packed
    /// module (loader: this finder), the built-in or frozen spec for a name
    /// the interpreter provides, `None` otherwise.
    #[pyo3(signature = (fullname, path = None, target = None))]
    fn find_spec<'py>(
        slf: &Bound<'py, Self>,
        fullname: &str,
        path: Option<Bound<'py, PyAny>>,
        target: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let py = slf.py();
        let finder = slf.get();
        let state = finder.state();
        let key = code_name(&state, fullname);
        let Some(found) = state.get(key) else {
            return Ok(None);
        };
        let delegate = if state.is_builtin(fullname) {
            Some(&finder.runtime.builtin_importer)
        } else if state.is_frozen(fullname) {
            Some(&finder.runtime.frozen_importer)
        } else {
            None
        };
        if let Some(importer) = delegate {
            let spec = importer
                .bind(py)
                .call_method1("find_spec", (fullname, &path, &target))?;
            if !spec.is_none() {
                return Ok(Some(spec));
            }
        }
        if extension::is_extension_module(&state, fullname) {
            let is_package = found.entry.is_package();
            return extension::find_spec(
                slf.as_any(),
                &finder.runtime,
                &state,
                fullname,
                is_package,
            )
            .map(Some);
        }
        if !found.entry.is_python_module() {
            // A shared library, or an extension module on a platform where
            // they cannot load from memory: let the importers after this one
            // try.
            return Ok(None);
        }
        // `pkg.__init__` runs the package's code but is a plain module.
        let is_package = found.entry.is_package() && key == fullname;
        let origin = loading::module_file(&state, key, &found);
        let kwargs = PyDict::new(py);
        kwargs.set_item("origin", origin.as_deref())?;
        kwargs.set_item("is_package", is_package)?;
        let spec = finder
            .runtime
            .module_spec
            .bind(py)
            .call((fullname, slf), Some(&kwargs))?;
        if origin.is_some() {
            spec.setattr("has_location", true)?;
        }
        if is_package {
            let directory = paths::package_directory(state.origin(), fullname);
            let locations = PyList::new(py, [directory.as_os_str()])?;
            if found.entry.is_namespace_package() {
                add_filesystem_portions(py, &finder.runtime, fullname, path.as_ref(), &locations)?;
            }
            spec.setattr("submodule_search_locations", locations)?;
        }
        Ok(Some(spec))
    }

    /// `importlib.abc.Loader.create_module`: a packed extension module,
    /// loaded from memory; `None` (the default module creation) for a Python
    /// module.
    fn create_module<'py>(&self, spec: &Bound<'py, PyAny>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let name: String = spec.getattr("name")?.extract()?;
        let state = self.state();
        if !extension::is_extension_module(&state, &name) {
            return Ok(None);
        }
        extension::create_module(spec, &self.runtime, &state, &name).map(Some)
    }

    /// `importlib.abc.Loader.exec_module`: runs the module's code in its
    /// namespace.
    fn exec_module(&self, module: &Bound<'_, PyAny>) -> PyResult<()> {
        let py = module.py();
        let spec = module.getattr("__spec__")?;
        let name: String = if spec.is_none() {
            module.getattr("__name__")?.extract()?
        } else {
            spec.getattr("name")?.extract()?
        };
        let state = self.state();
        if extension::is_extension_module(&state, &name) {
            return extension::exec_module(module);
        }
        let name = code_name(&state, &name);
        if let Some(after) = self.verify_ahead_after
            && self.executed.fetch_add(1, Ordering::Relaxed) == after
        {
            state.verify_ahead(loading::bytecode_field(self.optimize));
        }
        let Some(code) = loading::code_object(py, &self.runtime, &state, name, self.optimize)?
        else {
            return Ok(());
        };
        let namespace = module.getattr("__dict__")?;
        self.runtime.exec(py, &code, &namespace)
    }

    /// `importlib.abc.InspectLoader.get_code`: the module's code object
    /// (`None` for a namespace package).
    fn get_code<'py>(
        &self,
        py: Python<'py>,
        fullname: &str,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let state = self.state();
        if extension::is_extension_module(&state, fullname) {
            return Ok(None);
        }
        let fullname = code_name(&state, fullname);
        loading::code_object(py, &self.runtime, &state, fullname, self.optimize)
    }

    /// `importlib.abc.InspectLoader.get_source`: the decoded source, or
    /// `None` when only bytecode was packed.
    fn get_source<'py>(
        &self,
        py: Python<'py>,
        fullname: &str,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        let state = self.state();
        if extension::is_extension_module(&state, fullname) {
            return Ok(None);
        }
        loading::source_text(py, &state, code_name(&state, fullname))
    }

    /// `importlib.abc.InspectLoader.is_package`.
    fn is_package(&self, py: Python<'_>, fullname: &str) -> PyResult<bool> {
        let state = self.state();
        if extension::is_extension_module(&state, fullname) {
            return Ok(state
                .get(fullname)
                .is_some_and(|found| found.entry.is_package()));
        }
        let key = code_name(&state, fullname);
        Ok(loading::python_module(py, &state, key)?.entry.is_package() && key == fullname)
    }

    /// `importlib.abc.ExecutionLoader.get_filename`: the module's virtual
    /// path.
    fn get_filename(&self, py: Python<'_>, fullname: &str) -> PyResult<OsString> {
        let state = self.state();
        if extension::is_extension_module(&state, fullname) {
            let is_package = state
                .get(fullname)
                .is_some_and(|found| found.entry.is_package());
            return extension::filename(py, &state, fullname, is_package);
        }
        let key = code_name(&state, fullname);
        let found = loading::python_module(py, &state, key)?;
        loading::module_file(&state, key, &found).ok_or_else(|| {
            loading::import_error(
                py,
                fullname,
                None,
                format!("'{fullname}' is a namespace package and has no file"),
            )
        })
    }

    /// `importlib.abc.MetaPathFinder.invalidate_caches`: nothing to do, the
    /// index does not change behind the finder's back.
    fn invalidate_caches(&self) {}

    /// `importlib.resources`: an `OxidizedResourceReader` (a
    /// `TraversableResources`) over the packed data of package `fullname`,
    /// `None` if it is not a packed package.
    fn get_resource_reader<'py>(
        slf: &Bound<'py, Self>,
        fullname: &str,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        resources::resource_reader(slf, fullname)
    }

    /// `importlib.metadata.DistributionFinder.find_distributions`: the
    /// packed distributions matching `context.name` (all without one).
    #[pyo3(signature = (context = None))]
    fn find_distributions<'py>(
        slf: &Bound<'py, Self>,
        context: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        resources::find_distributions(slf, context)
    }

    /// `importlib.abc.ResourceLoader.get_data`, for `pkgutil.get_data`: the
    /// bytes of a packed package data file or module source at its virtual
    /// path (`<origin>/pkg/data.txt`); `FileNotFoundError` otherwise.
    fn get_data<'py>(
        slf: &Bound<'py, Self>,
        path: &str,
    ) -> PyResult<Bound<'py, pyo3::types::PyBytes>> {
        resources::get_data(slf, path)
    }

    /// For `pkgutil.iter_modules()`: `(name, ispkg)` for every packed
    /// top-level module, sorted, names prefixed with `prefix`.
    #[pyo3(signature = (prefix = ""))]
    fn iter_modules<'py>(
        &self,
        py: Python<'py>,
        prefix: &str,
    ) -> PyResult<Vec<Bound<'py, PyTuple>>> {
        let state = self.state();
        loading::top_level_modules(py, &state, prefix)
    }

    /// The `sys.path_hooks` hook: an `OxidizedPathEntryFinder` for
    /// `path_hook_base_str` or a packed package's virtual directory below
    /// it, `ImportError` for any other path (so the next hook is tried).
    fn path_hook(
        slf: &Bound<'_, Self>,
        path: &Bound<'_, PyAny>,
    ) -> PyResult<OxidizedPathEntryFinder> {
        OxidizedPathEntryFinder::for_path(slf, path)
    }

    /// Indexes a container held in a bytes-like object (copied) after the
    /// containers already indexed. Returns how many names it added.
    fn index_bytes(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<usize> {
        let bytes: Vec<u8> = pyo3::buffer::PyBuffer::<u8>::get(data)?.to_vec(py)?;
        let description = format!("in-memory container ({} bytes)", bytes.len());
        let container =
            Container::from_owned(bytes).map_err(|error| index_error(&description, error))?;
        self.add_container(py, description, container)
    }

    /// Memory-maps the container file `path` and indexes it after the
    /// containers already indexed. Returns how many names it added.
    fn index_file_memory_mapped(&self, py: Python<'_>, path: PathBuf) -> PyResult<usize> {
        let source = crate::resources::PackedResourcesSource::MemoryMappedPath(path);
        let description = source.description();
        let container =
            Container::open_static(&source).map_err(|error| index_error(&description, error))?;
        self.add_container(py, description, container)
    }

    /// The directory virtual module paths are rooted at: the executable's
    /// directory.
    #[getter]
    fn origin(&self) -> OsString {
        self.state().origin().as_os_str().to_owned()
    }

    /// The path prefix below which packed modules have their virtual paths
    /// (`__file__`, `__path__` entries); the same as `origin`.
    #[getter]
    fn path_hook_base_str(&self) -> OsString {
        self.state().origin().as_os_str().to_owned()
    }

    /// Indexes the interpreter's built-in and frozen module names, so that
    /// `indexed_resources()` lists them too (imports of them are delegated
    /// either way). Calling it again changes nothing.
    fn index_interpreter_builtins(&self, py: Python<'_>) -> PyResult<()> {
        let (builtin, frozen) = indexed::interpreter_names(py)?;
        let mut guard = self.state.write().unwrap_or_else(PoisonError::into_inner);
        let mut state = PythonResourcesState::clone(&guard);
        indexed::record_interpreter_names(&mut state, builtin, frozen);
        *guard = Arc::new(state);
        Ok(())
    }

    /// An `OxidizedResource` for every indexed name, sorted by name; where
    /// several containers hold a name, the earliest wins.
    fn indexed_resources(&self) -> Vec<OxidizedResource> {
        indexed::indexed_resources(&self.state())
    }

    /// A new container (`bytes`, all tier 0) holding every indexed packed
    /// resource; built-in and frozen names no container packs are included
    /// as data-less entries unless ignored.
    #[pyo3(signature = (ignore_builtin = true, ignore_frozen = true))]
    fn serialize_indexed_resources<'py>(
        &self,
        py: Python<'py>,
        ignore_builtin: bool,
        ignore_frozen: bool,
    ) -> PyResult<Bound<'py, pyo3::types::PyBytes>> {
        indexed::serialize_bytes(py, &self.state(), ignore_builtin, ignore_frozen)
    }

    fn __repr__(&self) -> String {
        let state = self.state();
        format!(
            "<OxidizedFinder: {} names from {} container(s)>",
            state.len(),
            state.sources().len()
        )
    }
}

fn index_error(description: &str, error: ContainerError) -> PyErr {
    let message = format!(
        "cannot index packed resources {description}: {}",
        loading::with_causes(&error)
    );
    match error {
        ContainerError::Open { .. } | ContainerError::Map { .. } => PyOSError::new_err(message),
        _ => PyValueError::new_err(message),
    }
}
