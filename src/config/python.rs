//! [`PythonInterpreterConfig`]: a typed mirror of CPython's `PyPreConfig` and
//! `PyConfig` initialisation structures.

use std::ffi::OsString;
use std::path::PathBuf;

use super::enums::{
    Allocator, BytecodeOptimizationLevel, BytesWarning, CheckHashPycsMode, CoerceCLocale,
    PythonInterpreterProfile,
};

/// Every knob of CPython's `PyPreConfig` and `PyConfig` that an embedder sets.
///
/// `profile` chooses the base configuration (`PyConfig_InitIsolatedConfig()` or
/// `PyConfig_InitPythonConfig()`). Every other field is optional: `None` keeps the
/// profile's default, `Some(value)` overrides it. When `use_environment` is
/// on (the `Python` profile's default), CPython still applies `PYTHON*`
/// variables on top of these values for some fields, as `python` does (for
/// example `PYTHONDONTWRITEBYTECODE` beats `write_bytecode = Some(true)`); turn
/// it off for settings the environment cannot change. Field names follow the
/// `PyConfig` members they set, so the CPython documentation
/// (<https://docs.python.org/3.11/c-api/init_config.html>) describes each one;
/// where a name differs, the field's doc says which member it sets.
///
/// ```
/// use pyembed::{PythonInterpreterConfig, PythonInterpreterProfile};
///
/// let config = PythonInterpreterConfig {
///     profile: PythonInterpreterProfile::Isolated,
///     write_bytecode: Some(false),
///     x_options: Some(vec!["utf8".into()]),
///     ..Default::default()
/// };
/// assert_eq!(config.optimization_level, None);
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(
    feature = "serialization",
    derive(serde::Serialize, serde::Deserialize),
    serde(default, deny_unknown_fields)
)]
pub struct PythonInterpreterConfig {
    /// The base configuration the other fields are applied to.
    pub profile: PythonInterpreterProfile,

    // --- PyPreConfig ---
    /// `PyPreConfig.allocator` (`PYTHONMALLOC`).
    pub allocator: Option<Allocator>,
    /// `PyPreConfig.configure_locale`: set `LC_CTYPE` to the user's preferred locale.
    pub configure_locale: Option<bool>,
    /// `PyPreConfig.coerce_c_locale` (PEP 538). `None` keeps the profile's
    /// default: no coercion for `Isolated`, automatic coercion of the C locale
    /// for `Python`.
    pub coerce_c_locale: Option<CoerceCLocale>,
    /// `PyPreConfig.coerce_c_locale_warn`.
    pub coerce_c_locale_warn: Option<bool>,
    /// `PyPreConfig.dev_mode` and `PyConfig.dev_mode` (`-X dev`).
    pub development_mode: Option<bool>,
    /// `PyPreConfig.isolated` and `PyConfig.isolated` (`-I`).
    pub isolated: Option<bool>,
    /// `PyPreConfig.legacy_windows_fs_encoding` (Windows only; ignored elsewhere).
    pub legacy_windows_fs_encoding: Option<bool>,
    /// `PyPreConfig.parse_argv` and `PyConfig.parse_argv`: parse `argv` like the
    /// `python` command line does.
    pub parse_argv: Option<bool>,
    /// `PyPreConfig.use_environment` and `PyConfig.use_environment` (`-E` when false).
    pub use_environment: Option<bool>,
    /// `PyPreConfig.utf8_mode` (`-X utf8`).
    pub utf8_mode: Option<bool>,

    // --- PyConfig ---
    /// `PyConfig.argv`. Usually left unset: [`crate::OxidizedPythonInterpreterConfig::argv`]
    /// and the process arguments fill it in.
    #[cfg_attr(feature = "serialization", serde(with = "super::serde_os"))]
    pub argv: Option<Vec<OsString>>,
    /// `PyConfig.base_exec_prefix`.
    pub base_exec_prefix: Option<PathBuf>,
    /// `PyConfig.base_executable`.
    pub base_executable: Option<PathBuf>,
    /// `PyConfig.base_prefix`.
    pub base_prefix: Option<PathBuf>,
    /// `PyConfig.buffered_stdio` (`-u` when false).
    pub buffered_stdio: Option<bool>,
    /// `PyConfig.bytes_warning` (`-b`, `-bb`).
    pub bytes_warning: Option<BytesWarning>,
    /// `PyConfig.check_hash_pycs_mode`.
    pub check_hash_pycs_mode: Option<CheckHashPycsMode>,
    /// `PyConfig.code_debug_ranges` (`-X no_debug_ranges` when false). New in 3.11.
    pub code_debug_ranges: Option<bool>,
    /// `PyConfig.configure_c_stdio`.
    pub configure_c_stdio: Option<bool>,
    /// `PyConfig.dump_refs` (only effective on debug builds of CPython).
    pub dump_refs: Option<bool>,
    /// `PyConfig.exec_prefix`.
    pub exec_prefix: Option<PathBuf>,
    /// `PyConfig.executable` (`sys.executable`).
    pub executable: Option<PathBuf>,
    /// `PyConfig.faulthandler` (`-X faulthandler`).
    pub fault_handler: Option<bool>,
    /// `PyConfig.filesystem_encoding`.
    pub filesystem_encoding: Option<String>,
    /// `PyConfig.filesystem_errors`.
    pub filesystem_errors: Option<String>,
    /// `PyConfig.hash_seed` with `use_hash_seed = 1` (`PYTHONHASHSEED`).
    pub hash_seed: Option<u64>,
    /// `PyConfig.home` (`PYTHONHOME`).
    pub home: Option<PathBuf>,
    /// `PyConfig.import_time` (`-X importtime`).
    pub import_time: Option<bool>,
    /// `PyConfig.inspect` (`-i`).
    pub inspect: Option<bool>,
    /// `PyConfig.install_signal_handlers`.
    pub install_signal_handlers: Option<bool>,
    /// The limit on `int`/`str` conversions (`-X int_max_str_digits`,
    /// `sys.set_int_max_str_digits`): 0 for no limit, otherwise at least 640.
    /// CPython 3.11 has no `PyConfig` member for it, so it is passed as that
    /// `-X` option (ahead of `x_options`); 3.12+ set `PyConfig.int_max_str_digits`.
    pub int_max_str_digits: Option<i32>,
    /// `PyConfig.interactive`.
    pub interactive: Option<bool>,
    /// `PyConfig.legacy_windows_stdio` (Windows only; ignored elsewhere).
    pub legacy_windows_stdio: Option<bool>,
    /// `PyConfig.malloc_stats`.
    pub malloc_stats: Option<bool>,
    /// `PyConfig.module_search_paths` (`sys.path`); setting it also sets
    /// `module_search_paths_set`. `$ORIGIN` is expanded by `resolve()`.
    pub module_search_paths: Option<Vec<PathBuf>>,
    /// `PyConfig.optimization_level` (`-O`, `-OO`).
    pub optimization_level: Option<BytecodeOptimizationLevel>,
    /// `PyConfig.parser_debug` (`-d`).
    pub parser_debug: Option<bool>,
    /// `PyConfig.pathconfig_warnings`.
    pub pathconfig_warnings: Option<bool>,
    /// `PyConfig.platlibdir` (`sys.platlibdir`). New in 3.9.
    pub platlibdir: Option<String>,
    /// `PyConfig.prefix`.
    pub prefix: Option<PathBuf>,
    /// `PyConfig.program_name`.
    pub program_name: Option<PathBuf>,
    /// `PyConfig.pycache_prefix` (`-X pycache_prefix`).
    pub pycache_prefix: Option<PathBuf>,
    /// `PyConfig.pythonpath_env` (`PYTHONPATH`).
    pub python_path_env: Option<String>,
    /// `PyConfig.quiet` (`-q`).
    pub quiet: Option<bool>,
    /// `PyConfig.run_command` (`-c`). A trailing newline is added if missing.
    pub run_command: Option<String>,
    /// `PyConfig.run_filename` (a script path).
    pub run_filename: Option<PathBuf>,
    /// `PyConfig.run_module` (`-m`).
    pub run_module: Option<String>,
    /// `PyConfig.safe_path` (`-P`): do not prepend a potentially unsafe path
    /// to `sys.path`. New in 3.11.
    pub safe_path: Option<bool>,
    /// `PyConfig.show_ref_count` (`-X showrefcount`; debug builds only).
    pub show_ref_count: Option<bool>,
    /// `PyConfig.site_import` (`-S` when false).
    pub site_import: Option<bool>,
    /// `PyConfig.skip_source_first_line` (`-x`).
    pub skip_first_source_line: Option<bool>,
    /// `PyConfig.stdio_encoding`.
    pub stdio_encoding: Option<String>,
    /// `PyConfig.stdio_errors`.
    pub stdio_errors: Option<String>,
    /// `PyConfig.tracemalloc` (`-X tracemalloc`); `true` is 1 frame.
    pub tracemalloc: Option<bool>,
    /// `PyConfig.use_frozen_modules` (`-X frozen_modules`). New in 3.11.
    pub use_frozen_modules: Option<bool>,
    /// `PyConfig.user_site_directory` (`-s` when false).
    pub user_site_directory: Option<bool>,
    /// `PyConfig.verbose` (`-v`).
    pub verbose: Option<bool>,
    /// `PyConfig.warn_default_encoding` (`-X warn_default_encoding`). New in 3.10.
    pub warn_default_encoding: Option<bool>,
    /// `PyConfig.warnoptions` (`-W`).
    pub warn_options: Option<Vec<String>>,
    /// `PyConfig.write_bytecode` (`-B` when false).
    pub write_bytecode: Option<bool>,
    /// `PyConfig.xoptions` (`-X`).
    pub x_options: Option<Vec<String>>,
}

impl Default for PythonInterpreterProfile {
    /// `Python`, the same base as [`crate::OxidizedPythonInterpreterConfig::default`],
    /// so a configuration file that omits `profile` means the same thing
    /// whether or not it has an `[interpreter_config]` table.
    fn default() -> Self {
        PythonInterpreterProfile::Python
    }
}
