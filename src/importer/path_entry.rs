//! [`OxidizedPathEntryFinder`]: packed packages as `sys.path` entries.
//!
//! importlib has two kinds of finders. [`OxidizedFinder`] is a *meta path*
//! finder: it answers for full module names. `pkgutil` (and `PathFinder`)
//! instead walk *path entries* — the strings in `sys.path` and in a
//! package's `__path__` — and ask each hook in `sys.path_hooks` for a
//! *path-entry finder* for it. A packed package's `__path__` is a virtual
//! directory (`[<origin>/pkg]`, see [`super::paths`]), so without a hook
//! that understands those directories `pkgutil.iter_modules(pkg.__path__)`
//! finds nothing.
//!
//! `OxidizedFinder.path_hook(path)` is that hook. It accepts exactly:
//!
//! | path | path-entry finder for |
//! |---|---|
//! | `<origin>` | the packed top-level modules |
//! | `<origin>/pkg/sub` | the modules directly inside packed package `pkg.sub` |
//!
//! and raises `ImportError` for everything else, so the hooks after it get
//! their chance. Validation is textual and strict: the path must be a `str`
//! without NUL, start with `<origin>` followed by `/` (or be `<origin>`,
//! optionally with one trailing `/`), and every component after the origin
//! must be non-empty, not `.` or `..`, contain no `.`, and name, joined with
//! dots, a packed package (regular or namespace). A packed *module*
//! (`<origin>/greet`, `<origin>/greet.py`) is not a directory and is
//! refused.
//!
//! `<origin>` is the executable's directory, which is a real directory: a
//! script next to the executable may import its neighbours from it. So when
//! the path exists on disk, the hook also asks the hooks after it (normally
//! `FileFinder`) for a finder and keeps it as a fallback: packed modules
//! come first, files on disk still import, and `iter_modules` lists both.

use pyo3::exceptions::PyImportError;
use pyo3::prelude::*;
use pyo3::types::{PyString, PyTuple};

use super::finder::OxidizedFinder;
use crate::resources::PythonResourcesState;

/// A path-entry finder (PEP 302 / PEP 451) for one packed package's virtual
/// directory, or for the origin itself (the top-level modules).
#[pyclass(frozen, module = "oxidized_importer")]
pub struct OxidizedPathEntryFinder {
    finder: Py<OxidizedFinder>,
    /// The package whose modules this entry holds; `None` for the origin.
    package: Option<String>,
    /// The path this finder was created for, as given.
    path: Py<PyString>,
    /// A finder from the hooks after this one, for a path that exists on disk.
    fallback: Option<Py<PyAny>>,
}

/// Why a path is not a packed path entry; the hook's `ImportError` message.
fn refuse(path: &str, why: &str) -> PyErr {
    PyImportError::new_err(format!(
        "{path:?} is not a packed-resources path entry: {why}"
    ))
}

/// The package named by `path` below `base`: `Ok(None)` for the base
/// itself, `Ok(Some("pkg.sub"))` for `<base>/pkg/sub`. Purely textual; the
/// caller checks the package is packed.
pub(crate) fn package_for_path(base: &str, path: &str) -> Result<Option<String>, &'static str> {
    if path.contains('\0') {
        return Err("it contains a NUL character");
    }
    if !path.starts_with('/') {
        return Err("it is not an absolute path");
    }
    let Some(rest) = path.strip_prefix(base) else {
        return Err("it is not below the packed-resources origin");
    };
    // One trailing separator is tolerated ("<origin>/pkg/").
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.is_empty() {
        return Ok(None);
    }
    let Some(rest) = rest.strip_prefix('/') else {
        return Err("it is not below the packed-resources origin");
    };
    let mut package = String::with_capacity(rest.len());
    for component in rest.split('/') {
        match component {
            "" => return Err("it has an empty path component"),
            "." | ".." => return Err("it has a '.' or '..' component"),
            _ if component.contains('.') => {
                return Err("a component contains '.', so it is not a package directory");
            }
            _ => {}
        }
        if !package.is_empty() {
            package.push('.');
        }
        package.push_str(component);
    }
    Ok(Some(package))
}

/// Whether `name` is directly inside `package` (`None`: top level).
fn directly_inside(package: Option<&str>, name: &str) -> bool {
    match (package, name.rsplit_once('.')) {
        (None, None) => true,
        (Some(package), Some((parent, _))) => parent == package,
        _ => false,
    }
}

/// `(name, ispkg)` of the packed Python modules directly inside `package`.
fn packed_children(state: &PythonResourcesState, package: Option<&str>) -> Vec<(String, bool)> {
    state
        .children(package)
        .filter(|(_, entry)| entry.is_python_module())
        .map(|(name, entry)| {
            let short = name.rsplit_once('.').map_or(name, |(_, short)| short);
            (short.to_owned(), entry.is_package())
        })
        .collect()
}

impl OxidizedPathEntryFinder {
    /// The hook: a path-entry finder for `path`, or `ImportError`.
    pub(crate) fn for_path(
        finder: &Bound<'_, OxidizedFinder>,
        path: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        let Ok(path) = path.cast::<PyString>() else {
            return Err(PyImportError::new_err(
                "packed-resources path entries are str",
            ));
        };
        let text = path.to_str().map_err(|_| {
            PyImportError::new_err(
                "a path that is not valid UTF-8 is no packed-resources path entry",
            )
        })?;
        let state = finder.get().state();
        let Some(base) = state.origin().to_str() else {
            return Err(refuse(text, "the origin is not valid UTF-8"));
        };
        // "/opt/app/" and "/opt/app" are the same base; "/" becomes "".
        let base = base.trim_end_matches('/');
        let package = package_for_path(base, text).map_err(|why| refuse(text, why))?;
        if let Some(package) = &package {
            let is_package = state
                .get(package)
                .is_some_and(|found| found.entry.is_python_module() && found.entry.is_package());
            if !is_package {
                return Err(refuse(
                    text,
                    &format!("'{package}' is not a packed package"),
                ));
            }
        }
        let fallback = fallback_finder(finder, path)?;
        Ok(OxidizedPathEntryFinder {
            finder: finder.clone().unbind(),
            package,
            path: path.clone().unbind(),
            fallback,
        })
    }
}

/// A finder for `path` from the other hooks in `sys.path_hooks`, when `path`
/// is a directory on disk; `None` otherwise or when no hook accepts it.
fn fallback_finder(
    finder: &Bound<'_, OxidizedFinder>,
    path: &Bound<'_, PyString>,
) -> PyResult<Option<Py<PyAny>>> {
    let py = finder.py();
    let is_dir = std::path::Path::new(path.to_str()?).is_dir();
    if !is_dir {
        return Ok(None);
    }
    let hooks = py.import("sys")?.getattr("path_hooks")?;
    for hook in hooks.try_iter()? {
        let hook = hook?;
        let ours = hook.getattr("__self__").is_ok_and(|owner| owner.is(finder));
        if ours {
            continue;
        }
        match hook.call1((path,)) {
            Ok(found) => return Ok(Some(found.unbind())),
            Err(error) if error.is_instance_of::<PyImportError>(py) => continue,
            Err(error) => return Err(error),
        }
    }
    Ok(None)
}

#[pymethods]
impl OxidizedPathEntryFinder {
    /// `importlib.abc.PathEntryFinder.find_spec`: the spec of a packed
    /// module directly inside this entry's package (from the meta path
    /// finder, so it is the same spec `import` gets), else the fallback's
    /// answer, else `None`.
    #[pyo3(signature = (fullname, target = None))]
    fn find_spec<'py>(
        &self,
        py: Python<'py>,
        fullname: &str,
        target: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        if directly_inside(self.package.as_deref(), fullname) {
            let spec = self
                .finder
                .bind(py)
                .call_method1("find_spec", (fullname, py.None(), &target))?;
            if !spec.is_none() {
                return Ok(Some(spec));
            }
        }
        match &self.fallback {
            Some(fallback) => {
                let spec = fallback
                    .bind(py)
                    .call_method1("find_spec", (fullname, &target))?;
                Ok((!spec.is_none()).then_some(spec))
            }
            None => Ok(None),
        }
    }

    /// For `pkgutil.iter_modules`: `(prefix + name, ispkg)` for every packed
    /// Python module directly inside this entry, then whatever the
    /// fallback lists that is not packed; sorted by name.
    #[pyo3(signature = (prefix = ""))]
    fn iter_modules<'py>(
        &self,
        py: Python<'py>,
        prefix: &str,
    ) -> PyResult<Vec<Bound<'py, PyTuple>>> {
        let state = self.finder.get().state();
        let mut listed: std::collections::BTreeMap<String, bool> =
            packed_children(&state, self.package.as_deref())
                .into_iter()
                .collect();
        if let Some(fallback) = &self.fallback {
            let pkgutil = py.import("pkgutil")?;
            let found = pkgutil.call_method1("iter_importer_modules", (fallback.bind(py), ""))?;
            for item in found.try_iter()? {
                let (name, ispkg): (String, bool) = item?.extract()?;
                listed.entry(name).or_insert(ispkg);
            }
        }
        listed
            .into_iter()
            .map(|(name, ispkg)| (format!("{prefix}{name}"), ispkg).into_pyobject(py))
            .collect()
    }

    /// `importlib.abc.PathEntryFinder.invalidate_caches`: the packed index
    /// does not change behind the finder's back; the fallback's caches are
    /// invalidated.
    fn invalidate_caches(&self, py: Python<'_>) -> PyResult<()> {
        if let Some(fallback) = &self.fallback {
            fallback.bind(py).call_method0("invalidate_caches")?;
        }
        Ok(())
    }

    /// The path this finder serves, as given to the hook.
    #[getter]
    fn path(&self, py: Python<'_>) -> Py<PyString> {
        self.path.clone_ref(py)
    }

    /// The package whose modules this entry holds (`None`: top level).
    #[getter]
    fn package(&self) -> Option<String> {
        self.package.clone()
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "<OxidizedPathEntryFinder for {:?}>",
            self.path.bind(py).to_string_lossy()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_packages_or_are_refused() {
        let base = "/opt/app";
        assert_eq!(package_for_path(base, "/opt/app"), Ok(None));
        assert_eq!(package_for_path(base, "/opt/app/"), Ok(None));
        assert_eq!(
            package_for_path(base, "/opt/app/json"),
            Ok(Some("json".into()))
        );
        assert_eq!(
            package_for_path(base, "/opt/app/email/mime/"),
            Ok(Some("email.mime".into()))
        );
        for bad in [
            "/opt/app/../etc",
            "/opt/app/json/../os",
            "/opt/app/./json",
            "/opt/app//json",
            "/opt/application",
            "/opt",
            "/etc/passwd",
            "/opt/app/json\0",
            "/opt/app/greet.py",
            "relative/opt/app",
            "",
        ] {
            assert!(package_for_path(base, bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn a_root_origin_works() {
        assert_eq!(package_for_path("", "/"), Ok(None));
        assert_eq!(package_for_path("", "/json"), Ok(Some("json".into())));
        assert!(package_for_path("", "").is_err());
        assert!(package_for_path("", "json").is_err());
    }

    #[test]
    fn only_direct_children_belong_to_an_entry() {
        assert!(directly_inside(None, "json"));
        assert!(!directly_inside(None, "json.decoder"));
        assert!(directly_inside(Some("json"), "json.decoder"));
        assert!(!directly_inside(Some("json"), "json"));
        assert!(!directly_inside(Some("json"), "jsonx.decoder"));
        assert!(!directly_inside(Some("email"), "email.mime.text"));
    }
}
