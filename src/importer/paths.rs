//! Virtual file paths of packed modules.
//!
//! A packed module has no file, but much Python code expects `__file__`,
//! `__spec__.origin` and `co_filename` to be a path: `os.path.dirname(__file__)`,
//! `inspect.getsourcefile`, the file names in tracebacks. The importer gives
//! every module the path it would have if the packed tree were unpacked next
//! to the executable:
//!
//! | module | `__file__` / `origin` | `__path__` |
//! |---|---|---|
//! | `mod` | `<origin>/mod.py` | — |
//! | `pkg` | `<origin>/pkg/__init__.py` | `[<origin>/pkg]` |
//! | `pkg.mod` | `<origin>/pkg/mod.py` | — |
//! | namespace package `ns` | none | `[<origin>/ns]` |
//!
//! where `<origin>` is the executable's directory. The packer stores the
//! relative form (`pkg/mod.py`) as `co_filename`; the loader rewrites it to
//! the absolute one with `_imp._fix_co_filename`, as CPython's own source
//! loader does for `.pyc` files that moved. The paths are stable (they do
//! not depend on where the inputs were packed from) and do not exist on
//! disk unless someone puts files there; `linecache` then asks the module's
//! `__loader__.get_source()`, which is how tracebacks and `inspect` get their
//! source lines.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// The directory a package's submodules virtually live in:
/// `<origin>/a/b` for `a.b`.
pub(crate) fn package_directory(origin: &Path, name: &str) -> PathBuf {
    let mut path = origin.to_path_buf();
    path.extend(name.split('.'));
    path
}

/// The virtual source file of a module or package.
pub(crate) fn module_file(origin: &Path, name: &str, is_package: bool) -> OsString {
    if is_package {
        package_directory(origin, name)
            .join("__init__.py")
            .into_os_string()
    } else {
        let mut path = package_directory(origin, name).into_os_string();
        path.push(".py");
        path
    }
}

/// The package `pkg` for a name `pkg.__init__`, whose code is the
/// package's `__init__.py`; `None` for any other name.
///
/// CPython's `FileFinder` imports `pkg.__init__` as a module of its own that
/// runs `pkg/__init__.py` again. PyOxidizer's importer served such names
/// from the package's resource; the finder does the same, with CPython's
/// semantics: a separate, non-package module running the package's code.
pub(crate) fn init_module_package(name: &str) -> Option<&str> {
    name.strip_suffix(".__init__")
        .filter(|package| !package.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modules_and_packages_get_paths_below_the_origin() {
        let origin = Path::new("/opt/app");
        assert_eq!(
            module_file(origin, "json", true),
            "/opt/app/json/__init__.py"
        );
        assert_eq!(
            module_file(origin, "json.decoder", false),
            "/opt/app/json/decoder.py"
        );
        assert_eq!(module_file(origin, "abc", false), "/opt/app/abc.py");
        assert_eq!(
            package_directory(origin, "email.mime"),
            Path::new("/opt/app/email/mime")
        );
    }
}
