//! What `OxidizedPythonInterpreterConfig` adds around CPython, observed from
//! inside the interpreter: `sys.frozen`, `sys._MEIPASS`, `sys.argvb`,
//! `sys.oxidized`, `TERMINFO_DIRS` and `TCL_LIBRARY`, the loaded-modules
//! report, removing the filesystem importer, the multiprocessing start
//! method, and extension modules defined in Rust.

#[macro_use]
mod support;

use std::ffi::OsString;
use std::os::raw::c_char;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

use pyembed::{ExtensionModule, MultiprocessingStartMethod, TerminfoResolution};
use pyo3::ffi;
use pyo3::prelude::*;
use support::{TempDir, config, eval, isolated_config, origin, python, start};

forked_test! {
    fn sys_oxidized_is_always_set() {
        let oxidized: bool = python(config(&["prog"]), "import sys\nsys.oxidized");
        assert!(oxidized);
    }

    fn sys_frozen_is_set_when_asked() {
        let mut config = config(&["prog"]);
        config.sys_frozen = true;
        let frozen: bool = python(config, "import sys\nsys.frozen");
        assert!(frozen);
    }

    fn sys_frozen_is_absent_by_default() {
        let present: bool = python(config(&["prog"]), "import sys\nhasattr(sys, 'frozen')");
        assert!(!present);
    }

    fn sys_meipass_is_the_origin_as_a_str() {
        let mut config = config(&["prog"]);
        config.sys_meipass = true;
        let (meipass, is_str): (String, bool) =
            python(config, "import sys\n(sys._MEIPASS, type(sys._MEIPASS) is str)");
        assert_eq!(PathBuf::from(meipass), origin());
        assert!(is_str);
    }

    fn sys_meipass_follows_an_explicit_origin() {
        let dir = TempDir::new("meipass");
        let mut config = config(&["prog"]);
        config.sys_meipass = true;
        config.origin = Some(dir.path().to_path_buf());
        let meipass: String = python(config, "import sys\nsys._MEIPASS");
        assert_eq!(Path::new(&meipass), dir.path());
    }

    fn sys_meipass_is_absent_by_default() {
        let present: bool = python(config(&["prog"]), "import sys\nhasattr(sys, '_MEIPASS')");
        assert!(!present);
    }

    fn sys_argvb_holds_the_arguments_as_bytes() {
        let mut config = config(&["prog", "a", "é"]);
        config.argvb = true;
        let argvb: Vec<Vec<u8>> = python(config, "import sys\nsys.argvb");
        assert_eq!(argvb, [b"prog".to_vec(), b"a".to_vec(), "é".as_bytes().to_vec()]);
    }

    fn sys_argvb_is_absent_by_default() {
        let present: bool = python(config(&["prog"]), "import sys\nhasattr(sys, 'argvb')");
        assert!(!present);
    }

    fn non_utf8_arguments_round_trip() {
        let mut config = config(&[]);
        config.argv = Some(vec!["prog".into(), OsString::from_vec(vec![b'a', 0xff])]);
        config.argvb = true;
        // A lone surrogate cannot cross into a Rust `String`: compare in Python.
        let (surrogate_escaped, argvb, encoded): (bool, Vec<Vec<u8>>, Vec<u8>) = python(
            config,
            r#"
            import os, sys
            (sys.argv == ["prog", "a\udcff"], sys.argvb, os.fsencode(sys.argv[1]))
            "#,
        );
        assert!(surrogate_escaped);
        assert_eq!(argvb, [b"prog".to_vec(), vec![b'a', 0xff]]);
        // surrogateescape maps the string back to the original bytes.
        assert_eq!(encoded, [b'a', 0xff]);
    }

    fn non_utf8_arguments_round_trip_in_the_isolated_profile() {
        let mut config = isolated_config(&[]);
        config.argv = Some(vec!["prog".into(), OsString::from_vec(vec![b'a', 0xff])]);
        let encoded: Vec<u8> = python(config, "import os, sys\nos.fsencode(sys.argv[1])");
        assert_eq!(encoded, [b'a', 0xff]);
    }

    fn sys_argvb_comes_from_argv_not_interpreter_config_argv() {
        let mut config = config(&["outer"]);
        config.interpreter_config.argv = Some(vec!["inner".into()]);
        config.argvb = true;
        let (argv, argvb): (Vec<String>, Vec<Vec<u8>>) =
            python(config, "import sys\n(sys.argv, sys.argvb)");
        assert_eq!(argv, ["inner"]);
        assert_eq!(argvb, [b"outer".to_vec()]);
    }

    fn filesystem_importer_false_removes_path_finder() {
        let mut config = config(&["prog"]);
        config.filesystem_importer = false;
        let (has_path_finder, loaded_before, error): (bool, bool, String) = python(
            config,
            r#"
            import sys
            loaded_before = "fractions" in sys.modules
            try:
                import fractions
                error = "imported"
            except ModuleNotFoundError as e:
                error = f"{type(e).__name__}: {e}"
            (any(getattr(f, "__name__", "") == "PathFinder" for f in sys.meta_path),
             loaded_before, error)
            "#,
        );
        assert!(!has_path_finder);
        assert!(!loaded_before);
        assert_eq!(error, "ModuleNotFoundError: No module named 'fractions'");
    }

    fn filesystem_importer_false_keeps_builtin_and_frozen_modules() {
        let mut config = config(&["prog"]);
        config.filesystem_importer = false;
        let (builtin, frozen): (String, String) = python(
            config,
            r#"
            import math, __phello__
            (math.__spec__.origin, __phello__.__spec__.origin)
            "#,
        );
        assert_eq!((builtin.as_str(), frozen.as_str()), ("built-in", "frozen"));
    }

    fn filesystem_importer_true_keeps_path_finder() {
        let has_path_finder: bool = python(
            config(&["prog"]),
            r#"
            import sys
            any(getattr(f, "__name__", "") == "PathFinder" for f in sys.meta_path)
            "#,
        );
        assert!(has_path_finder);
    }

    fn multiprocessing_start_method_spawn_becomes_the_default() {
        let mut config = config(&["prog"]);
        config.multiprocessing_start_method = MultiprocessingStartMethod::Spawn;
        let (method, hook_left): (String, bool) = python(
            config,
            r#"
            import sys, multiprocessing
            hook_left = any(type(f).__name__ == "StartMethodFinder" for f in sys.meta_path)
            (multiprocessing.get_start_method(), hook_left)
            "#,
        );
        assert_eq!(method, "spawn");
        assert!(!hook_left, "the one-shot finder removes itself");
    }

    fn multiprocessing_start_method_spawn_leaves_the_choice_to_the_application() {
        let mut config = config(&["prog"]);
        config.multiprocessing_start_method = MultiprocessingStartMethod::Spawn;
        // As in CPython, only an earlier get_start_method()/get_context() call
        // fixes the context; the configured default does not.
        let method: String = python(
            config,
            r#"
            import multiprocessing
            multiprocessing.set_start_method("fork")
            multiprocessing.get_start_method()
            "#,
        );
        assert_eq!(method, "fork");
    }

    fn multiprocessing_start_method_forkserver_becomes_the_default() {
        let mut config = config(&["prog"]);
        config.multiprocessing_start_method = MultiprocessingStartMethod::ForkServer;
        let method: String =
            python(config, "import multiprocessing\nmultiprocessing.get_start_method()");
        assert_eq!(method, "forkserver");
    }

    fn multiprocessing_start_method_auto_keeps_cpython_default() {
        let mut config = config(&["prog"]);
        config.multiprocessing_start_method = MultiprocessingStartMethod::Auto;
        let (method, hooked): (String, bool) = python(
            config,
            r#"
            import sys
            hooked = any(type(f).__name__ == "StartMethodFinder" for f in sys.meta_path)
            import multiprocessing
            (multiprocessing.get_start_method(), hooked)
            "#,
        );
        assert_eq!(method, "fork");
        assert!(!hooked);
    }

    fn multiprocessing_start_method_none_keeps_cpython_default() {
        let mut config = config(&["prog"]);
        config.multiprocessing_start_method = MultiprocessingStartMethod::None;
        let method: String =
            python(config, "import multiprocessing\nmultiprocessing.get_start_method()");
        assert_eq!(method, "fork");
    }

    fn terminfo_static_sets_terminfo_dirs() {
        // SAFETY: this forked child runs one test; nothing else reads the
        // environment concurrently before the interpreter starts.
        unsafe { std::env::remove_var("TERMINFO_DIRS") };
        let mut config = config(&["prog"]);
        config.terminfo_resolution = TerminfoResolution::Static("/pyembed/a:/pyembed/b".into());
        let dirs: Option<String> =
            python(config, "import os\nos.environ.get('TERMINFO_DIRS')");
        assert_eq!(dirs.as_deref(), Some("/pyembed/a:/pyembed/b"));
    }

    fn terminfo_none_leaves_terminfo_dirs_unset() {
        // SAFETY: as in terminfo_static_sets_terminfo_dirs.
        unsafe { std::env::remove_var("TERMINFO_DIRS") };
        let mut config = config(&["prog"]);
        config.terminfo_resolution = TerminfoResolution::None;
        let dirs: Option<String> =
            python(config, "import os\nos.environ.get('TERMINFO_DIRS')");
        assert_eq!(dirs, None);
    }

    fn terminfo_dynamic_uses_the_distribution_directories() {
        // SAFETY: as in terminfo_static_sets_terminfo_dirs.
        unsafe { std::env::remove_var("TERMINFO_DIRS") };
        let mut config = config(&["prog"]);
        config.terminfo_resolution = TerminfoResolution::Dynamic;
        let dirs: Option<String> =
            python(config, "import os\nos.environ.get('TERMINFO_DIRS')");
        let expected = if Path::new("/etc/debian_version").exists() {
            "/etc/terminfo:/lib/terminfo:/usr/share/terminfo"
        } else {
            "/usr/share/terminfo"
        };
        assert_eq!(dirs.as_deref(), Some(expected));
    }

    fn tcl_library_expands_origin() {
        // SAFETY: as in terminfo_static_sets_terminfo_dirs.
        unsafe { std::env::remove_var("TCL_LIBRARY") };
        let mut config = config(&["prog"]);
        config.tcl_library = Some("$ORIGIN/tcl8.6".into());
        let tcl: Option<String> = python(config, "import os\nos.environ.get('TCL_LIBRARY')");
        assert_eq!(tcl.map(PathBuf::from), Some(origin().join("tcl8.6")));
    }

    fn rust_pymodule_is_importable_as_a_builtin() {
        let mut config = config(&["prog"]);
        config.extra_extension_modules = Some(vec![ExtensionModule {
            name: c"pyembed_rust_module".into(),
            init_func: PyInit_pyembed_rust_module,
        }]);
        let (answer, doubled, builtin): (i64, i64, bool) = python(
            config,
            r#"
            import sys, pyembed_rust_module as m
            (m.ANSWER, m.double(21), "pyembed_rust_module" in sys.builtin_module_names)
            "#,
        );
        assert_eq!((answer, doubled, builtin), (42, 42, true));
    }

    fn single_phase_extension_module_is_importable() {
        let mut config = config(&["prog"]);
        config.extra_extension_modules = Some(vec![ExtensionModule {
            name: c"pyembed_raw_module".into(),
            init_func: init_raw_module,
        }]);
        let (value, origin): (i64, String) = python(
            config,
            "import pyembed_raw_module as m\n(m.VALUE, m.__spec__.origin)",
        );
        assert_eq!((value, origin.as_str()), (7, "built-in"));
    }

    fn failing_extension_module_init_raises_its_exception() {
        let mut config = config(&["prog"]);
        config.extra_extension_modules = Some(vec![
            ExtensionModule { name: c"pyembed_failing_module".into(), init_func: init_failing_module },
            ExtensionModule { name: c"pyembed_raw_module".into(), init_func: init_raw_module },
        ]);
        let interpreter = start(config);
        let (first, second): (String, String) = interpreter.with_gil(|py| {
            eval(
                py,
                r#"
                def attempt():
                    try:
                        import pyembed_failing_module
                        return "imported"
                    except Exception as e:
                        return f"{type(e).__name__}: {e}"
                (attempt(), attempt())
                "#,
            )
        });
        assert_eq!(first, "RuntimeError: pyembed test: module init failed");
        assert_eq!(second, first);
        // The interpreter carries on, other extension modules included.
        let value: i64 = interpreter.with_gil(|py| eval(py, "import pyembed_raw_module\npyembed_raw_module.VALUE"));
        assert_eq!(value, 7);
    }

    fn extension_module_init_returning_null_silently_is_a_system_error() {
        let mut config = config(&["prog"]);
        config.extra_extension_modules = Some(vec![ExtensionModule {
            name: c"pyembed_silent_module".into(),
            init_func: init_silently_failing_module,
        }]);
        let (error, alive): (String, i64) = python(
            config,
            r#"
            try:
                import pyembed_silent_module
                error = "imported"
            except Exception as e:
                error = type(e).__name__
            (error, 6 * 7)
            "#,
        );
        assert_eq!((error.as_str(), alive), ("SystemError", 42));
    }
}

#[test]
fn terminfo_does_not_override_an_existing_value() {
    forked!(
        terminfo_does_not_override_an_existing_value,
        &[("TERMINFO_DIRS", Some("/pyembed/user-choice"))],
        || {
            let mut config = config(&["prog"]);
            config.terminfo_resolution = TerminfoResolution::Static("/pyembed/config".into());
            let dirs: Option<String> = python(config, "import os\nos.environ.get('TERMINFO_DIRS')");
            assert_eq!(dirs.as_deref(), Some("/pyembed/user-choice"));
        }
    )
    .assert_success();
}

#[test]
fn tcl_library_does_not_override_an_existing_value() {
    forked!(
        tcl_library_does_not_override_an_existing_value,
        &[("TCL_LIBRARY", Some("/pyembed/user-tcl"))],
        || {
            let mut config = config(&["prog"]);
            config.tcl_library = Some("$ORIGIN/tcl8.6".into());
            let tcl: Option<String> = python(config, "import os\nos.environ.get('TCL_LIBRARY')");
            assert_eq!(tcl.as_deref(), Some("/pyembed/user-tcl"));
        }
    )
    .assert_success();
}

/// The variable `write_modules_directory_env` names in these tests.
const MODULES_ENV: &str = "PYEMBED_TEST_MODULES_DIR";

/// The lines of every `modules-*` file in `dir`, one `Vec` per file.
fn module_reports(dir: &Path) -> Vec<Vec<String>> {
    let mut reports: Vec<_> = std::fs::read_dir(dir)
        .expect("reading the modules directory")
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("modules-"))
        })
        .collect();
    reports.sort();
    reports
        .iter()
        .map(|path| {
            std::fs::read_to_string(path)
                .unwrap()
                .lines()
                .map(str::to_string)
                .collect()
        })
        .collect()
}

#[test]
fn write_modules_directory_env_reports_loaded_modules_when_dropped() {
    let dir = TempDir::new("modules-drop");
    forked!(
        write_modules_directory_env_reports_loaded_modules_when_dropped,
        &[(MODULES_ENV, Some(dir.as_str()))],
        || {
            let mut config = config(&["prog"]);
            config.write_modules_directory_env = Some(MODULES_ENV.into());
            let interpreter = start(config);
            let _: bool = interpreter.with_gil(|py| eval(py, "import json\nTrue"));
            drop(interpreter);
        }
    )
    .assert_success();
    let reports = module_reports(dir.path());
    assert_eq!(reports.len(), 1, "{reports:?}");
    let names = &reports[0];
    assert!(names.iter().any(|n| n == "sys"), "{names:?}");
    assert!(names.iter().any(|n| n == "json"), "{names:?}");
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(&sorted, names, "the report is sorted");
}

#[test]
fn write_modules_directory_env_reports_loaded_modules_after_py_runmain() {
    let dir = TempDir::new("modules-runmain");
    forked!(
        write_modules_directory_env_reports_loaded_modules_after_py_runmain,
        &[(MODULES_ENV, Some(dir.as_str()))],
        || {
            let mut config = config(&["prog"]);
            config.write_modules_directory_env = Some(MODULES_ENV.into());
            config.interpreter_config.run_command = Some("import csv".into());
            assert_eq!(start(config).py_runmain(), 0);
        }
    )
    .assert_success();
    let reports = module_reports(dir.path());
    assert_eq!(reports.len(), 1, "{reports:?}");
    assert!(reports[0].iter().any(|n| n == "sys"), "{reports:?}");
    assert!(reports[0].iter().any(|n| n == "csv"), "{reports:?}");
}

#[test]
fn write_modules_directory_env_does_nothing_when_the_variable_is_unset() {
    let dir = TempDir::new("modules-unset");
    forked!(
        write_modules_directory_env_does_nothing_when_the_variable_is_unset,
        &[(MODULES_ENV, None)],
        || {
            let mut config = config(&["prog"]);
            config.write_modules_directory_env = Some(MODULES_ENV.into());
            let _: bool = python(config, "import json\nTrue");
        }
    )
    .assert_success();
    assert!(module_reports(dir.path()).is_empty());
}

#[test]
fn write_modules_directory_env_ignores_an_empty_variable() {
    forked!(
        write_modules_directory_env_ignores_an_empty_variable,
        &[(MODULES_ENV, Some(""))],
        || {
            let mut config = config(&["prog"]);
            config.write_modules_directory_env = Some(MODULES_ENV.into());
            let registered: bool = python(
                config,
                r#"
                import atexit
                atexit._ncallbacks() > 0
                "#,
            );
            assert!(!registered, "no atexit writer for an empty directory name");
        }
    )
    .assert_success();
}

/// A module defined with pyo3's `#[pymodule]` (multi-phase initialisation).
#[pymodule]
fn pyembed_rust_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    #[pyfunction]
    fn double(x: i64) -> i64 {
        x * 2
    }
    m.add("ANSWER", 42)?;
    m.add_function(wrap_pyfunction!(double, m)?)?;
    Ok(())
}

unsafe extern "C" {
    /// The entry point `#[pymodule]` exports for `pyembed_rust_module`.
    fn PyInit_pyembed_rust_module() -> *mut ffi::PyObject;
}

/// A single-phase extension module written against the raw C API.
extern "C" fn init_raw_module() -> *mut ffi::PyObject {
    let def = Box::leak(Box::new(ffi::PyModuleDef {
        m_base: ffi::PyModuleDef_HEAD_INIT,
        m_name: c"pyembed_raw_module".as_ptr(),
        m_doc: std::ptr::null(),
        m_size: -1,
        m_methods: std::ptr::null_mut(),
        m_slots: std::ptr::null_mut(),
        m_traverse: None,
        m_clear: None,
        m_free: None,
    }));
    // SAFETY: CPython calls this init function with the GIL held; `def` is a
    // complete module definition leaked so it lives as long as the module.
    let module = unsafe { ffi::PyModule_Create(def) };
    if module.is_null() {
        return module;
    }
    // SAFETY: `module` is a new module object and the name is NUL-terminated.
    if unsafe { ffi::PyModule_AddIntConstant(module, c"VALUE".as_ptr(), 7) } != 0 {
        // SAFETY: we own the reference returned by PyModule_Create.
        unsafe { ffi::Py_DECREF(module) };
        return std::ptr::null_mut();
    }
    module
}

/// An init function that fails with an exception set, as CPython expects.
extern "C" fn init_failing_module() -> *mut ffi::PyObject {
    let message: *const c_char = c"pyembed test: module init failed".as_ptr();
    // SAFETY: called by CPython with the GIL held; PyExc_RuntimeError is
    // initialised by then and `message` is NUL-terminated.
    unsafe { ffi::PyErr_SetString(ffi::PyExc_RuntimeError, message) };
    std::ptr::null_mut()
}

/// An init function that fails without setting an exception.
extern "C" fn init_silently_failing_module() -> *mut ffi::PyObject {
    std::ptr::null_mut()
}
