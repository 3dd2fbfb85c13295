//! The build configuration embedded in a built executable's payload.
//!
//! `pyembed build` decides what the executable does (behave like `python`,
//! or run an application's entry point), which allocator it uses, and
//! whether containers may be swapped at run time. The launcher reads those
//! decisions from a small text section of its payload (see
//! [`crate::resources::trailer`]), covered by the trailer's SHA-256.
//!
//! The text is line-oriented UTF-8, so `pyembed inspect` can print it and a
//! diff of two builds reads naturally. The runtime has no serde (the
//! `serialization` feature is optional), and this format needs none:
//!
//! ```text
//! pyembed-build-config 1
//! mode=app
//! entry=myapp.cli:main
//! allocator=default
//! ```
//!
//! The first line names the format and its version. Every other line is
//! `key=value`, each key at most once, in any order; keys are `mode`
//! (`python` or `app`), `entry` (`module` or `module:function`, required
//! for `app`, refused for `python`), `allocator` (a
//! [`MemoryAllocatorBackend`] name; default `default`) and `resources-env`
//! (the name of an environment variable that, when set at run time, lists
//! container files to use instead of the payload's). Unknown keys are
//! refused: a key this launcher does not understand could change what the
//! executable should do.

use std::fmt;

use crate::MemoryAllocatorBackend;

/// The first line of every build configuration.
pub const BUILD_CONFIG_HEADER: &str = "pyembed-build-config 1";

/// What a built executable runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LaunchMode {
    /// Behave like the `python3.11` command: CPython parses the command line
    /// (`-c`, `-m`, a script, `-`, the REPL, `-I`, `-X`, ...).
    Python,
    /// Run an application: every argument goes to it.
    App(EntryPoint),
}

/// An application entry point: `module` (run as `__main__`, like
/// `python -m module`) or `module:function` (imported and called; its return
/// value is the exit status, like a console script's `sys.exit(main())`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryPoint {
    /// Dotted module name.
    pub module: String,
    /// Dotted attribute path within the module, if any (`main`, `Cli.run`).
    pub function: Option<String>,
}

impl EntryPoint {
    /// Parses `module` or `module:function`, checking that both are dotted
    /// Python identifiers.
    pub fn parse(text: &str) -> Result<EntryPoint, BuildConfigError> {
        let (module, function) = match text.split_once(':') {
            Some((module, function)) => (module.trim(), Some(function.trim())),
            None => (text.trim(), None),
        };
        let bad = |reason: &str| BuildConfigError::Invalid {
            key: "entry",
            value: text.to_string(),
            reason: reason.to_string(),
        };
        if !is_dotted_identifier(module) {
            return Err(bad(
                "the module must be a dotted Python name such as `app` or `app.cli`",
            ));
        }
        if let Some(function) = function {
            if !is_dotted_identifier(function) {
                return Err(bad(
                    "the function after `:` must be a dotted Python name such as `main`",
                ));
            }
        }
        Ok(EntryPoint {
            module: module.to_string(),
            function: function.map(str::to_string),
        })
    }
}

impl fmt::Display for EntryPoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.function {
            Some(function) => write!(f, "{}:{function}", self.module),
            None => f.write_str(&self.module),
        }
    }
}

fn is_dotted_identifier(text: &str) -> bool {
    !text.is_empty()
        && text.split('.').all(|part| {
            let mut chars = part.chars();
            chars.next().is_some_and(|c| c == '_' || c.is_alphabetic())
                && chars.all(|c| c == '_' || c.is_alphanumeric())
        })
}

/// What a built executable was built to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BuildConfig {
    /// Python command or application.
    pub mode: LaunchMode,
    /// The allocator backend ([`crate::OxidizedPythonInterpreterConfig::allocator_backend`]).
    pub allocator_backend: MemoryAllocatorBackend,
    /// An environment variable that, when set to a non-empty list of paths
    /// (`:`-separated), replaces the payload's containers. `None` (the
    /// default) means the payload is always used.
    pub resources_env: Option<String>,
    /// The CPython the launcher links, as the launcher described itself when
    /// the executable was built ([`crate::LINKED_CPYTHON`]); informational,
    /// shown by `pyembed inspect`. One line of text.
    pub cpython: Option<String>,
}

impl BuildConfig {
    /// A configuration for `mode` with the default allocator and no
    /// run-time override.
    pub fn new(mode: LaunchMode) -> BuildConfig {
        BuildConfig {
            mode,
            allocator_backend: MemoryAllocatorBackend::Default,
            resources_env: None,
            cpython: None,
        }
    }

    /// The text stored in the payload.
    pub fn encode(&self) -> String {
        let mut out = format!("{BUILD_CONFIG_HEADER}\n");
        match &self.mode {
            LaunchMode::Python => out.push_str("mode=python\n"),
            LaunchMode::App(entry) => out.push_str(&format!("mode=app\nentry={entry}\n")),
        }
        out.push_str(&format!("allocator={}\n", self.allocator_backend));
        if let Some(var) = &self.resources_env {
            out.push_str(&format!("resources-env={var}\n"));
        }
        if let Some(cpython) = &self.cpython {
            // One line: a newline in it would end the value early.
            let cpython: String = cpython.chars().filter(|c| !c.is_control()).collect();
            out.push_str(&format!("cpython={cpython}\n"));
        }
        out
    }

    /// Parses the text [`encode`](Self::encode) writes.
    pub fn decode(bytes: &[u8]) -> Result<BuildConfig, BuildConfigError> {
        let text = std::str::from_utf8(bytes).map_err(|_| BuildConfigError::NotUtf8)?;
        let mut lines = text.lines();
        if lines.next() != Some(BUILD_CONFIG_HEADER) {
            return Err(BuildConfigError::Header);
        }
        let (mut mode, mut entry, mut allocator, mut resources_env, mut cpython) =
            (None, None, None, None, None);
        for line in lines.filter(|line| !line.is_empty()) {
            let (key, value) = line
                .split_once('=')
                .ok_or_else(|| BuildConfigError::Line(line.to_string()))?;
            let slot = match key {
                "mode" => &mut mode,
                "entry" => &mut entry,
                "allocator" => &mut allocator,
                "resources-env" => &mut resources_env,
                "cpython" => &mut cpython,
                _ => return Err(BuildConfigError::UnknownKey(key.to_string())),
            };
            if slot.replace(value).is_some() {
                return Err(BuildConfigError::Duplicate(key.to_string()));
            }
        }
        let mode = match (mode, entry) {
            (Some("python"), None) => LaunchMode::Python,
            (Some("python"), Some(_)) => {
                return Err(BuildConfigError::Invalid {
                    key: "entry",
                    value: entry.unwrap_or_default().to_string(),
                    reason: "mode=python takes no entry point".into(),
                });
            }
            (Some("app"), Some(entry)) => LaunchMode::App(EntryPoint::parse(entry)?),
            (Some("app"), None) => return Err(BuildConfigError::Missing("entry")),
            (Some(other), _) => {
                return Err(BuildConfigError::Invalid {
                    key: "mode",
                    value: other.to_string(),
                    reason: "expected `python` or `app`".into(),
                });
            }
            (None, _) => return Err(BuildConfigError::Missing("mode")),
        };
        let allocator_backend = match allocator {
            Some(name) => {
                MemoryAllocatorBackend::try_from(name).map_err(|e| BuildConfigError::Invalid {
                    key: "allocator",
                    value: name.to_string(),
                    reason: e.to_string(),
                })?
            }
            None => MemoryAllocatorBackend::Default,
        };
        if let Some(var) = resources_env {
            if var.is_empty() || var.contains('\0') {
                return Err(BuildConfigError::Invalid {
                    key: "resources-env",
                    value: var.to_string(),
                    reason: "expected the name of an environment variable".into(),
                });
            }
        }
        Ok(BuildConfig {
            mode,
            allocator_backend,
            resources_env: resources_env.map(str::to_string),
            cpython: cpython.map(str::to_string),
        })
    }
}

/// Why a build configuration could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BuildConfigError {
    /// The section is not UTF-8.
    #[error("the build configuration is not UTF-8")]
    NotUtf8,
    /// The first line is not [`BUILD_CONFIG_HEADER`].
    #[error("the build configuration does not start with `{BUILD_CONFIG_HEADER}`")]
    Header,
    /// A line without `=`.
    #[error("the build configuration line `{0}` is not key=value")]
    Line(String),
    /// A key this launcher does not know.
    #[error("the build configuration has the unknown key `{0}` (built by a newer pyembed?)")]
    UnknownKey(String),
    /// A key given twice.
    #[error("the build configuration sets `{0}` twice")]
    Duplicate(String),
    /// A required key is absent.
    #[error("the build configuration lacks `{0}`")]
    Missing(&'static str),
    /// A value is not acceptable.
    #[error("the build configuration's {key} `{value}` is invalid: {reason}")]
    Invalid {
        /// The key.
        key: &'static str,
        /// Its value.
        value: String,
        /// Why it is refused.
        reason: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let configs = [
            BuildConfig::new(LaunchMode::Python),
            BuildConfig {
                mode: LaunchMode::App(EntryPoint::parse("app.cli:Main.run").unwrap()),
                allocator_backend: MemoryAllocatorBackend::Mimalloc,
                resources_env: Some("APP_RESOURCES".into()),
                cpython: Some("pinned CPython 3.11.2 (tarball sha256 24…, PGO+LTO)".into()),
            },
            BuildConfig::new(LaunchMode::App(EntryPoint::parse("app").unwrap())),
        ];
        for config in configs {
            let text = config.encode();
            assert_eq!(
                BuildConfig::decode(text.as_bytes()).unwrap(),
                config,
                "{text}"
            );
        }
        assert_eq!(
            BuildConfig::new(LaunchMode::Python).encode(),
            "pyembed-build-config 1\nmode=python\nallocator=default\n"
        );
    }

    #[test]
    fn entry_points_are_checked() {
        let entry = EntryPoint::parse("a.b:c").unwrap();
        assert_eq!(
            (entry.module.as_str(), entry.function.as_deref()),
            ("a.b", Some("c"))
        );
        for bad in ["", ":main", "a:", "a..b", "1a", "a-b:c", "a:b:c", "a b"] {
            assert!(EntryPoint::parse(bad).is_err(), "{bad}");
        }
        assert!(EntryPoint::parse("pkg._private:Ünïcode_2").is_ok());
    }

    #[test]
    fn bad_configurations_are_refused() {
        let cases: &[(&[u8], &str)] = &[
            (b"\xff", "not UTF-8"),
            (b"mode=python\n", "does not start"),
            (b"pyembed-build-config 1\n", "lacks `mode`"),
            (b"pyembed-build-config 1\nmode=app\n", "lacks `entry`"),
            (
                b"pyembed-build-config 1\nmode=python\nentry=a\n",
                "takes no entry",
            ),
            (
                b"pyembed-build-config 1\nmode=python\nmode=python\n",
                "twice",
            ),
            (
                b"pyembed-build-config 1\nmode=python\ncolour=red\n",
                "unknown key",
            ),
            (
                b"pyembed-build-config 1\nmode=python\nallocator=tcmalloc\n",
                "allocator",
            ),
            (
                b"pyembed-build-config 1\nmode=shell\n",
                "expected `python` or `app`",
            ),
            (b"pyembed-build-config 1\nmode\n", "not key=value"),
        ];
        for (bytes, expected) in cases {
            let error = BuildConfig::decode(bytes).unwrap_err().to_string();
            assert!(error.contains(expected), "{error} lacks {expected}");
        }
    }
}
