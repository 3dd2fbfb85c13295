//! [`OxidizedPythonInterpreterConfig`]: the interpreter configuration plus
//! everything this crate adds around CPython (allocators, the packed-resources
//! importer, `sys.frozen`, multiprocessing dispatch, terminfo, ...).

use std::ffi::{CString, OsString};
use std::path::PathBuf;

use pyo3::ffi;

use super::PythonInterpreterProfile;
use super::enums::{MemoryAllocatorBackend, MultiprocessingStartMethod, TerminfoResolution};
use super::python::PythonInterpreterConfig;
pub use crate::resources::PackedResourcesSource;

/// A Rust-defined extension module, registered as a built-in module on the
/// interpreter's inittab before initialisation so `import name` finds it.
#[derive(Clone, Debug)]
pub struct ExtensionModule {
    /// The module's fully qualified name, e.g. `c"myapp._native"`.
    pub name: CString,
    /// Its `PyInit_*` function: single-phase (returns a module) or multi-phase
    /// (returns a `PyModuleDef`).
    pub init_func: unsafe extern "C" fn() -> *mut ffi::PyObject,
}

impl PartialEq for ExtensionModule {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && std::ptr::fn_addr_eq(self.init_func, other.init_func)
    }
}

impl Eq for ExtensionModule {}

/// Configuration of the interpreter run by [`crate::MainPythonInterpreter`].
///
/// It wraps a [`PythonInterpreterConfig`] (the `PyPreConfig`/`PyConfig` knobs)
/// and adds the features of this crate. [`Default`] gives the behaviour of the
/// `python` executable (`profile = Python`) with the filesystem importer; a
/// hermetic application enables `oxidized_importer`, lists its
/// `packed_resources` and usually turns `filesystem_importer` off.
///
/// ```
/// use pyembed::OxidizedPythonInterpreterConfig;
///
/// let mut config = OxidizedPythonInterpreterConfig::default();
/// config.interpreter_config.parse_argv = Some(false);
/// config.argv = Some(vec!["myapp".into()]);
/// config.sys_frozen = true;
/// let resolved = config.resolve().unwrap();
/// assert!(resolved.exe().is_absolute());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(
    feature = "serialization",
    derive(serde::Serialize, serde::Deserialize),
    serde(default, deny_unknown_fields)
)]
pub struct OxidizedPythonInterpreterConfig<'a> {
    /// Path of the running executable; `None` means `std::env::current_exe()`.
    pub exe: Option<PathBuf>,
    /// The directory `$ORIGIN` expands to; `None` means the directory of `exe`.
    pub origin: Option<PathBuf>,
    /// The CPython initialisation configuration.
    pub interpreter_config: PythonInterpreterConfig,
    /// Which memory allocator implementation CPython's domains use; installed
    /// after pre-initialisation into the domains the `allocator_*` flags
    /// select. See [`crate::PythonMemoryAllocator`].
    pub allocator_backend: MemoryAllocatorBackend,
    /// Install the backend for the `PYMEM_DOMAIN_RAW` domain.
    pub allocator_raw: bool,
    /// Install the backend for the `PYMEM_DOMAIN_MEM` domain.
    pub allocator_mem: bool,
    /// Install the backend for the `PYMEM_DOMAIN_OBJ` domain.
    pub allocator_obj: bool,
    /// Use the backend for pymalloc's arenas (exclusive with `allocator_mem`
    /// and `allocator_obj`).
    pub allocator_pymalloc_arena: bool,
    /// Add CPython's debug hooks on top of the installed allocators.
    pub allocator_debug: bool,
    /// Fill in `program_name` (the executable) and, when the packed-resources
    /// importer provides the standard library, `home` (the origin) if they are
    /// not set, so `sys.executable` is this binary.
    pub set_missing_path_configuration: bool,
    /// Install the packed-resources importer on `sys.meta_path`.
    pub oxidized_importer: bool,
    /// Keep CPython's path-based importer (after the packed-resources one).
    pub filesystem_importer: bool,
    /// Packed-resources containers to index, in priority order. A name found
    /// in an earlier source wins. Only `MemoryMappedPath` sources can be
    /// serialized; `$ORIGIN` is expanded by `resolve()`.
    pub packed_resources: Vec<PackedResourcesSource<'a>>,
    /// Pins: the content digests (hex SHA-256, as `pyembed pack`, `inspect`
    /// and `verify` print them) that the containers of `packed_resources`
    /// must have, one per source in the same order. Empty means no pin. A
    /// container with any other digest is refused before CPython starts, so
    /// a binary built with its pins compiled in runs only the payload it was
    /// built for (see `docs/security.md`).
    pub packed_resources_digests: Vec<String>,
    /// Extra built-in extension modules defined in Rust.
    #[cfg_attr(feature = "serialization", serde(skip))]
    pub extra_extension_modules: Option<Vec<ExtensionModule>>,
    /// Process arguments; `None` means `std::env::args_os()`.
    #[cfg_attr(feature = "serialization", serde(with = "super::serde_os"))]
    pub argv: Option<Vec<OsString>>,
    /// Expose the raw argument bytes as `sys.argvb` (a list of `bytes`).
    pub argvb: bool,
    /// Let [`crate::MainPythonInterpreter::run`] recognise the
    /// `--multiprocessing-fork` arguments of a spawned worker and run it.
    pub multiprocessing_auto_dispatch: bool,
    /// Make this the default `multiprocessing` start method when
    /// `multiprocessing` is first imported (without locking it in: the
    /// application may still call `set_start_method()`).
    pub multiprocessing_start_method: MultiprocessingStartMethod,
    /// Set `sys.frozen = True` (what freezers such as PyInstaller do).
    pub sys_frozen: bool,
    /// Set `sys._MEIPASS` to the origin directory (PyInstaller compatibility).
    pub sys_meipass: bool,
    /// How `TERMINFO_DIRS` is set up.
    pub terminfo_resolution: TerminfoResolution,
    /// Set `TCL_LIBRARY` to this directory unless it is already set
    /// (`$ORIGIN` is expanded).
    pub tcl_library: Option<PathBuf>,
    /// Name of an environment variable: when it is set at run time, the names
    /// of all loaded modules are written to a new file in that directory when
    /// the interpreter finishes (used to discover what an application imports).
    pub write_modules_directory_env: Option<String>,
}

impl Default for OxidizedPythonInterpreterConfig<'_> {
    fn default() -> Self {
        Self {
            exe: None,
            origin: None,
            interpreter_config: PythonInterpreterConfig {
                profile: PythonInterpreterProfile::Python,
                ..PythonInterpreterConfig::default()
            },
            allocator_backend: MemoryAllocatorBackend::Default,
            allocator_raw: true,
            allocator_mem: false,
            allocator_obj: false,
            allocator_pymalloc_arena: false,
            allocator_debug: false,
            set_missing_path_configuration: true,
            oxidized_importer: false,
            filesystem_importer: true,
            packed_resources: Vec::new(),
            packed_resources_digests: Vec::new(),
            extra_extension_modules: None,
            argv: None,
            argvb: false,
            multiprocessing_auto_dispatch: true,
            multiprocessing_start_method: MultiprocessingStartMethod::Auto,
            sys_frozen: false,
            sys_meipass: false,
            terminfo_resolution: TerminfoResolution::Dynamic,
            tcl_library: None,
            write_modules_directory_env: None,
        }
    }
}
