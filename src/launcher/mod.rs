//! Running a built executable: find the payload, configure, run.
//!
//! `pyembed build` appends containers and a [`BuildConfig`] to a copy of the
//! `pyembed-launcher` binary (see [`crate::resources::trailer`] for the
//! layout). When that executable starts, [`main`]:
//!
//! 1. memory-maps its own file once ([`ExecutablePayload::open_current_exe`])
//!    and locates the payload from the trailer at the end, checking every
//!    offset and the SHA-256 of the container table and configuration;
//! 2. decodes the build configuration;
//! 3. builds an [`OxidizedPythonInterpreterConfig`] whose `packed_resources`
//!    are [`PackedResourcesSource::Shared`] ranges of that one map (so tier 0
//!    is served from the page cache with no copy, and the containers'
//!    headers and indices are verified before CPython starts) — see
//!    [`interpreter_config`];
//! 4. runs it with [`MainPythonInterpreter::run`], which also dispatches
//!    `multiprocessing` children started from the executable.
//!
//! In **python mode** CPython parses the command line exactly as
//! `python3.11` does, the standard library comes from the payload, and the
//! filesystem importer stays on (after the packed one) so scripts can import
//! their neighbours and `PYTHONPATH` works; `home` is the executable's
//! directory, so the host's standard library is never on `sys.path`.
//!
//! In **app mode** every argument goes to the application: the interpreter
//! is isolated (no `PYTHON*` variables, no user site, no `site`), imports
//! come only from the payload, `sys.frozen` is true, and the entry point
//! runs as `python -m module` would, or is imported and called with its
//! return value as the exit status.
//!
//! Any failure before Python runs is one line on stderr naming the
//! executable, and exit status 1.

mod build_config;

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use build_config::{
    BUILD_CONFIG_HEADER, BuildConfig, BuildConfigError, EntryPoint, LaunchMode,
};

use crate::resources::SharedBytes;
use crate::resources::trailer::{self, Payload, PayloadError};
use crate::{MainPythonInterpreter, OxidizedPythonInterpreterConfig, PackedResourcesSource};

/// Why a built executable could not start.
#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    /// The path of the running executable is unknown.
    #[error("cannot find the running executable: {0}")]
    CurrentExe(#[source] std::io::Error),
    /// The executable file could not be opened or mapped.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The payload is missing or damaged.
    #[error("{path}: {error}\nhint: rebuild it with `pyembed build`, and copy the whole file")]
    Payload {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        #[source]
        error: PayloadError,
    },
    /// The build configuration is unreadable.
    #[error("{path}: {error}\nhint: rebuild it with this release's `pyembed build`")]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        #[source]
        error: BuildConfigError,
    },
}

/// A built executable's file, mapped once, with its payload located and its
/// build configuration decoded.
pub struct ExecutablePayload {
    path: PathBuf,
    bytes: Arc<dyn AsRef<[u8]> + Send + Sync>,
    payload: Payload,
    config: BuildConfig,
}

impl ExecutablePayload {
    /// Maps the running executable (`/proc/self/exe` on Linux, so a binary
    /// renamed or reached through a symlink still finds itself).
    ///
    /// Without `/proc` (an empty chroot), the path the kernel executed
    /// (`AT_EXECFN`) is used, made absolute against the current directory.
    pub fn open_current_exe() -> Result<ExecutablePayload, LaunchError> {
        let path = match std::env::current_exe() {
            Ok(path) => path,
            Err(error) => exec_path().ok_or(LaunchError::CurrentExe(error))?,
        };
        let file = if cfg!(target_os = "linux") {
            std::fs::File::open("/proc/self/exe").or_else(|_| std::fs::File::open(&path))
        } else {
            std::fs::File::open(&path)
        };
        let file = file.map_err(|source| LaunchError::Read {
            path: path.clone(),
            source,
        })?;
        ExecutablePayload::from_file(path, &file)
    }

    /// Maps `file` (whose name is `path`, for messages) and locates its
    /// payload.
    pub fn from_file(
        path: PathBuf,
        file: &std::fs::File,
    ) -> Result<ExecutablePayload, LaunchError> {
        // SAFETY: `Mmap::map` is unsafe because the file could change while
        // mapped. This is the running executable (or a built one being
        // inspected): replaced, never edited in place, by build tools; every
        // container byte is digest-checked before it is used, so an edit is
        // reported as damage. Truncating a mapped file can raise SIGBUS, the
        // contract every mmap-based loader, the kernel's own exec included,
        // has; see docs/build.md.
        let map = unsafe { memmap2::Mmap::map(file) }.map_err(|source| LaunchError::Read {
            path: path.clone(),
            source,
        })?;
        ExecutablePayload::from_bytes(path, Arc::new(map))
    }

    /// Locates the payload in `bytes`, the whole file named `path`.
    pub fn from_bytes(
        path: PathBuf,
        bytes: Arc<dyn AsRef<[u8]> + Send + Sync>,
    ) -> Result<ExecutablePayload, LaunchError> {
        let payload = trailer::locate((*bytes).as_ref()).map_err(|error| LaunchError::Payload {
            path: path.clone(),
            error,
        })?;
        let config =
            BuildConfig::decode(&(*bytes).as_ref()[payload.config.clone()]).map_err(|error| {
                LaunchError::Config {
                    path: path.clone(),
                    error,
                }
            })?;
        Ok(ExecutablePayload {
            path,
            bytes,
            payload,
            config,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where the payload's parts are.
    pub fn payload(&self) -> &Payload {
        &self.payload
    }

    /// The decoded build configuration.
    pub fn build_config(&self) -> &BuildConfig {
        &self.config
    }

    /// The whole file.
    pub fn bytes(&self) -> &[u8] {
        (*self.bytes).as_ref()
    }

    /// One source per appended container, in priority order, each reading
    /// the shared map in place.
    pub fn sources(&self) -> Vec<PackedResourcesSource<'static>> {
        self.payload
            .containers
            .iter()
            .filter_map(|range| SharedBytes::new(Arc::clone(&self.bytes), range.clone()))
            .map(PackedResourcesSource::Shared)
            .collect()
    }
}

/// The path this process was executed as (`AT_EXECFN`), absolute.
#[cfg(target_os = "linux")]
fn exec_path() -> Option<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    // SAFETY: `getauxval` only reads the auxiliary vector the kernel placed
    // on the initial stack; it returns 0 when the entry is absent.
    let pointer = unsafe { libc::getauxval(libc::AT_EXECFN) } as *const libc::c_char;
    if pointer.is_null() {
        return None;
    }
    // SAFETY: a non-zero AT_EXECFN points to the NUL-terminated path string
    // the kernel copied onto the initial stack, which lives (unchanged) for
    // the whole process.
    let bytes = unsafe { std::ffi::CStr::from_ptr(pointer) }.to_bytes();
    let path = Path::new(std::ffi::OsStr::from_bytes(bytes));
    std::path::absolute(path).ok()
}

#[cfg(not(target_os = "linux"))]
fn exec_path() -> Option<PathBuf> {
    None
}

/// Content digests compiled into this launcher: `PYEMBED_LAUNCHER_PINS`
/// at build time, comma-separated hex SHA-256 digests, one per container of
/// the payload in order. A launcher built with pins runs only payloads whose
/// containers have exactly those digests (see `docs/security.md`).
const PINS: Option<&str> = option_env!("PYEMBED_LAUNCHER_PINS");

/// The pins in `spec` (see [`PINS`]); empty for none.
fn pins(spec: Option<&str>) -> Vec<String> {
    spec.map(|spec| {
        spec.split(',')
            .map(str::trim)
            .filter(|pin| !pin.is_empty())
            .map(String::from)
            .collect()
    })
    .unwrap_or_default()
}

/// The interpreter configuration a built executable runs with (see the
/// module docs for what each mode sets). `argv` is the process's arguments.
pub fn interpreter_config(
    payload: &ExecutablePayload,
    argv: Vec<OsString>,
) -> OxidizedPythonInterpreterConfig<'static> {
    let build = payload.build_config();
    let mut config = OxidizedPythonInterpreterConfig {
        exe: Some(payload.path().to_path_buf()),
        allocator_backend: build.allocator_backend,
        oxidized_importer: true,
        packed_resources: resources_override(build).unwrap_or_else(|| payload.sources()),
        packed_resources_digests: pins(PINS),
        argv: Some(argv),
        ..OxidizedPythonInterpreterConfig::default()
    };
    let ic = &mut config.interpreter_config;
    match &build.mode {
        LaunchMode::Python => {
            ic.parse_argv = Some(true);
            // The stdlib is packed: CPython must not look for one on disk
            // (and warn when it finds none), nor put the host's on sys.path.
            ic.home = payload.path().parent().map(Path::to_path_buf);
            ic.pathconfig_warnings = Some(false);
            config.filesystem_importer = true;
        }
        LaunchMode::App(entry) => {
            ic.parse_argv = Some(false);
            ic.isolated = Some(true);
            ic.use_environment = Some(false);
            ic.user_site_directory = Some(false);
            ic.site_import = Some(false);
            ic.pathconfig_warnings = Some(false);
            match &entry.function {
                None => ic.run_module = Some(entry.module.clone()),
                Some(function) => ic.run_command = Some(entry_command(&entry.module, function)),
            }
            config.filesystem_importer = false;
            config.sys_frozen = true;
        }
    }
    config
}

/// Containers named by the build's `resources-env` variable, when it allows
/// one and it is set.
fn resources_override(build: &BuildConfig) -> Option<Vec<PackedResourcesSource<'static>>> {
    let value = std::env::var_os(build.resources_env.as_ref()?)?;
    let sources: Vec<_> = std::env::split_paths(&value)
        .filter(|path| !path.as_os_str().is_empty())
        .map(PackedResourcesSource::MemoryMappedPath)
        .collect();
    (!sources.is_empty()).then_some(sources)
}

/// The `-c` program that calls `module:function`, as a console script does:
/// `sys.exit(function())`. `sys.argv[0]` becomes the executable as invoked
/// (CPython sets it to `-c`). A missing module or attribute is one line on
/// stderr and exit status 1. Both names are dotted identifiers (checked by
/// [`EntryPoint::parse`]), so they are safe inside a string literal.
fn entry_command(module: &str, function: &str) -> String {
    format!(
        "import sys\n\
         sys.argv[0] = sys.orig_argv[0] if sys.orig_argv else sys.executable\n\
         def _pyembed_entry():\n\
         \x20   import importlib\n\
         \x20   try:\n\
         \x20       target = importlib.import_module('{module}')\n\
         \x20   except ModuleNotFoundError as error:\n\
         \x20       if error.name is None or not '{module}'.startswith(error.name):\n\
         \x20           raise\n\
         \x20       sys.exit(f\"entry point {module}:{function}: no module named {{error.name!r}} in this executable\")\n\
         \x20   for name in '{function}'.split('.'):\n\
         \x20       try:\n\
         \x20           target = getattr(target, name)\n\
         \x20       except AttributeError:\n\
         \x20           sys.exit(f\"entry point {module}:{function}: {{target!r}} has no attribute {{name!r}}\")\n\
         \x20   return target\n\
         _pyembed_entry = _pyembed_entry()\n\
         sys.exit(_pyembed_entry())\n"
    )
}

/// The launcher's `main`: locate the payload, configure, run. Returns the
/// process exit status.
pub fn main() -> i32 {
    let payload = match ExecutablePayload::open_current_exe() {
        Ok(payload) => payload,
        Err(LaunchError::Payload {
            error: PayloadError::Missing,
            ..
        }) if is_describe_request() => {
            println!("{}", describe());
            return 0;
        }
        Err(error) => {
            eprintln!("{}: error: {error}", program_name());
            return 1;
        }
    };
    let config = interpreter_config(&payload, std::env::args_os().collect());
    // The map stays alive through the containers' shared owners.
    drop(payload);
    match MainPythonInterpreter::new(config) {
        Ok(interpreter) => interpreter.run(),
        // `python -Z`, `python -h`, `python -V`: CPython printed what it had
        // to say and asked for this exit code, as python3.11 does.
        Err(crate::NewInterpreterError::Exit { code, .. }) => code,
        Err(error) => {
            eprintln!("{}: error: {error}", program_name());
            1
        }
    }
}

/// The argument a launcher *without* a payload answers with [`describe`]
/// (`pyembed build` asks which CPython a launcher links). A built executable
/// passes every argument on, this one included.
pub const DESCRIBE_ARG: &str = "--pyembed-describe";

/// What a bare launcher says of itself: `key: value` lines naming the Python
/// version and the CPython it links ([`crate::LINKED_CPYTHON`]).
pub fn describe() -> String {
    format!(
        "python-version: {}\ncpython: {}",
        crate::LINKED_PYTHON_VERSION,
        crate::LINKED_CPYTHON
    )
}

fn is_describe_request() -> bool {
    let mut args = std::env::args_os().skip(1);
    args.next().is_some_and(|a| a == DESCRIBE_ARG) && args.next().is_none()
}

fn program_name() -> String {
    std::env::args_os()
        .next()
        .map(|arg0| {
            Path::new(&arg0)
                .file_name()
                .unwrap_or(&arg0)
                .to_string_lossy()
                .into_owned()
        })
        .unwrap_or_else(|| "pyembed-launcher".into())
}

#[cfg(test)]
mod tests {
    #[test]
    fn pins_are_comma_separated() {
        assert!(super::pins(None).is_empty());
        assert!(super::pins(Some("")).is_empty());
        assert_eq!(super::pins(Some(" ab , cd,")), ["ab", "cd"]);
    }

    use super::*;

    #[test]
    fn payload_sources_share_one_map() {
        let containers: [&[u8]; 2] = [b"first container", b"second"];
        let config = BuildConfig::new(LaunchMode::Python).encode();
        let file = trailer::assemble(b"launcher", &containers, config.as_bytes()).unwrap();
        let file: Arc<dyn AsRef<[u8]> + Send + Sync> = Arc::new(file);
        let payload = ExecutablePayload::from_bytes("/bin/x".into(), Arc::clone(&file)).unwrap();
        assert_eq!(payload.build_config().mode, LaunchMode::Python);
        let sources = payload.sources();
        assert_eq!(sources.len(), 2);
        match &sources[1] {
            PackedResourcesSource::Shared(shared) => {
                assert_eq!(shared.bytes(), b"second");
                assert_eq!(
                    shared.bytes().as_ptr(),
                    (*file).as_ref()[shared.range()].as_ptr()
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_bare_launcher_names_itself() {
        let error = ExecutablePayload::from_bytes("/bin/app".into(), Arc::new(vec![0u8; 200]))
            .err()
            .unwrap()
            .to_string();
        assert!(error.starts_with("/bin/app: no pyembed payload"), "{error}");
        assert!(error.contains("hint: rebuild"), "{error}");
    }

    #[test]
    fn app_mode_is_isolated_and_frozen() {
        let config = BuildConfig::new(LaunchMode::App(EntryPoint::parse("app:main").unwrap()));
        let file = trailer::assemble(b"launcher", &[b"c"], config.encode().as_bytes()).unwrap();
        let payload = ExecutablePayload::from_bytes("/opt/app/bin".into(), Arc::new(file)).unwrap();
        let config = interpreter_config(&payload, vec!["bin".into(), "-c".into()]);
        assert!(config.sys_frozen && !config.filesystem_importer);
        assert_eq!(config.interpreter_config.parse_argv, Some(false));
        let command = config.interpreter_config.run_command.unwrap();
        assert!(command.contains("import_module('app')"), "{command}");
    }
}
