//! Turning a [`PythonInterpreterConfig`] into CPython's `PyPreConfig` and
//! `PyConfig` C structures.
//!
//! This is one of the two files of the crate that use raw `pyo3::ffi` for
//! initialisation (the other is `lifecycle.rs`). Strings are handed to CPython
//! as bytes (`PyConfig_SetBytesString`, `Py_DecodeLocale`), so CPython decodes
//! them with the locale encoding and `surrogateescape` exactly as it decodes
//! the process's own command line; a non-UTF-8 argument round-trips.

use std::ffi::{CStr, CString, OsStr};
use std::mem::MaybeUninit;
use std::os::raw::c_char;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use pyo3::ffi;

use crate::config::{PythonInterpreterConfig, PythonInterpreterProfile};
use crate::error::{InitPhase, NewInterpreterError};

/// Convert a `PyStatus` into a result, attributing failures to `phase`.
pub(crate) fn check_status(
    status: ffi::PyStatus,
    phase: InitPhase,
) -> Result<(), NewInterpreterError> {
    // SAFETY: PyStatus_* only inspect the struct passed by value.
    if unsafe { ffi::PyStatus_Exception(status) } == 0 {
        return Ok(());
    }
    // SAFETY: as above.
    if unsafe { ffi::PyStatus_IsExit(status) } != 0 {
        return Err(NewInterpreterError::Exit {
            phase,
            code: status.exitcode,
        });
    }
    let text = |ptr: *const c_char| {
        (!ptr.is_null()).then(|| {
            // SAFETY: CPython fills `func` and `err_msg` with NUL-terminated
            // static strings or leaves them NULL (checked above).
            unsafe { CStr::from_ptr(ptr) }
                .to_string_lossy()
                .into_owned()
        })
    };
    Err(NewInterpreterError::Status {
        phase,
        function: text(status.func),
        message: text(status.err_msg).unwrap_or_else(|| "unknown error".to_string()),
    })
}

fn c_string(field: &'static str, bytes: &[u8]) -> Result<CString, NewInterpreterError> {
    CString::new(bytes).map_err(|e| NewInterpreterError::InvalidConfig {
        field,
        message: format!("contains a NUL byte at offset {}", e.nul_position()),
    })
}

fn int(value: bool) -> i32 {
    i32::from(value)
}

fn set_flag(slot: &mut i32, value: Option<bool>) {
    if let Some(value) = value {
        *slot = int(value);
    }
}

/// Reject NUL bytes in every string CPython will be given, before CPython is
/// touched, so the error names the field and leaves the process able to retry.
pub(crate) fn check_no_nul(config: &PythonInterpreterConfig) -> Result<(), NewInterpreterError> {
    let paths: [(&'static str, &Option<std::path::PathBuf>); 10] = [
        (
            "interpreter_config.base_exec_prefix",
            &config.base_exec_prefix,
        ),
        (
            "interpreter_config.base_executable",
            &config.base_executable,
        ),
        ("interpreter_config.base_prefix", &config.base_prefix),
        ("interpreter_config.exec_prefix", &config.exec_prefix),
        ("interpreter_config.executable", &config.executable),
        ("interpreter_config.home", &config.home),
        ("interpreter_config.prefix", &config.prefix),
        ("interpreter_config.program_name", &config.program_name),
        ("interpreter_config.pycache_prefix", &config.pycache_prefix),
        ("interpreter_config.run_filename", &config.run_filename),
    ];
    for (field, value) in paths {
        if let Some(path) = value {
            c_string(field, path.as_os_str().as_bytes())?;
        }
    }
    let strings: [(&'static str, &Option<String>); 8] = [
        (
            "interpreter_config.filesystem_encoding",
            &config.filesystem_encoding,
        ),
        (
            "interpreter_config.filesystem_errors",
            &config.filesystem_errors,
        ),
        ("interpreter_config.platlibdir", &config.platlibdir),
        (
            "interpreter_config.python_path_env",
            &config.python_path_env,
        ),
        ("interpreter_config.run_command", &config.run_command),
        ("interpreter_config.run_module", &config.run_module),
        ("interpreter_config.stdio_encoding", &config.stdio_encoding),
        ("interpreter_config.stdio_errors", &config.stdio_errors),
    ];
    for (field, value) in strings {
        if let Some(s) = value {
            c_string(field, s.as_bytes())?;
        }
    }
    let lists: [(&'static str, Option<Vec<&OsStr>>); 4] = [
        (
            "interpreter_config.module_search_paths",
            config
                .module_search_paths
                .as_ref()
                .map(|v| v.iter().map(|p| p.as_os_str()).collect()),
        ),
        (
            "interpreter_config.warn_options",
            config
                .warn_options
                .as_ref()
                .map(|v| v.iter().map(OsStr::new).collect()),
        ),
        (
            "interpreter_config.x_options",
            config
                .x_options
                .as_ref()
                .map(|v| v.iter().map(OsStr::new).collect()),
        ),
        (
            "interpreter_config.argv",
            config
                .argv
                .as_ref()
                .map(|v| v.iter().map(|a| a.as_os_str()).collect()),
        ),
    ];
    for (field, items) in lists {
        for item in items.into_iter().flatten() {
            c_string(field, item.as_bytes())?;
        }
    }
    Ok(())
}

/// The `PyPreConfig` for `config`, ready for `Py_PreInitialize*`.
pub(crate) fn pre_config(config: &PythonInterpreterConfig) -> ffi::PyPreConfig {
    let mut pre = MaybeUninit::<ffi::PyPreConfig>::uninit();
    // SAFETY: the PyPreConfig_Init* functions initialise every field of the
    // struct they are given; they need no prior initialisation of CPython.
    let mut pre = unsafe {
        match config.profile {
            PythonInterpreterProfile::Isolated => {
                ffi::PyPreConfig_InitIsolatedConfig(pre.as_mut_ptr())
            }
            PythonInterpreterProfile::Python => ffi::PyPreConfig_InitPythonConfig(pre.as_mut_ptr()),
        }
        pre.assume_init()
    };
    if let Some(v) = config.parse_argv {
        pre.parse_argv = int(v);
    }
    if let Some(v) = config.isolated {
        pre.isolated = int(v);
    }
    if let Some(v) = config.use_environment {
        pre.use_environment = int(v);
    }
    if let Some(v) = config.configure_locale {
        pre.configure_locale = int(v);
    }
    if let Some(v) = config.coerce_c_locale {
        pre.coerce_c_locale = v.as_raw();
    }
    if let Some(v) = config.coerce_c_locale_warn {
        pre.coerce_c_locale_warn = int(v);
    }
    if let Some(v) = config.utf8_mode {
        pre.utf8_mode = int(v);
    }
    if let Some(v) = config.development_mode {
        pre.dev_mode = int(v);
    }
    if let Some(v) = config.allocator {
        pre.allocator = v.as_raw();
    }
    #[cfg(windows)]
    if let Some(v) = config.legacy_windows_fs_encoding {
        pre.legacy_windows_fs_encoding = int(v);
    }
    pre
}

/// Arguments as NUL-terminated byte strings plus the `argv` pointer array
/// CPython's `*FromBytesArgs` functions take. The pointers borrow `strings`.
pub(crate) struct BytesArgv {
    strings: Vec<CString>,
}

impl BytesArgv {
    pub(crate) fn new(
        field: &'static str,
        args: &[impl AsRef<OsStr>],
    ) -> Result<Self, NewInterpreterError> {
        let strings = args
            .iter()
            .map(|a| c_string(field, a.as_ref().as_bytes()))
            .collect::<Result<_, _>>()?;
        Ok(Self { strings })
    }

    /// Pointer array; valid while `self` lives.
    pub(crate) fn pointers(&self) -> Vec<*mut c_char> {
        self.strings
            .iter()
            .map(|s| s.as_ptr() as *mut c_char)
            .collect()
    }
}

/// An initialised `PyConfig` that is cleared when dropped.
pub(crate) struct OwnedPyConfig {
    inner: Box<ffi::PyConfig>,
}

impl Drop for OwnedPyConfig {
    fn drop(&mut self) {
        // SAFETY: `inner` was initialised by PyConfig_Init*Config; PyConfig_Clear
        // frees the strings CPython allocated for it and is idempotent.
        unsafe { ffi::PyConfig_Clear(&mut *self.inner) };
    }
}

impl OwnedPyConfig {
    /// A pointer for `Py_InitializeFromConfig`.
    pub(crate) fn as_ptr(&self) -> *const ffi::PyConfig {
        &*self.inner
    }

    fn set_bytes(
        &mut self,
        field: &'static str,
        slot: fn(&mut ffi::PyConfig) -> &mut *mut libc::wchar_t,
        value: &[u8],
    ) -> Result<(), NewInterpreterError> {
        let value = c_string(field, value)?;
        let config: *mut ffi::PyConfig = &mut *self.inner;
        // SAFETY: `config` is an initialised PyConfig and `slot` selects one of
        // its `wchar_t *` members; CPython decodes `value` (which outlives the
        // call) with the locale encoding and stores a newly allocated string.
        // Pre-initialisation has run, as PyConfig_SetBytesString requires.
        let status =
            unsafe { ffi::PyConfig_SetBytesString(config, slot(&mut *config), value.as_ptr()) };
        check_status(status, InitPhase::Config).map_err(|e| field_error(field, e))
    }

    fn set_path(
        &mut self,
        field: &'static str,
        slot: fn(&mut ffi::PyConfig) -> &mut *mut libc::wchar_t,
        value: &Option<impl AsRef<Path>>,
    ) -> Result<(), NewInterpreterError> {
        match value {
            Some(path) => self.set_bytes(field, slot, path.as_ref().as_os_str().as_bytes()),
            None => Ok(()),
        }
    }

    fn set_str(
        &mut self,
        field: &'static str,
        slot: fn(&mut ffi::PyConfig) -> &mut *mut libc::wchar_t,
        value: &Option<String>,
    ) -> Result<(), NewInterpreterError> {
        match value {
            Some(s) => self.set_bytes(field, slot, s.as_bytes()),
            None => Ok(()),
        }
    }

    fn append_list(
        &mut self,
        field: &'static str,
        list: fn(&mut ffi::PyConfig) -> &mut ffi::PyWideStringList,
        items: &[impl AsRef<OsStr>],
    ) -> Result<(), NewInterpreterError> {
        for item in items {
            let item = c_string(field, item.as_ref().as_bytes())?;
            // SAFETY: `item` is NUL-terminated; Py_DecodeLocale returns a
            // PyMem_RawMalloc'ed wide string or NULL, and needs only
            // pre-initialisation.
            let wide = unsafe { ffi::Py_DecodeLocale(item.as_ptr(), std::ptr::null_mut()) };
            if wide.is_null() {
                return Err(NewInterpreterError::InvalidConfig {
                    field,
                    message: format!("{item:?} cannot be decoded with the locale encoding"),
                });
            }
            // SAFETY: the list belongs to our initialised PyConfig; Append copies
            // `wide`, which we then free with the allocator that made it.
            let status = unsafe {
                let status = ffi::PyWideStringList_Append(list(&mut self.inner), wide);
                ffi::PyMem_RawFree(wide.cast());
                status
            };
            check_status(status, InitPhase::Config).map_err(|e| field_error(field, e))?;
        }
        Ok(())
    }
}

fn field_error(field: &'static str, error: NewInterpreterError) -> NewInterpreterError {
    NewInterpreterError::InvalidConfig {
        field,
        message: error.to_string(),
    }
}

/// Build the `PyConfig` for `config`, with `argv` as `sys.argv` source.
///
/// `_init_main` is cleared so `Py_InitializeFromConfig` stops after the core
/// phase, leaving room to install an importer before `encodings` is imported.
pub(crate) fn py_config(
    config: &PythonInterpreterConfig,
    argv: &[impl AsRef<OsStr>],
) -> Result<OwnedPyConfig, NewInterpreterError> {
    let mut raw = Box::new(MaybeUninit::<ffi::PyConfig>::uninit());
    // SAFETY: PyConfig_Init*Config initialise every member of the struct.
    let raw = unsafe {
        match config.profile {
            PythonInterpreterProfile::Isolated => {
                ffi::PyConfig_InitIsolatedConfig(raw.as_mut_ptr())
            }
            PythonInterpreterProfile::Python => ffi::PyConfig_InitPythonConfig(raw.as_mut_ptr()),
        }
        Box::from_raw(Box::into_raw(raw).cast::<ffi::PyConfig>())
    };
    let mut out = OwnedPyConfig { inner: raw };

    {
        let c = &mut *out.inner;
        set_flag(&mut c.isolated, config.isolated);
        set_flag(&mut c.use_environment, config.use_environment);
        set_flag(&mut c.dev_mode, config.development_mode);
        set_flag(
            &mut c.install_signal_handlers,
            config.install_signal_handlers,
        );
        set_flag(&mut c.faulthandler, config.fault_handler);
        set_flag(&mut c.tracemalloc, config.tracemalloc);
        set_flag(&mut c.import_time, config.import_time);
        set_flag(&mut c.code_debug_ranges, config.code_debug_ranges);
        set_flag(&mut c.show_ref_count, config.show_ref_count);
        set_flag(&mut c.dump_refs, config.dump_refs);
        set_flag(&mut c.malloc_stats, config.malloc_stats);
        set_flag(&mut c.parse_argv, config.parse_argv);
        set_flag(&mut c.site_import, config.site_import);
        set_flag(&mut c.warn_default_encoding, config.warn_default_encoding);
        set_flag(&mut c.inspect, config.inspect);
        set_flag(&mut c.interactive, config.interactive);
        set_flag(&mut c.parser_debug, config.parser_debug);
        set_flag(&mut c.write_bytecode, config.write_bytecode);
        set_flag(&mut c.verbose, config.verbose);
        set_flag(&mut c.quiet, config.quiet);
        set_flag(&mut c.user_site_directory, config.user_site_directory);
        set_flag(&mut c.configure_c_stdio, config.configure_c_stdio);
        set_flag(&mut c.buffered_stdio, config.buffered_stdio);
        set_flag(&mut c.use_frozen_modules, config.use_frozen_modules);
        set_flag(&mut c.safe_path, config.safe_path);
        set_flag(&mut c.pathconfig_warnings, config.pathconfig_warnings);
        set_flag(&mut c.skip_source_first_line, config.skip_first_source_line);
        #[cfg(windows)]
        set_flag(&mut c.legacy_windows_stdio, config.legacy_windows_stdio);
        if let Some(seed) = config.hash_seed {
            c.use_hash_seed = 1;
            c.hash_seed = seed as libc::c_ulong;
        }
        if let Some(level) = config.optimization_level {
            c.optimization_level = level as i32;
        }
        if let Some(warning) = config.bytes_warning {
            c.bytes_warning = warning.as_raw();
        }
        #[cfg(Py_3_12)]
        if let Some(digits) = config.int_max_str_digits {
            c.int_max_str_digits = digits;
        }
        // Stop after the core phase: MainPythonInterpreter finishes with
        // _Py_InitializeMain() once its importer is in place.
        c._init_main = 0;
    }

    out.set_path(
        "interpreter_config.base_exec_prefix",
        |c| &mut c.base_exec_prefix,
        &config.base_exec_prefix,
    )?;
    out.set_path(
        "interpreter_config.base_executable",
        |c| &mut c.base_executable,
        &config.base_executable,
    )?;
    out.set_path(
        "interpreter_config.base_prefix",
        |c| &mut c.base_prefix,
        &config.base_prefix,
    )?;
    out.set_path(
        "interpreter_config.exec_prefix",
        |c| &mut c.exec_prefix,
        &config.exec_prefix,
    )?;
    out.set_path(
        "interpreter_config.executable",
        |c| &mut c.executable,
        &config.executable,
    )?;
    out.set_path("interpreter_config.home", |c| &mut c.home, &config.home)?;
    out.set_path(
        "interpreter_config.prefix",
        |c| &mut c.prefix,
        &config.prefix,
    )?;
    out.set_path(
        "interpreter_config.program_name",
        |c| &mut c.program_name,
        &config.program_name,
    )?;
    out.set_path(
        "interpreter_config.pycache_prefix",
        |c| &mut c.pycache_prefix,
        &config.pycache_prefix,
    )?;
    out.set_path(
        "interpreter_config.run_filename",
        |c| &mut c.run_filename,
        &config.run_filename,
    )?;
    out.set_str(
        "interpreter_config.filesystem_encoding",
        |c| &mut c.filesystem_encoding,
        &config.filesystem_encoding,
    )?;
    out.set_str(
        "interpreter_config.filesystem_errors",
        |c| &mut c.filesystem_errors,
        &config.filesystem_errors,
    )?;
    out.set_str(
        "interpreter_config.platlibdir",
        |c| &mut c.platlibdir,
        &config.platlibdir,
    )?;
    out.set_str(
        "interpreter_config.python_path_env",
        |c| &mut c.pythonpath_env,
        &config.python_path_env,
    )?;
    out.set_str(
        "interpreter_config.run_module",
        |c| &mut c.run_module,
        &config.run_module,
    )?;
    out.set_str(
        "interpreter_config.stdio_encoding",
        |c| &mut c.stdio_encoding,
        &config.stdio_encoding,
    )?;
    out.set_str(
        "interpreter_config.stdio_errors",
        |c| &mut c.stdio_errors,
        &config.stdio_errors,
    )?;
    let run_command = config.run_command.as_ref().map(|command| {
        // `python -c` appends a newline so a last line that is a comment or a
        // compound statement still compiles.
        if command.ends_with('\n') {
            command.clone()
        } else {
            format!("{command}\n")
        }
    });
    out.set_str(
        "interpreter_config.run_command",
        |c| &mut c.run_command,
        &run_command,
    )?;
    let check_hash = config.check_hash_pycs_mode.map(|m| m.as_str().to_string());
    out.set_str(
        "interpreter_config.check_hash_pycs_mode",
        |c| &mut c.check_hash_pycs_mode,
        &check_hash,
    )?;

    if let Some(paths) = &config.module_search_paths {
        out.inner.module_search_paths_set = 1;
        let paths: Vec<&OsStr> = paths.iter().map(|p| p.as_os_str()).collect();
        out.append_list(
            "interpreter_config.module_search_paths",
            |c| &mut c.module_search_paths,
            &paths,
        )?;
    }
    if let Some(options) = &config.warn_options {
        out.append_list(
            "interpreter_config.warn_options",
            |c| &mut c.warnoptions,
            options,
        )?;
    }
    // CPython 3.11 has no PyConfig member for the limit; it reads `-X
    // int_max_str_digits=N` while building the configuration instead. It takes
    // the first occurrence, so the option goes before `x_options`: the
    // dedicated field wins over a generic option, as on 3.12+.
    #[cfg(not(Py_3_12))]
    if let Some(digits) = config.int_max_str_digits {
        let option = format!("int_max_str_digits={digits}");
        out.append_list(
            "interpreter_config.int_max_str_digits",
            |c| &mut c.xoptions,
            &[option],
        )?;
    }
    if let Some(options) = &config.x_options {
        out.append_list("interpreter_config.x_options", |c| &mut c.xoptions, options)?;
    }

    let args = BytesArgv::new("argv", argv)?;
    let mut pointers = args.pointers();
    let argc = isize::try_from(pointers.len()).map_err(|_| NewInterpreterError::InvalidConfig {
        field: "argv",
        message: "too many arguments".into(),
    })?;
    let config_ptr: *mut ffi::PyConfig = &mut *out.inner;
    // SAFETY: `pointers` holds `argc` NUL-terminated strings owned by `args`,
    // both alive for the call; CPython copies and decodes them.
    let status =
        unsafe { ffi::PyConfig_SetBytesArgv(config_ptr, argc, pointers.as_mut_ptr().cast()) };
    check_status(status, InitPhase::Config).map_err(|e| field_error("argv", e))?;

    Ok(out)
}
