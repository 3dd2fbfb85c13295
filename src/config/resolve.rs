//! [`OxidizedPythonInterpreterConfig::resolve`]: turn a configuration with
//! defaults and placeholders into the concrete one the interpreter uses.

use std::ffi::OsString;
use std::ops::Deref;
use std::path::{Path, PathBuf};

use super::oxidized::{OxidizedPythonInterpreterConfig, PackedResourcesSource};
use crate::NewInterpreterError;

/// The placeholder expanded to the origin directory in configured paths.
pub const ORIGIN: &str = "$ORIGIN";

/// An [`OxidizedPythonInterpreterConfig`] whose `exe` and `origin` are known
/// absolute paths and whose paths have `$ORIGIN` expanded.
///
/// Only [`OxidizedPythonInterpreterConfig::resolve`] creates one; it derefs to
/// the configuration it wraps.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedOxidizedPythonInterpreterConfig<'a> {
    inner: OxidizedPythonInterpreterConfig<'a>,
}

impl<'a> Deref for ResolvedOxidizedPythonInterpreterConfig<'a> {
    type Target = OxidizedPythonInterpreterConfig<'a>;

    fn deref(&self) -> &Self::Target {
        &self.inner
    }
}

impl<'a> ResolvedOxidizedPythonInterpreterConfig<'a> {
    /// The absolute, canonical path of the executable.
    pub fn exe(&self) -> &Path {
        self.inner.exe.as_deref().expect("resolve() sets exe")
    }

    /// The directory `$ORIGIN` expanded to.
    pub fn origin(&self) -> &Path {
        self.inner.origin.as_deref().expect("resolve() sets origin")
    }

    /// The wrapped configuration.
    pub fn into_inner(self) -> OxidizedPythonInterpreterConfig<'a> {
        self.inner
    }

    /// The arguments `sys.argv` is built from: `interpreter_config.argv` if set,
    /// else `argv` if set, else the process arguments.
    pub fn resolve_sys_argv(&self) -> Vec<OsString> {
        if let Some(argv) = &self.inner.interpreter_config.argv {
            argv.clone()
        } else if let Some(argv) = &self.inner.argv {
            argv.clone()
        } else {
            std::env::args_os().collect()
        }
    }

    /// The arguments `sys.argvb` is built from, when `argvb` is enabled. They
    /// come from `argv` or the process (never from `interpreter_config.argv`,
    /// which CPython may have rewritten while parsing).
    pub fn resolve_sys_argvb(&self) -> Vec<OsString> {
        match &self.inner.argv {
            Some(argv) => argv.clone(),
            None => std::env::args_os().collect(),
        }
    }
}

impl<'a> OxidizedPythonInterpreterConfig<'a> {
    /// Resolve defaults and placeholders.
    ///
    /// - `exe` defaults to [`std::env::current_exe`], and is made absolute and
    ///   canonical (symlinks resolved, so `$ORIGIN` is the real directory);
    /// - `origin` defaults to the directory holding `exe`;
    /// - `$ORIGIN` at the start of `module_search_paths`, `tcl_library` and
    ///   memory-mapped `packed_resources` paths becomes `origin`;
    /// - with `set_missing_path_configuration`, an unset `program_name` becomes
    ///   `exe`, and, when the packed-resources importer serves the standard
    ///   library (`oxidized_importer` on, `filesystem_importer` off), an unset
    ///   `home` becomes `origin`.
    pub fn resolve(
        self,
    ) -> Result<ResolvedOxidizedPythonInterpreterConfig<'a>, NewInterpreterError> {
        let mut inner = self;

        let exe = match inner.exe.take() {
            Some(exe) => exe,
            None => std::env::current_exe()
                .map_err(|source| NewInterpreterError::CurrentExe { source })?,
        };
        let exe = std::fs::canonicalize(&exe).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => NewInterpreterError::MissingPath {
                field: "exe",
                path: exe.clone(),
            },
            _ => NewInterpreterError::InvalidConfig {
                field: "exe",
                message: format!("cannot resolve {}: {e}", exe.display()),
            },
        })?;

        let origin = match inner.origin.take() {
            Some(origin) => absolute(origin, "origin")?,
            None => exe
                .parent()
                .ok_or_else(|| NewInterpreterError::InvalidConfig {
                    field: "exe",
                    message: format!("{} has no parent directory", exe.display()),
                })?
                .to_path_buf(),
        };

        if let Some(paths) = inner.interpreter_config.module_search_paths.as_mut() {
            for path in paths.iter_mut() {
                *path = expand_origin(path, &origin);
            }
        }
        if let Some(path) = inner.tcl_library.as_mut() {
            *path = expand_origin(path, &origin);
        }
        for source in inner.packed_resources.iter_mut() {
            if let PackedResourcesSource::MemoryMappedPath(path) = source {
                *path = expand_origin(path, &origin);
            }
        }

        if inner.set_missing_path_configuration {
            let config = &mut inner.interpreter_config;
            if config.program_name.is_none() {
                config.program_name = Some(exe.clone());
            }
            if config.home.is_none() && inner.oxidized_importer && !inner.filesystem_importer {
                config.home = Some(origin.clone());
            }
        }

        inner.exe = Some(exe);
        inner.origin = Some(origin);
        Ok(ResolvedOxidizedPythonInterpreterConfig { inner })
    }
}

fn absolute(path: PathBuf, field: &'static str) -> Result<PathBuf, NewInterpreterError> {
    std::path::absolute(&path).map_err(|e| NewInterpreterError::InvalidConfig {
        field,
        message: format!("cannot make {} absolute: {e}", path.display()),
    })
}

/// Replace a leading `$ORIGIN` component with `origin`.
fn expand_origin(path: &Path, origin: &Path) -> PathBuf {
    let mut components = path.components();
    match components.next() {
        Some(std::path::Component::Normal(first)) if first == ORIGIN => {
            origin.join(components.as_path())
        }
        _ => path.to_path_buf(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_is_expanded_only_as_a_leading_component() {
        let origin = Path::new("/opt/app");
        assert_eq!(
            expand_origin(Path::new("$ORIGIN/lib"), origin),
            Path::new("/opt/app/lib")
        );
        assert_eq!(
            expand_origin(Path::new("$ORIGIN"), origin),
            Path::new("/opt/app")
        );
        assert_eq!(
            expand_origin(Path::new("/x/$ORIGIN"), origin),
            Path::new("/x/$ORIGIN")
        );
        assert_eq!(
            expand_origin(Path::new("$ORIGINAL/x"), origin),
            Path::new("$ORIGINAL/x")
        );
    }

    #[test]
    fn resolve_fills_exe_origin_and_paths() {
        let mut config = OxidizedPythonInterpreterConfig::default();
        config.interpreter_config.module_search_paths = Some(vec!["$ORIGIN/lib".into()]);
        config.tcl_library = Some("$ORIGIN/tcl".into());
        config.packed_resources = vec![PackedResourcesSource::MemoryMappedPath("$ORIGIN/r".into())];
        let resolved = config.resolve().unwrap();
        let exe = std::fs::canonicalize(std::env::current_exe().unwrap()).unwrap();
        assert_eq!(resolved.exe(), exe);
        let origin = exe.parent().unwrap();
        assert_eq!(resolved.origin(), origin);
        assert_eq!(
            resolved.interpreter_config.module_search_paths,
            Some(vec![origin.join("lib")])
        );
        assert_eq!(resolved.tcl_library, Some(origin.join("tcl")));
        assert_eq!(
            resolved.packed_resources,
            vec![PackedResourcesSource::MemoryMappedPath(origin.join("r"))]
        );
        assert_eq!(
            resolved.interpreter_config.program_name.as_deref(),
            Some(exe.as_path())
        );
        // The filesystem importer serves the stdlib: home stays unset.
        assert_eq!(resolved.interpreter_config.home, None);
    }

    #[test]
    fn home_defaults_to_origin_when_resources_serve_the_stdlib() {
        let config = OxidizedPythonInterpreterConfig {
            oxidized_importer: true,
            filesystem_importer: false,
            origin: Some("/opt/app".into()),
            ..Default::default()
        };
        let resolved = config.resolve().unwrap();
        assert_eq!(
            resolved.interpreter_config.home.as_deref(),
            Some(Path::new("/opt/app"))
        );
    }

    #[test]
    fn missing_exe_is_named() {
        let config = OxidizedPythonInterpreterConfig {
            exe: Some("/nonexistent/pyembed-test-exe".into()),
            ..Default::default()
        };
        let err = config.resolve().unwrap_err();
        assert_eq!(
            err.to_string(),
            "configuration field `exe` names /nonexistent/pyembed-test-exe, which does not exist"
        );
    }

    #[test]
    fn argv_precedence() {
        let mut config = OxidizedPythonInterpreterConfig {
            argv: Some(vec!["outer".into()]),
            ..Default::default()
        };
        let resolved = config.clone().resolve().unwrap();
        assert_eq!(resolved.resolve_sys_argv(), vec![OsString::from("outer")]);
        config.interpreter_config.argv = Some(vec!["inner".into()]);
        let resolved = config.resolve().unwrap();
        assert_eq!(resolved.resolve_sys_argv(), vec![OsString::from("inner")]);
        assert_eq!(resolved.resolve_sys_argvb(), vec![OsString::from("outer")]);
    }
}
