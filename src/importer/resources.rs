//! `importlib.resources` and `importlib.metadata` over packed data: the Rust
//! half.
//!
//! The protocol classes (a `TraversableResources` reader, its `Traversable`,
//! a `Distribution` subclass) are written in Python, in `resources.py` and
//! `metadata.py` next to this file: they subclass importlib's own abstract
//! classes, which gives them importlib's default methods and makes
//! `isinstance` checks pass, and they are short and readable in Python. Each
//! file is compiled into the executable with `include_str!` and run once,
//! on first use, into a module of its own (`oxidized_importer._resources`,
//! `oxidized_importer._metadata`, also put in `sys.modules`). Not at
//! install time: the importer is installed before the main initialisation
//! phase, when `importlib.resources.abc` cannot be imported yet, and most
//! programs never ask for resources.
//!
//! Before a module's code runs, this file puts in its namespace the few
//! functions that reach the container (`_package_entries`, `_package_data`,
//! `_subpackages`; `_distribution_dirs`, `_distribution_entries`,
//! `_distribution_data`). They take the finder, read the resource
//! with [`Container::resource`](crate::resources::Container::resource),
//! which verifies its bytes first, and copy what was asked for into a
//! Python object; a damaged container is an `OSError` naming the package or
//! distribution, the container and the digests.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};

use pyo3::exceptions::{PyAttributeError, PyFileNotFoundError, PyOSError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyModule};

use super::OxidizedFinder;
use super::loading::with_causes;
use crate::resources::{DataField, IndexedSource, PythonResourcesState, ResourceFlags};

/// `oxidized_importer._resources`, once compiled.
static RESOURCES_MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
/// `oxidized_importer._metadata`, once compiled.
static METADATA_MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

/// `OxidizedFinder.get_resource_reader(fullname)`: an
/// `OxidizedResourceReader` for a packed package (regular or namespace),
/// `None` for anything else.
pub(crate) fn resource_reader<'py>(
    finder: &Bound<'py, OxidizedFinder>,
    fullname: &str,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    let state = finder.get().state();
    let is_package = state
        .get(fullname)
        .is_some_and(|found| found.entry.is_python_module() && found.entry.is_package());
    if !is_package {
        return Ok(None);
    }
    let module = helper_module(finder.py(), &RESOURCES_MODULE, Helper::Resources)?;
    module
        .getattr("OxidizedResourceReader")?
        .call1((finder, fullname))
        .map(Some)
}

/// `OxidizedFinder.find_distributions(context)`: an iterator of
/// `OxidizedDistribution`s matching `context`.
pub(crate) fn find_distributions<'py>(
    finder: &Bound<'py, OxidizedFinder>,
    context: Option<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let module = helper_module(finder.py(), &METADATA_MODULE, Helper::Metadata)?;
    module
        .getattr("find_distributions")?
        .call1((finder, context))
}

/// `oxidized_importer.__getattr__` (PEP 562): the Python protocol classes
/// `OxidizedResourceReader`, `OxidizedTraversable` and
/// `OxidizedDistribution`, for `isinstance` checks; their module is
/// compiled on first access.
#[pyfunction(name = "__getattr__")]
pub(crate) fn module_getattr<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyAny>> {
    let (cell, helper) = match name {
        "OxidizedResourceReader" | "OxidizedTraversable" => (&RESOURCES_MODULE, Helper::Resources),
        "OxidizedDistribution" => (&METADATA_MODULE, Helper::Metadata),
        _ => {
            return Err(PyAttributeError::new_err(format!(
                "module 'oxidized_importer' has no attribute '{name}'"
            )));
        }
    };
    helper_module(py, cell, helper)?.getattr(name)
}

/// The two Python helper modules.
#[derive(Clone, Copy)]
enum Helper {
    Resources,
    Metadata,
}

impl Helper {
    fn name(self) -> &'static str {
        match self {
            Helper::Resources => "oxidized_importer._resources",
            Helper::Metadata => "oxidized_importer._metadata",
        }
    }

    fn source(self) -> &'static str {
        match self {
            Helper::Resources => include_str!("resources.py"),
            Helper::Metadata => include_str!("metadata.py"),
        }
    }

    fn add_functions(self, module: &Bound<'_, PyModule>) -> PyResult<()> {
        match self {
            Helper::Resources => {
                module.add_function(wrap_pyfunction!(_package_entries, module)?)?;
                module.add_function(wrap_pyfunction!(_package_data, module)?)?;
                module.add_function(wrap_pyfunction!(_subpackages, module)?)?;
            }
            Helper::Metadata => {
                module.add_function(wrap_pyfunction!(_distribution_dirs, module)?)?;
                module.add_function(wrap_pyfunction!(_distribution_entries, module)?)?;
                module.add_function(wrap_pyfunction!(_distribution_data, module)?)?;
            }
        }
        Ok(())
    }
}

/// The helper module, compiled and run the first time it is needed.
fn helper_module<'py>(
    py: Python<'py>,
    cell: &'static PyOnceLock<Py<PyModule>>,
    helper: Helper,
) -> PyResult<Bound<'py, PyModule>> {
    cell.get_or_try_init(py, || {
        let module = PyModule::new(py, helper.name())?;
        helper.add_functions(&module)?;
        // `compile` with the module's name as file name, so tracebacks
        // through the helper say where they are.
        let builtins = py.import("builtins")?;
        let code = builtins.getattr("compile")?.call1((
            helper.source(),
            format!("<{}>", helper.name()),
            "exec",
        ))?;
        builtins.getattr("exec")?.call1((code, module.dict()))?;
        py.import("sys")?
            .getattr("modules")?
            .set_item(helper.name(), &module)?;
        Ok::<_, PyErr>(module.unbind())
    })
    .map(|module| module.bind(py).clone())
}

/// Which map of a resource to read.
#[derive(Clone, Copy)]
enum Files {
    /// `in_memory_package_resources`: package data.
    Package,
    /// `in_memory_distribution_resources`: `.dist-info` files.
    Distribution,
}

type FileMap<'c> = HashMap<Cow<'c, str>, Cow<'c, [u8]>>;

/// The containers whose copy of resource `name` serves its files, in
/// priority order: the one the index chose, or, for a namespace package's
/// data, every container holding a portion of that namespace package (each
/// portion's data is visible, as each portion's directory would be on
/// disk; for a name in several portions, the first wins).
fn holders<'s>(
    state: &'s PythonResourcesState,
    name: &str,
    files: Files,
) -> Vec<&'s IndexedSource> {
    let Some(found) = state.get(name) else {
        return Vec::new();
    };
    if !(matches!(files, Files::Package) && found.entry.is_namespace_package()) {
        return vec![found.source];
    }
    state
        .sources()
        .iter()
        .filter(|source| {
            source
                .container()
                .summary(name)
                .is_some_and(|summary| summary.flags.contains(ResourceFlags::NAMESPACE_PACKAGE))
        })
        .collect()
}

/// Runs `read` over the verified file map of resource `name` in `source`
/// (an empty map if it has none).
fn with_files<T>(
    source: &IndexedSource,
    name: &str,
    files: Files,
    read: impl FnOnce(&FileMap<'_>) -> T,
) -> PyResult<T> {
    let resource = source.container().resource(name).map_err(|error| {
        PyOSError::new_err(format!(
            "cannot read the packed data of '{name}' from packed resources {}: {}",
            source.description(),
            with_causes(&error)
        ))
    })?;
    let map = resource.and_then(|resource| match files {
        Files::Package => resource.in_memory_package_resources,
        Files::Distribution => resource.in_memory_distribution_resources,
    });
    Ok(read(&map.unwrap_or_default()))
}

/// The sorted relative names of the files of resource `name`.
fn file_names(state: &PythonResourcesState, name: &str, files: Files) -> PyResult<Vec<String>> {
    let mut names = BTreeSet::new();
    for source in holders(state, name, files) {
        with_files(source, name, files, |map| {
            names.extend(map.keys().map(|name| name.to_string()))
        })?;
    }
    Ok(names.into_iter().collect())
}

/// The bytes of file `relative` of resource `name`, or `None`.
fn file_bytes<'py>(
    py: Python<'py>,
    state: &PythonResourcesState,
    name: &str,
    files: Files,
    relative: &str,
) -> PyResult<Option<Bound<'py, PyBytes>>> {
    for source in holders(state, name, files) {
        let data = with_files(source, name, files, |map| {
            map.get(relative).map(|data| PyBytes::new(py, data))
        })?;
        if data.is_some() {
            return Ok(data);
        }
    }
    Ok(None)
}

/// The sorted relative names of `package`'s data files.
#[pyfunction]
fn _package_entries(finder: &Bound<'_, OxidizedFinder>, package: &str) -> PyResult<Vec<String>> {
    let state = finder.get().state();
    file_names(&state, package, Files::Package)
}

/// The bytes of `package`'s data file `relative`, or `None`.
#[pyfunction]
fn _package_data<'py>(
    finder: &Bound<'py, OxidizedFinder>,
    package: &str,
    relative: &str,
) -> PyResult<Option<Bound<'py, PyBytes>>> {
    let state = finder.get().state();
    file_bytes(finder.py(), &state, package, Files::Package, relative)
}

/// The last name components of `package`'s packed child packages, sorted.
#[pyfunction]
fn _subpackages(finder: &Bound<'_, OxidizedFinder>, package: &str) -> Vec<String> {
    let state = finder.get().state();
    let prefix = format!("{package}.");
    state
        .children(Some(package))
        .filter(|(_, entry)| entry.is_python_module() && entry.is_package())
        .filter_map(|(name, _)| name.strip_prefix(&prefix))
        .map(str::to_owned)
        .collect()
}

/// `OxidizedFinder.get_data(path)` (`importlib.abc.ResourceLoader`, what
/// `pkgutil.get_data` calls): the bytes of the file at virtual path `path`.
///
/// `<origin>/a/b/rest` is data file `rest` of the longest packed package
/// `a.b` whose data has it; failing that, `<origin>/a/b.py` and
/// `<origin>/a/__init__.py` are the packed source of `a.b` and `a`. The
/// path is read textually: an empty, `.` or `..` component, or a path not
/// below the origin, is no packed file. Anything not found is a
/// `FileNotFoundError` with `filename` set.
pub(crate) fn get_data<'py>(
    finder: &Bound<'py, OxidizedFinder>,
    path: &str,
) -> PyResult<Bound<'py, PyBytes>> {
    let py = finder.py();
    let state = finder.get().state();
    let not_found = |why: &str| {
        PyFileNotFoundError::new_err((
            2,
            format!("no packed file {path:?}: {why}"),
            path.to_owned(),
        ))
    };
    let base = state
        .origin()
        .to_str()
        .ok_or_else(|| not_found("the origin is not valid UTF-8"))?;
    let base = base
        .strip_suffix('/')
        .filter(|b| !b.is_empty())
        .unwrap_or(base);
    let relative = path
        .strip_prefix(base)
        .and_then(|rest| rest.strip_prefix('/'))
        .ok_or_else(|| not_found("not below the packed resources' origin"))?;
    let parts: Vec<&str> = relative.split('/').collect();
    if parts
        .iter()
        .any(|part| matches!(*part, "" | "." | "..") || part.contains('\0'))
    {
        return Err(not_found("an empty, '.' or '..' component"));
    }
    // Package prefixes, longest first: every component but the last, up to
    // the first that cannot be part of a module name.
    let dotted = parts[..parts.len() - 1]
        .iter()
        .take_while(|part| !part.contains('.'))
        .count();
    for split in (1..=dotted).rev() {
        let package = parts[..split].join(".");
        let is_package = state
            .get(&package)
            .is_some_and(|found| found.entry.is_python_module() && found.entry.is_package());
        if !is_package {
            continue;
        }
        let data = file_bytes(
            py,
            &state,
            &package,
            Files::Package,
            &parts[split..].join("/"),
        )?;
        if let Some(data) = data {
            return Ok(data);
        }
    }
    let module = match parts.split_last() {
        // A directory component with a '.' is no package.
        _ if dotted + 1 != parts.len() => None,
        Some((&"__init__.py", package)) if !package.is_empty() => Some(package.join(".")),
        Some((last, package)) => last
            .strip_suffix(".py")
            .filter(|stem| !stem.is_empty() && !stem.contains('.'))
            .map(|stem| {
                let mut names = package.to_vec();
                names.push(stem);
                names.join(".")
            }),
        None => None,
    };
    if let Some(module) = module {
        let source = state.data(&module, DataField::Source).map_err(|error| {
            PyOSError::new_err(format!(
                "cannot read the packed source of '{module}': {}",
                with_causes(&error)
            ))
        })?;
        if let Some(source) = source {
            return Ok(PyBytes::new(py, source));
        }
    }
    Err(not_found("no packed package data or module source there"))
}

/// Whether resource `name` is a distribution's metadata directory.
pub(crate) fn is_distribution_dir(name: &str) -> bool {
    name.ends_with(".dist-info") || name.ends_with(".egg-info")
}

/// The sorted names of the packed metadata directories.
#[pyfunction]
fn _distribution_dirs(finder: &Bound<'_, OxidizedFinder>) -> Vec<String> {
    let state = finder.get().state();
    state
        .entries()
        .filter(|(name, entry)| !entry.is_module() && is_distribution_dir(name))
        .map(|(name, _)| name.to_owned())
        .collect()
}

/// The sorted relative names of the files of metadata directory `directory`.
#[pyfunction]
fn _distribution_entries(
    finder: &Bound<'_, OxidizedFinder>,
    directory: &str,
) -> PyResult<Vec<String>> {
    let state = finder.get().state();
    file_names(&state, directory, Files::Distribution)
}

/// The bytes of file `relative` of metadata directory `directory`, or `None`.
#[pyfunction]
fn _distribution_data<'py>(
    finder: &Bound<'py, OxidizedFinder>,
    directory: &str,
    relative: &str,
) -> PyResult<Option<Bound<'py, PyBytes>>> {
    let state = finder.get().state();
    file_bytes(
        finder.py(),
        &state,
        directory,
        Files::Distribution,
        relative,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_directories_are_recognised_by_suffix() {
        assert!(is_distribution_dir("six-1.16.0.dist-info"));
        assert!(is_distribution_dir("wheel-0.38.4.egg-info"));
        assert!(!is_distribution_dir("six"));
        assert!(!is_distribution_dir("dist-info"));
    }

    #[test]
    fn the_python_helpers_use_the_functions_they_are_given() {
        for name in ["_package_entries", "_package_data", "_subpackages"] {
            assert!(Helper::Resources.source().contains(name), "{name}");
        }
        for name in [
            "_distribution_dirs",
            "_distribution_entries",
            "_distribution_data",
        ] {
            assert!(Helper::Metadata.source().contains(name), "{name}");
        }
    }
}
