//! `OxidizedFinder.indexed_resources()`, `serialize_indexed_resources()` and
//! `index_interpreter_builtins()`: listing and re-packing what a finder has
//! indexed.
//!
//! A packed name is reported with its container flags; a name the
//! interpreter provides itself (built in, or frozen) is additionally flagged
//! `is_builtin_extension_module`/`is_frozen_module`, because the finder
//! delegates it. Names the interpreter provides that no container packs are
//! listed only after `index_interpreter_builtins()` was called; they carry no
//! data. Where several containers hold a name, the earliest one wins, as for
//! imports.

use std::borrow::Cow;
use std::collections::BTreeMap;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use python_packed_resources::Resource;

use crate::resources::{ContainerWriter, PythonResourcesState, ResourceFlags, Tier, WriteOptions};

/// One name a finder has indexed, as returned by
/// `OxidizedFinder.indexed_resources()`. Read-only.
#[pyclass(frozen, module = "oxidized_importer")]
#[derive(Clone, Debug)]
pub struct OxidizedResource {
    /// The resource's name (`pkg.mod` for a module).
    #[pyo3(get)]
    name: String,
    /// Importable: a Python module or package, an extension module, or a
    /// built-in or frozen module.
    #[pyo3(get)]
    is_module: bool,
    /// The interpreter has it built in (`sys.builtin_module_names`).
    #[pyo3(get)]
    is_builtin_extension_module: bool,
    /// The interpreter has it frozen into itself.
    #[pyo3(get)]
    is_frozen_module: bool,
    /// A packed Python module or package.
    #[pyo3(get)]
    is_python_module: bool,
    /// A packed extension module.
    #[pyo3(get)]
    is_extension_module: bool,
    /// A packed shared library.
    #[pyo3(get)]
    is_shared_library: bool,
    /// A package, regular or namespace.
    #[pyo3(get)]
    is_package: bool,
    /// A namespace package.
    #[pyo3(get)]
    is_namespace_package: bool,
    /// The tier its data is stored in (0 or 1); `None` if it is not packed.
    #[pyo3(get)]
    tier: Option<u8>,
    /// The description of the container it comes from; `None` if it is not
    /// packed.
    #[pyo3(get)]
    container: Option<String>,
}

#[pymethods]
impl OxidizedResource {
    fn __repr__(&self) -> String {
        format!("<OxidizedResource name={:?}>", self.name)
    }
}

impl OxidizedResource {
    /// An entry for a name only the interpreter provides.
    fn interpreter(name: &str) -> OxidizedResource {
        OxidizedResource {
            name: name.to_owned(),
            is_module: true,
            is_builtin_extension_module: false,
            is_frozen_module: false,
            is_python_module: false,
            is_extension_module: false,
            is_shared_library: false,
            is_package: false,
            is_namespace_package: false,
            tier: None,
            container: None,
        }
    }

    /// Whether it is packed (has a container), as opposed to provided by the
    /// interpreter only.
    fn is_packed(&self) -> bool {
        self.container.is_some()
    }
}

/// The interpreter's built-in module names and, where the interpreter can
/// list them (`_imp._frozen_module_names`, CPython 3.11+), its frozen ones.
pub(super) fn interpreter_names(py: Python<'_>) -> PyResult<(Vec<String>, Vec<String>)> {
    let builtin: Vec<String> = py
        .import("sys")?
        .getattr("builtin_module_names")?
        .extract()?;
    let imp = py.import("_imp")?;
    let frozen: Vec<String> = match imp.getattr("_frozen_module_names") {
        Ok(list) => list.call0()?.extract()?,
        Err(_) => Vec::new(),
    };
    Ok((builtin, frozen))
}

/// Records `builtin` and `frozen` in `state` and marks the interpreter's
/// names as indexed. Idempotent.
pub(super) fn record_interpreter_names(
    state: &mut PythonResourcesState,
    builtin: Vec<String>,
    frozen: Vec<String>,
) {
    state.set_builtin_modules(builtin);
    state.add_frozen_modules(frozen);
    state.mark_interpreter_names_indexed();
}

/// Every indexed name, sorted.
pub(super) fn indexed_resources(state: &PythonResourcesState) -> Vec<OxidizedResource> {
    let mut all: BTreeMap<&str, OxidizedResource> = BTreeMap::new();
    for (name, entry) in state.entries() {
        let flags = entry.flags;
        let description = state
            .sources()
            .get(entry.source)
            .map(|source| source.description().to_owned());
        let resource = OxidizedResource {
            name: name.to_owned(),
            is_module: entry.is_module()
                || flags.contains(ResourceFlags::BUILTIN_EXTENSION_MODULE)
                || flags.contains(ResourceFlags::FROZEN_MODULE),
            is_builtin_extension_module: flags.contains(ResourceFlags::BUILTIN_EXTENSION_MODULE)
                || state.is_builtin(name),
            is_frozen_module: flags.contains(ResourceFlags::FROZEN_MODULE) || state.is_frozen(name),
            is_python_module: entry.is_python_module(),
            is_extension_module: entry.is_extension_module(),
            is_shared_library: flags.contains(ResourceFlags::SHARED_LIBRARY),
            is_package: entry.is_package(),
            is_namespace_package: entry.is_namespace_package(),
            tier: Some(entry.tier.number()),
            container: Some(description.unwrap_or_default()),
        };
        all.insert(name, resource);
    }
    if state.interpreter_names_indexed() {
        for name in state.builtin_modules() {
            all.entry(name)
                .or_insert_with(|| OxidizedResource::interpreter(name))
                .is_builtin_extension_module = true;
        }
        for name in state.frozen_modules() {
            all.entry(name)
                .or_insert_with(|| OxidizedResource::interpreter(name))
                .is_frozen_module = true;
        }
    }
    all.into_values().collect()
}

/// A new container (all tier 0) holding every indexed packed resource, its
/// bytes verified and copied, plus, unless ignored, a data-less entry for
/// each built-in or frozen name no container packs.
pub(super) fn serialize(
    state: &PythonResourcesState,
    ignore_builtin: bool,
    ignore_frozen: bool,
) -> PyResult<Vec<u8>> {
    let failed = |error: &dyn std::fmt::Display| {
        PyValueError::new_err(format!("cannot serialize indexed resources: {error}"))
    };
    let mut writer = ContainerWriter::new(WriteOptions::default());
    for listed in indexed_resources(state) {
        if listed.is_packed() {
            let Some(found) = state.get(&listed.name) else {
                continue;
            };
            let resource = found
                .source
                .container()
                .resource(&listed.name)
                .map_err(|error| failed(&error))?
                .ok_or_else(|| failed(&format!("'{}' vanished from its container", listed.name)))?;
            writer
                .add(resource, Tier::Raw)
                .map_err(|error| failed(&error))?;
            continue;
        }
        let builtin = listed.is_builtin_extension_module && !ignore_builtin;
        let frozen = listed.is_frozen_module && !ignore_frozen;
        if !builtin && !frozen {
            continue;
        }
        let resource = Resource {
            name: Cow::Owned(listed.name.clone()),
            is_python_builtin_extension_module: builtin,
            is_python_frozen_module: frozen,
            ..Resource::default()
        };
        writer
            .add(resource, Tier::Raw)
            .map_err(|error| failed(&error))?;
    }
    writer.write().map_err(|error| failed(&error))
}

/// `serialize` as Python `bytes`.
pub(super) fn serialize_bytes<'py>(
    py: Python<'py>,
    state: &PythonResourcesState,
    ignore_builtin: bool,
    ignore_frozen: bool,
) -> PyResult<Bound<'py, PyBytes>> {
    let bytes = serialize(state, ignore_builtin, ignore_frozen)?;
    Ok(PyBytes::new(py, &bytes))
}
