//! Extension modules loaded from memory.
//!
//! A packed extension module is a shared object in a container. It is
//! loaded without ever being written to a file: its verified bytes go into
//! an anonymous memory file (`memfd_create`, see [`memfd`]), and CPython's
//! own `_imp.create_dynamic` loads that through its `/proc/self/fd/<N>`
//! path. Going through CPython's loader, rather than calling `dlopen` and
//! `PyInit_<name>` here, keeps every detail of the initialisation protocol
//! CPython's: single-phase init (and its per-interpreter cache), multi-phase
//! init (PEP 489: `create_module` makes the module, `exec_module` runs
//! `_imp.exec_dynamic`), the `PyInit_<name>` lookup for names with non-ASCII
//! characters (PEP 489 punycode), `sys.getdlopenflags()`, and the error
//! messages.
//!
//! The spec `find_spec` returns has the module's stable virtual path as its
//! `origin`: `<origin>/<pkg>/<name><suffix>`, or `<origin>/<pkg>/__init__<suffix>`
//! for an extension package, where `<suffix>` is the interpreter's first
//! extension suffix (`.cpython-311-x86_64-linux-gnu.so`), whatever suffix the
//! packed file had. `create_module` hands CPython a copy of the spec whose
//! origin is the memory file's path, then sets `__file__` back to the virtual
//! path (single-phase init sets it to the path it loaded from).
//!
//! # Shared libraries
//!
//! A packed extension module may need shared libraries packed next to it
//! (auditwheel's `<dist>.libs/` directories, found at run time through an
//! `$ORIGIN`-relative RPATH that means nothing for a memory file). Before the
//! extension module is loaded, its `DT_NEEDED` entries ([`elf`]) are looked
//! up among the packed shared libraries by file name; each one found is
//! loaded (its own packed dependencies first) from a memory file of its own
//! with `RTLD_NOW | RTLD_GLOBAL`. When the extension module is then loaded,
//! glibc's dynamic linker finds the library among the loaded objects by its
//! `DT_SONAME` and searches no directory. That needs the packed file's name
//! to be its soname, which auditwheel guarantees (it renames the library
//! and sets the soname to the new name); a packed library matching a need
//! by file name but carrying another soname would load without satisfying
//! the need, so it is an `ImportError` saying so instead. A need no packed
//! file name matches is left to the dynamic linker's usual search (the
//! system's libraries), whose failure is "cannot open shared object file".
//!
//! # Files relative to the executable
//!
//! A resource may instead name its shared library by a path relative to
//! the executable's directory (the state's origin) — the
//! `relative_path_extension_module_shared_library` field of the
//! python-packed-resources format, PyOxidizer's "filesystem-relative"
//! location. When it holds no library in memory but has such a path,
//! `find_spec` gives the real file as `origin` and `__file__`, and
//! `create_module` loads that file with `_imp.create_dynamic` (its own
//! `$ORIGIN` RPATH then works as usual). The path must be a plain relative
//! path (no `..`, not absolute); a missing file, or a resource with
//! neither a library nor a path, is an `ImportError` saying which.
//!
//! Only Linux has `memfd_create`; elsewhere `find_spec` returns `None` for
//! packed extension modules and the importers after this one carry on.

mod elf;
#[cfg(target_os = "linux")]
mod memfd;

use std::ffi::OsString;

use pyo3::prelude::*;

use super::loading::Runtime;
use super::paths;
use crate::resources::PythonResourcesState;
#[cfg(target_os = "linux")]
use crate::resources::{DataField, Found, ResourceFlags};

/// Whether `name` is a packed extension module the finder loads.
pub(crate) fn is_extension_module(state: &PythonResourcesState, name: &str) -> bool {
    cfg!(target_os = "linux")
        && state
            .get(name)
            .is_some_and(|found| found.entry.is_extension_module())
}

/// The stable virtual path of extension module `name`:
/// `<origin>/a/b<suffix>`, or `<origin>/a/b/__init__<suffix>` for a package.
pub(crate) fn module_file(
    state: &PythonResourcesState,
    name: &str,
    is_package: bool,
    suffix: &str,
) -> OsString {
    let mut path = paths::package_directory(state.origin(), name);
    if is_package {
        path.push("__init__");
    }
    let mut path = path.into_os_string();
    path.push(suffix);
    path
}

/// CPython's extension-module machinery, looked up once.
struct Imp {
    /// `_imp.create_dynamic`.
    create_dynamic: Py<PyAny>,
    /// `_imp.exec_dynamic`.
    exec_dynamic: Py<PyAny>,
    /// `_imp.extension_suffixes()[0]`: `.cpython-311-x86_64-linux-gnu.so`.
    suffix: String,
}

fn imp(py: Python<'_>) -> PyResult<&'static Imp> {
    static IMP: pyo3::sync::PyOnceLock<Imp> = pyo3::sync::PyOnceLock::new();
    IMP.get_or_try_init(py, || {
        let imp = py.import("_imp")?;
        let suffixes = imp.call_method0("extension_suffixes")?;
        Ok(Imp {
            create_dynamic: imp.getattr("create_dynamic")?.unbind(),
            exec_dynamic: imp.getattr("exec_dynamic")?.unbind(),
            suffix: suffixes.get_item(0)?.extract()?,
        })
    })
}

/// The `__file__` of packed extension module `name`: the file relative to
/// the executable when its library is there (see the module docs), else
/// the virtual path.
pub(crate) fn filename(
    py: Python<'_>,
    state: &PythonResourcesState,
    name: &str,
    is_package: bool,
) -> PyResult<OsString> {
    #[cfg(target_os = "linux")]
    if let Some(found) = state.get(name) {
        if let Library::File(path) = library(py, name, &found, state)? {
            return Ok(path.into_os_string());
        }
    }
    Ok(module_file(state, name, is_package, &imp(py)?.suffix))
}

/// Where a packed extension module's shared library is.
#[cfg(target_os = "linux")]
enum Library<'s> {
    /// In the container: its verified bytes.
    Memory(&'s [u8]),
    /// A file at this path, relative to the executable's directory.
    File(std::path::PathBuf),
}

/// Finds `name`'s shared library: in memory, or (when the resource holds
/// none) at its path relative to the executable's directory. An
/// `ImportError` when the bytes are damaged, the resource has neither, the
/// path is not a plain relative path or the file does not exist.
#[cfg(target_os = "linux")]
fn library<'s>(
    py: Python<'_>,
    name: &str,
    found: &Found<'s>,
    state: &PythonResourcesState,
) -> PyResult<Library<'s>> {
    use std::path::Component;

    use super::loading::{damaged, import_error};

    let description = found.source.description();
    let container = found.source.container();
    let bytes = container
        .data(name, DataField::ExtensionModule)
        .map_err(|error| damaged(py, name, found, "reading its shared library", &error))?;
    if let Some(bytes) = bytes {
        return Ok(Library::Memory(bytes));
    }
    let relative = container
        .resource(name)
        .map_err(|error| damaged(py, name, found, "reading its resource entry", &error))?
        .and_then(|resource| resource.relative_path_extension_module_shared_library)
        .map(std::borrow::Cow::into_owned);
    let Some(relative) = relative else {
        return Err(import_error(
            py,
            name,
            Some(description),
            format!(
                "packed resources {description} list '{name}' as an extension module but hold \
                 neither its shared library nor a path to it relative to the executable; hint: \
                 repack it"
            ),
        ));
    };
    if relative.as_os_str().is_empty()
        || !relative
            .components()
            .all(|component| matches!(component, Component::Normal(_) | Component::CurDir))
    {
        return Err(import_error(
            py,
            name,
            Some(description),
            format!(
                "packed resources {description} place extension module '{name}' at {}, which \
                 is not a plain relative path (absolute, or with '..'); hint: repack it",
                relative.display()
            ),
        ));
    }
    let path = state.origin().join(&relative);
    if !path.is_file() {
        return Err(import_error(
            py,
            name,
            Some(description),
            format!(
                "cannot load extension module '{name}': packed resources {description} place it \
                 at {} relative to the executable's directory, and {} does not exist; hint: \
                 install the file there, or pack the module in memory",
                relative.display(),
                path.display()
            ),
        ));
    }
    Ok(Library::File(path))
}

/// `find_spec` for a packed extension module: a `ModuleSpec` with `loader`
/// the finder, `origin` the virtual path, `has_location` true, and for an
/// extension package `submodule_search_locations`.
pub(crate) fn find_spec<'py>(
    loader: &Bound<'py, PyAny>,
    runtime: &Runtime,
    state: &PythonResourcesState,
    name: &str,
    is_package: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let py = loader.py();
    let origin = filename(py, state, name, is_package)?;
    let kwargs = pyo3::types::PyDict::new(py);
    kwargs.set_item("origin", &origin)?;
    kwargs.set_item("is_package", is_package)?;
    let spec = runtime
        .module_spec
        .bind(py)
        .call((name, loader), Some(&kwargs))?;
    spec.setattr("has_location", true)?;
    if is_package {
        let directory = paths::package_directory(state.origin(), name);
        spec.setattr(
            "submodule_search_locations",
            pyo3::types::PyList::new(py, [directory.as_os_str()])?,
        )?;
    }
    Ok(spec)
}

/// `create_module` for a packed extension module: loads it from a memory
/// file through `_imp.create_dynamic` and returns the module.
#[cfg(target_os = "linux")]
pub(crate) fn create_module<'py>(
    spec: &Bound<'py, PyAny>,
    runtime: &Runtime,
    state: &PythonResourcesState,
    name: &str,
) -> PyResult<Bound<'py, PyAny>> {
    use super::loading::import_error;

    let py = spec.py();
    let imp = imp(py)?;
    let found = state
        .get(name)
        .filter(|found| found.entry.is_extension_module())
        .ok_or_else(|| {
            import_error(
                py,
                name,
                None,
                format!("'{name}' is not an extension module in the packed resources"),
            )
        })?;
    let description = found.source.description();
    let bytes = match library(py, name, &found, state)? {
        Library::Memory(bytes) => bytes,
        Library::File(path) => return load_file(spec, runtime, imp, name, description, &path),
    };
    let virtual_path = module_file(state, name, found.entry.is_package(), &imp.suffix);
    load_dependencies(py, state, name, &found, bytes)?;
    // The memory file's name, shown in /proc/self/maps: `pkg.mod.cpython-311-....so`.
    let label = if found.entry.is_package() {
        format!("{name}.__init__{}", imp.suffix)
    } else {
        format!("{name}{}", imp.suffix)
    };
    let memory_path = memfd::extension_file(
        name,
        found.source.container().content_digest().0,
        &label,
        bytes,
    )
    .map_err(|error| {
        import_error(
            py,
            name,
            Some(description),
            format!(
                "cannot load extension module '{name}' from packed resources {description}: \
                 cannot create a memory file (memfd_create) for it: {error}; hint: loading \
                 extension modules from memory needs Linux 3.17 or later and executable \
                 memory files (sysctl vm.memfd_noexec below 2)"
            ),
        )
    })?;

    // CPython loads from the spec's origin; give it a copy pointing at the
    // memory file, so the real spec keeps the virtual path.
    let kwargs = pyo3::types::PyDict::new(py);
    kwargs.set_item("origin", &memory_path)?;
    kwargs.set_item("is_package", found.entry.is_package())?;
    let loader = spec.getattr("loader")?;
    let loading_spec = runtime
        .module_spec
        .bind(py)
        .call((name, loader), Some(&kwargs))?;
    loading_spec.setattr(
        "submodule_search_locations",
        spec.getattr("submodule_search_locations")?,
    )?;
    let module = imp
        .create_dynamic
        .bind(py)
        .call1((&loading_spec,))
        .map_err(|cause| {
            let reason = cause.value(py).to_string();
            let hint = if reason.contains("failed to map segment") {
                "hint: the system refuses to execute code from memory files (sysctl \
                 vm.memfd_noexec, or a security module); allow it, or install the module \
                 on disk and turn the filesystem importer on"
                    .to_owned()
            } else {
                format!(
                    "hint: the packed file must be a shared object built for this interpreter \
                     ({}), and the libraries it needs must be installed or packed (a packed \
                     library is found by its file name, which must be its soname)",
                    imp.suffix.trim_start_matches('.').trim_end_matches(".so")
                )
            };
            let error = import_error(
                py,
                name,
                Some(description),
                format!(
                    "cannot load extension module '{name}' from packed resources {description} \
                     (memory file {memory_path}): {reason}; {hint}"
                ),
            );
            error.set_cause(py, Some(cause));
            error
        })?;
    if module.is_instance_of::<pyo3::types::PyModule>() {
        module.setattr("__file__", &virtual_path)?;
    }
    Ok(module)
}

/// `create_module` for an extension module whose library is the file
/// `path` relative to the executable: CPython's own loading from disk.
#[cfg(target_os = "linux")]
fn load_file<'py>(
    spec: &Bound<'py, PyAny>,
    runtime: &Runtime,
    imp: &Imp,
    name: &str,
    description: &str,
    path: &std::path::Path,
) -> PyResult<Bound<'py, PyAny>> {
    let py = spec.py();
    let kwargs = pyo3::types::PyDict::new(py);
    kwargs.set_item("origin", path.as_os_str())?;
    kwargs.set_item(
        "is_package",
        !spec.getattr("submodule_search_locations")?.is_none(),
    )?;
    let loading_spec = runtime
        .module_spec
        .bind(py)
        .call((name, spec.getattr("loader")?), Some(&kwargs))?;
    loading_spec.setattr(
        "submodule_search_locations",
        spec.getattr("submodule_search_locations")?,
    )?;
    imp.create_dynamic
        .bind(py)
        .call1((&loading_spec,))
        .map_err(|cause| {
            let error = super::loading::import_error(
                py,
                name,
                Some(description),
                format!(
                    "cannot load extension module '{name}' from {} (placed there by packed \
                     resources {description}): {}",
                    path.display(),
                    cause.value(py)
                ),
            );
            error.set_cause(py, Some(cause));
            error
        })
}

/// `create_module` where extension modules cannot load from memory: never
/// reached, since [`is_extension_module`] is false there.
#[cfg(not(target_os = "linux"))]
pub(crate) fn create_module<'py>(
    spec: &Bound<'py, PyAny>,
    _runtime: &Runtime,
    _state: &PythonResourcesState,
    name: &str,
) -> PyResult<Bound<'py, PyAny>> {
    Err(super::loading::import_error(
        spec.py(),
        name,
        None,
        format!("cannot load extension module '{name}' from memory on this platform"),
    ))
}

/// Loads the packed shared libraries extension module `name` needs, each
/// after the packed libraries it needs itself.
#[cfg(target_os = "linux")]
fn load_dependencies(
    py: Python<'_>,
    state: &PythonResourcesState,
    name: &str,
    found: &Found<'_>,
    bytes: &[u8],
) -> PyResult<()> {
    use std::collections::{BTreeMap, BTreeSet};

    use super::loading::import_error;

    // File name → resource name of every packed shared library; the first
    // in name order wins when two directories hold the same file name.
    let mut libraries: BTreeMap<&str, &str> = BTreeMap::new();
    for (resource, entry) in state.entries() {
        if entry.flags.contains(ResourceFlags::SHARED_LIBRARY) {
            libraries.entry(file_name(resource)).or_insert(resource);
        }
    }
    if libraries.is_empty() {
        return Ok(());
    }
    let fail = |message: String| {
        let description = found.source.description();
        import_error(
            py,
            name,
            Some(description),
            format!(
                "cannot load extension module '{name}' from packed resources {description}: \
                 {message}"
            ),
        )
    };
    // Depth first: a library is loaded when the second visit finds its
    // dependencies done.
    let mut seen = BTreeSet::new();
    let mut stack: Vec<(&str, &[u8], bool)> = Vec::new();
    let mut roots = packed_needs(state, &libraries, bytes, &mut seen).map_err(&fail)?;
    roots.reverse();
    stack.extend(
        roots
            .into_iter()
            .map(|(resource, bytes)| (resource, bytes, false)),
    );
    while let Some((resource, object, expanded)) = stack.pop() {
        if !expanded {
            stack.push((resource, object, true));
            let mut needs = packed_needs(state, &libraries, object, &mut seen).map_err(&fail)?;
            needs.reverse();
            stack.extend(
                needs
                    .into_iter()
                    .map(|(resource, bytes)| (resource, bytes, false)),
            );
            continue;
        }
        let container = state
            .get(resource)
            .map(|found| found.source.container().content_digest().0)
            .unwrap_or_default();
        memfd::load_library(resource, container, file_name(resource), object).map_err(|error| {
            fail(format!(
                "loading the packed shared library '{resource}' it needs failed: {}; hint: the \
                 library must be a shared object for this platform, and the libraries it needs \
                 must be installed or packed",
                super::loading::with_causes(&error)
            ))
        })?;
    }
    Ok(())
}

/// The packed shared libraries (resource name, verified bytes) among the
/// `DT_NEEDED` entries of `object` not yet in `seen`, in `DT_NEEDED` order.
#[cfg(target_os = "linux")]
fn packed_needs<'s>(
    state: &'s PythonResourcesState,
    libraries: &std::collections::BTreeMap<&str, &'s str>,
    object: &[u8],
    seen: &mut std::collections::BTreeSet<&'s str>,
) -> Result<Vec<(&'s str, &'s [u8])>, String> {
    let Some(dynamic) = elf::dynamic(object) else {
        return Ok(Vec::new());
    };
    let mut needs = Vec::new();
    for needed in dynamic.needed {
        let Some(&resource) = libraries.get(needed) else {
            continue;
        };
        if !seen.insert(resource) {
            continue;
        }
        let bytes = state
            .data(resource, DataField::SharedLibrary)
            .map_err(|error| {
                format!(
                    "reading the shared library '{resource}' it needs: {}",
                    super::loading::with_causes(&error)
                )
            })?
            .ok_or_else(|| {
                format!(
                    "the packed shared library '{resource}' it needs has no data; hint: repack it"
                )
            })?;
        // The dynamic linker matches a loaded library to a need by soname:
        // a library whose soname differs would load and still not count.
        if let Some(soname) = elf::dynamic(bytes).and_then(|library| library.soname)
            && soname != needed
        {
            return Err(format!(
                "the packed shared library '{resource}' it needs as '{needed}' has the soname \
                 '{soname}', so the dynamic linker would not use it; hint: pack the library \
                 under its soname (`auditwheel repair` renames it and sets a matching soname)"
            ));
        }
        needs.push((resource, bytes));
    }
    Ok(needs)
}

/// The file name of a shared library resource (`foo.libs/libbar.so.1` →
/// `libbar.so.1`).
fn file_name(resource: &str) -> &str {
    resource.rsplit_once('/').map_or(resource, |(_, file)| file)
}

/// `exec_module` for an extension module: runs its multi-phase `Py_mod_exec`
/// slots (nothing for single-phase init).
pub(crate) fn exec_module(module: &Bound<'_, PyAny>) -> PyResult<()> {
    let imp = imp(module.py())?;
    imp.exec_dynamic
        .bind(module.py())
        .call1((module,))
        .map(drop)
}
