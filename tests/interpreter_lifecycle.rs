//! The life of a `MainPythonInterpreter`: one per process, errors before and
//! after CPython is touched, `with_gil` from several threads, `py_runmain()`
//! and `run()` with their exit codes, command-line parsing, and finalization.

#[macro_use]
mod support;

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

use pyembed::{
    InitPhase, MainPythonInterpreter, MemoryAllocatorBackend, NewInterpreterError,
    OxidizedPythonInterpreterConfig,
};
use support::{Forked, TempDir, config, eval, python, start, start_err};

forked_test! {
    fn a_second_interpreter_while_one_runs_is_refused() {
        let interpreter = start(config(&["prog"]));
        let err = start_err(config(&["prog"]));
        assert!(matches!(err, NewInterpreterError::AlreadyRunning), "{err:?}");
        assert_eq!(
            err.to_string(),
            "a Python interpreter already exists in this process; only one \
             MainPythonInterpreter may be alive at a time"
        );
        // The first one is unaffected.
        let answer: i64 = interpreter.with_gil(|py| eval(py, "6 * 7"));
        assert_eq!(answer, 42);
    }

    fn an_interpreter_after_finalization_is_refused() {
        drop(start(config(&["prog"])));
        let err = start_err(config(&["prog"]));
        assert!(matches!(err, NewInterpreterError::AlreadyFinalized), "{err:?}");
        assert_eq!(
            err.to_string(),
            "a Python interpreter was already created and finalized in this process; \
             CPython cannot be initialized a second time reliably"
        );
    }

    fn an_interpreter_after_py_runmain_is_refused() {
        let mut config = config(&["prog"]);
        config.interpreter_config.run_command = Some("pass".into());
        assert_eq!(start(config).py_runmain(), 0);
        let err = start_err(self::config(&["prog"]));
        assert!(matches!(err, NewInterpreterError::AlreadyFinalized), "{err:?}");
    }

    fn a_configuration_error_before_cpython_starts_can_be_retried() {
        let mut bad = config(&["prog"]);
        bad.interpreter_config.int_max_str_digits = Some(100);
        let err = start_err(bad);
        assert!(matches!(err, NewInterpreterError::InvalidConfig { .. }), "{err:?}");
        assert_eq!(err.phase(), InitPhase::Configuration);
        let answer: i64 = python(config(&["prog"]), "6 * 7");
        assert_eq!(answer, 42);
    }

    // With the feature on, jemalloc is available (tests/allocator_*.rs).
    #[cfg(not(feature = "allocator-jemalloc"))]
    fn an_unsupported_allocator_backend_is_refused_before_cpython_starts() {
        let mut bad = config(&["prog"]);
        bad.allocator_backend = MemoryAllocatorBackend::Jemalloc;
        let err = start_err(bad);
        assert!(
            matches!(&err, NewInterpreterError::Unsupported { what, .. } if what.contains("jemalloc")),
            "{err:?}"
        );
        assert!(err.to_string().contains("is not available in this build"), "{err}");
        let answer: i64 = python(config(&["prog"]), "6 * 7");
        assert_eq!(answer, 42);
    }

    fn the_system_allocator_backend_is_accepted() {
        let mut config = config(&["prog"]);
        config.allocator_backend = MemoryAllocatorBackend::System;
        config.allocator_raw = true;
        config.allocator_mem = true;
        config.allocator_obj = true;
        config.allocator_debug = true;
        let answer: i64 = python(config, "6 * 7");
        assert_eq!(answer, 42);
    }

    fn pymalloc_arena_with_mem_domain_is_invalid() {
        let mut config = config(&["prog"]);
        config.allocator_pymalloc_arena = true;
        config.allocator_mem = true;
        let err = start_err(config);
        assert!(
            matches!(err, NewInterpreterError::InvalidConfig { field: "allocator_pymalloc_arena", .. }),
            "{err:?}"
        );
        assert!(
            err.to_string().starts_with("invalid configuration field `allocator_pymalloc_arena`: "),
            "{err}"
        );
    }

    fn pymalloc_arena_with_obj_domain_is_invalid() {
        let mut config = config(&["prog"]);
        config.allocator_pymalloc_arena = true;
        config.allocator_obj = true;
        let err = start_err(config);
        assert!(
            matches!(err, NewInterpreterError::InvalidConfig { field: "allocator_pymalloc_arena", .. }),
            "{err:?}"
        );
    }

    fn argv_with_a_nul_byte_is_invalid() {
        let mut config = config(&["prog"]);
        config.argv = Some(vec!["prog".into(), OsString::from_vec(b"a\0b".to_vec())]);
        let err = start_err(config);
        assert!(matches!(err, NewInterpreterError::InvalidConfig { field: "argv", .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            "invalid configuration field `argv`: contains a NUL byte at offset 1"
        );
    }

    fn argv_with_a_nul_byte_is_refused_before_cpython_starts() {
        let mut bad = config(&["prog"]);
        bad.argv = Some(vec!["prog".into(), OsString::from_vec(b"a\0b".to_vec())]);
        let err = start_err(bad);
        assert!(matches!(err, NewInterpreterError::InvalidConfig { field: "argv", .. }), "{err:?}");
        let answer: i64 = python(config(&["prog"]), "6 * 7");
        assert_eq!(answer, 42);
    }

    fn a_string_field_with_a_nul_byte_is_refused_before_cpython_starts() {
        let mut bad = config(&["prog"]);
        bad.interpreter_config.run_command = Some("pass\0".into());
        let err = start_err(bad);
        assert!(
            matches!(err, NewInterpreterError::InvalidConfig { field: "interpreter_config.run_command", .. }),
            "{err:?}"
        );
        let answer: i64 = python(config(&["prog"]), "6 * 7");
        assert_eq!(answer, 42);
    }

    fn a_list_field_with_a_nul_byte_is_refused_before_cpython_starts() {
        let mut bad = config(&["prog"]);
        bad.interpreter_config.x_options = Some(vec!["a\0b".into()]);
        let err = start_err(bad);
        assert!(
            matches!(err, NewInterpreterError::InvalidConfig { field: "interpreter_config.x_options", .. }),
            "{err:?}"
        );
        let answer: i64 = python(config(&["prog"]), "6 * 7");
        assert_eq!(answer, 42);
    }

    fn a_missing_packed_resources_file_is_refused_before_cpython_starts() {
        let mut config = config(&["prog"]);
        config.oxidized_importer = true;
        config.packed_resources = vec![pyembed::PackedResourcesSource::MemoryMappedPath(
            "/nonexistent/pyembed-test.pyembed".into(),
        )];
        let err = start_err(config);
        assert!(
            matches!(&err, NewInterpreterError::PackedResources { container, .. }
                if container == "/nonexistent/pyembed-test.pyembed"),
            "{err:?}"
        );
        assert_eq!(err.phase(), pyembed::InitPhase::ImporterInstallation);
        assert_eq!(
            err.to_string(),
            "error during Python importer installation: cannot use packed resources \
             /nonexistent/pyembed-test.pyembed: cannot open packed resources file \
             /nonexistent/pyembed-test.pyembed: No such file or directory (os error 2)"
        );
        // Refused before CPython was touched: the process can still start one.
        let answer: i64 = python(self::config(&["prog"]), "6 * 7");
        assert_eq!(answer, 42);
    }

    fn hash_seed_out_of_range_is_invalid() {
        let mut config = config(&["prog"]);
        config.interpreter_config.hash_seed = Some(u64::from(u32::MAX) + 1);
        let err = start_err(config);
        assert!(
            matches!(err, NewInterpreterError::InvalidConfig { field: "interpreter_config.hash_seed", .. }),
            "{err:?}"
        );
    }

    fn hash_seed_at_the_cpython_maximum_is_accepted() {
        let mut config = config(&["prog"]);
        config.interpreter_config.hash_seed = Some(u64::from(u32::MAX));
        let answer: i64 = python(config, "6 * 7");
        assert_eq!(answer, 42);
    }

    fn config_returns_the_resolved_configuration() {
        let interpreter = start(config(&["prog"]));
        let resolved = interpreter.config();
        let exe = std::fs::canonicalize(std::env::current_exe().unwrap()).unwrap();
        assert_eq!(resolved.exe(), exe);
        assert_eq!(resolved.origin(), exe.parent().unwrap());
        assert_eq!(resolved.interpreter_config.program_name.as_deref(), Some(exe.as_path()));
    }

    fn a_panic_inside_with_gil_propagates_and_the_interpreter_survives() {
        let interpreter = start(config(&["prog"]));
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            interpreter.with_gil(|_py| panic!("pyembed test panic"))
        }));
        assert!(caught.is_err());
        let answer: i64 = interpreter.with_gil(|py| eval(py, "6 * 7"));
        assert_eq!(answer, 42);
    }

    fn the_gil_is_released_between_with_gil_calls() {
        let interpreter = start(config(&["prog"]));
        interpreter.with_gil(|py| support::exec(py, "import builtins\nbuiltins.pyembed_seen = []"));
        let threads: Vec<_> = (0..4)
            .map(|i| {
                std::thread::spawn(move || {
                    pyo3::Python::attach(|py| {
                        support::exec(py, &format!("import builtins\nbuiltins.pyembed_seen.append({i})"))
                    })
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        let seen: Vec<i64> =
            interpreter.with_gil(|py| eval(py, "import builtins\nsorted(builtins.pyembed_seen)"));
        assert_eq!(seen, [0, 1, 2, 3]);
    }

    fn dropping_the_interpreter_runs_atexit_handlers() {
        let dir = TempDir::new("atexit");
        let marker = dir.path().join("marker");
        let interpreter = start(config(&["prog"]));
        interpreter.with_gil(|py| {
            support::exec(
                py,
                &format!(
                    "import atexit\natexit.register(lambda: open({:?}, 'w').close())",
                    marker.to_str().unwrap()
                ),
            )
        });
        assert!(!marker.exists());
        drop(interpreter);
        assert!(marker.exists());
    }

    fn py_runmain_returns_zero_on_success() {
        assert_eq!(run_command("x = 1"), 0);
    }

    fn is_multiprocessing_recognises_a_spawned_worker() {
        let interpreter = start(config(&["exe", "--multiprocessing-fork", "pipe_handle=7"]));
        assert!(interpreter.is_multiprocessing());
    }

    fn is_multiprocessing_is_false_for_ordinary_arguments() {
        let interpreter = start(config(&["exe", "--other", "--multiprocessing-fork"]));
        assert!(!interpreter.is_multiprocessing());
    }

    fn parse_argv_applies_dev_mode_before_pre_initialization() {
        // -X dev must reach PyPreConfig (it selects the debug allocators).
        let mut config = config(&["prog", "-X", "dev"]);
        config.interpreter_config.parse_argv = Some(true);
        let dev_mode: bool = python(config, "import sys\nsys.flags.dev_mode");
        assert!(dev_mode);
    }
}

/// `py_runmain()` with `command` as `run_command`, for commands that end
/// without `SystemExit` (see [`runmain_child`]).
fn run_command(command: &str) -> i32 {
    let mut config = config(&["prog"]);
    config.interpreter_config.run_command = Some(command.into());
    start(config).py_runmain()
}

/// The marker a forked child prints when `py_runmain()` returned to it.
const RETURNED: &str = "pyembed-test: py_runmain returned";

/// A forked child that starts `config`, calls `py_runmain()`, prints
/// [`RETURNED`] and exits with the code it got.
///
/// CPython's `Py_RunMain()` handles an uncaught `SystemExit` by calling
/// `exit()` itself (after finalizing), so for those programs the child's exit
/// status is the observable, not the return value.
fn runmain_child(config: OxidizedPythonInterpreterConfig<'static>) -> impl FnOnce() {
    move || {
        let code = start(config).py_runmain();
        println!("{RETURNED} {code}");
        std::process::exit(code)
    }
}

/// [`runmain_child`] for a `run_command`.
fn command_child(command: &str) -> impl FnOnce() {
    let mut config = config(&["prog"]);
    config.interpreter_config.run_command = Some(command.into());
    runmain_child(config)
}

/// [`runmain_child`] with `parse_argv` on and `argv` as the command line.
fn command_line_child(argv: &[&str]) -> impl FnOnce() {
    let mut config = config(argv);
    config.interpreter_config.parse_argv = Some(true);
    runmain_child(config)
}

#[test]
fn py_runmain_prints_an_uncaught_exception_and_returns_one() {
    forked!(
        py_runmain_prints_an_uncaught_exception_and_returns_one,
        &[],
        command_child("raise ValueError('pyembed boom')")
    )
    .assert_code(1)
    .assert_output_contains("Traceback (most recent call last):")
    .assert_output_contains("ValueError: pyembed boom")
    .assert_output_contains(&format!("{RETURNED} 1"));
}

#[test]
fn system_exit_with_a_number_ends_the_process_with_it() {
    forked!(
        system_exit_with_a_number_ends_the_process_with_it,
        &[],
        command_child("raise SystemExit(3)")
    )
    .assert_code(3);
}

#[test]
fn system_exit_with_a_message_prints_it_and_ends_the_process_with_one() {
    let child: Forked = forked!(
        system_exit_with_a_message_prints_it_and_ends_the_process_with_one,
        &[],
        command_child("raise SystemExit('pyembed goodbye')")
    );
    child
        .assert_code(1)
        .assert_output_contains("pyembed goodbye");
    assert!(!child.output.contains("Traceback"), "{}", child.output);
}

#[test]
fn system_exit_none_ends_the_process_successfully() {
    forked!(
        system_exit_none_ends_the_process_successfully,
        &[],
        command_child("import sys\nsys.exit()")
    )
    .assert_code(0);
}

#[test]
fn system_exit_runs_atexit_handlers() {
    forked!(
        system_exit_runs_atexit_handlers,
        &[],
        command_child(
            "import atexit\natexit.register(print, 'pyembed atexit ran')\nraise SystemExit(2)"
        )
    )
    .assert_code(2)
    .assert_output_contains("pyembed atexit ran");
}

#[test]
fn system_exit_under_py_runmain_exits_the_process_with_its_code() {
    // Documented: CPython handles an uncaught SystemExit by finalizing and
    // exiting the process itself, so py_runmain() does not return.
    let outcome = forked!(
        system_exit_under_py_runmain_exits_the_process_with_its_code,
        &[],
        command_child("raise SystemExit(3)")
    );
    outcome.assert_code(3);
    assert!(!outcome.output.contains(RETURNED), "{}", outcome.output);
}

#[test]
fn run_command_keeps_argv_as_given_without_parse_argv() {
    forked!(run_command_keeps_argv_as_given_without_parse_argv, &[], {
        let mut config = config(&["prog", "arg"]);
        config.interpreter_config.run_command =
            Some("import sys; raise SystemExit(20 if sys.argv == ['prog', 'arg'] else 1)".into());
        runmain_child(config)
    })
    .assert_code(20);
}

#[test]
fn run_command_may_end_in_a_compound_statement() {
    // pyembed appends the newline `python -c` would; without it the final
    // `if` block would not compile.
    forked!(
        run_command_may_end_in_a_compound_statement,
        &[],
        command_child("import sys\nif True:\n    sys.exit(4)")
    )
    .assert_code(4);
}

#[test]
fn run_without_a_multiprocessing_argument_is_py_runmain() {
    forked!(
        run_without_a_multiprocessing_argument_is_py_runmain,
        &[],
        || {
            let mut config = config(&["prog"]);
            config.interpreter_config.run_command = Some("raise SystemExit(6)".into());
            std::process::exit(start(config).run())
        }
    )
    .assert_code(6);
}

#[test]
fn run_without_auto_dispatch_ignores_the_multiprocessing_argument() {
    forked!(
        run_without_auto_dispatch_ignores_the_multiprocessing_argument,
        &[],
        || {
            let mut config = config(&["exe", "--multiprocessing-fork", "pipe_handle=7"]);
            config.multiprocessing_auto_dispatch = false;
            config.interpreter_config.run_command = Some("raise SystemExit(9)".into());
            std::process::exit(start(config).run())
        }
    )
    .assert_code(9);
}

#[test]
fn parse_argv_runs_a_dash_c_command() {
    forked!(
        parse_argv_runs_a_dash_c_command,
        &[],
        command_line_child(&["prog", "-c", "import sys; sys.exit(3)"])
    )
    .assert_code(3);
}

#[test]
fn parse_argv_applies_interpreter_options() {
    forked!(
        parse_argv_applies_interpreter_options,
        &[],
        command_line_child(&[
            "prog",
            "-X",
            "dev",
            "-O",
            "-c",
            "import sys; sys.exit(21 if sys.flags.dev_mode and sys.flags.optimize == 1 else 1)",
        ])
    )
    .assert_code(21);
}

#[test]
fn parse_argv_passes_remaining_arguments_to_sys_argv() {
    forked!(
        parse_argv_passes_remaining_arguments_to_sys_argv,
        &[],
        command_line_child(&[
            "prog",
            "-c",
            "import sys; sys.exit(22 if sys.argv == ['-c', 'a', '-X'] else 1)",
            "a",
            "-X",
        ])
    )
    .assert_code(22);
}

#[test]
fn run_module_runs_a_module_as_main() {
    let dir = TempDir::new("run-module");
    dir.write(
        "pyembed_main_module.py",
        r#"
        import sys
        assert __name__ == "__main__"
        # runpy replaces argv[0] with the module's path.
        assert sys.argv[0].endswith("pyembed_main_module.py"), sys.argv
        sys.exit(int(sys.argv[1]))
        "#,
    );
    forked!(run_module_runs_a_module_as_main, &[], || {
        let mut config = config(&["prog", "5"]);
        config.interpreter_config.python_path_env = Some(dir.as_str().into());
        config.interpreter_config.run_module = Some("pyembed_main_module".into());
        runmain_child(config)()
    })
    .assert_code(5);
}

#[test]
fn run_module_reports_a_missing_module() {
    forked!(run_module_reports_a_missing_module, &[], || {
        let mut config = config(&["prog"]);
        config.interpreter_config.run_module = Some("pyembed_no_such_module".into());
        runmain_child(config)()
    })
    .assert_code(1)
    .assert_output_contains("No module named pyembed_no_such_module");
}

#[test]
fn run_filename_runs_a_script() {
    let dir = TempDir::new("run-filename");
    let script = dir.write(
        "script.py",
        r#"
        import sys
        assert __name__ == "__main__"
        sys.exit(10 if sys.argv == ["prog", "x"] and __file__.endswith("script.py") else 1)
        "#,
    );
    forked!(run_filename_runs_a_script, &[], || {
        let mut config = config(&["prog", "x"]);
        config.interpreter_config.run_filename = Some(script.clone());
        runmain_child(config)()
    })
    .assert_code(10);
}

/// A script whose first line is not Python.
fn script_with_a_foreign_first_line(dir: &TempDir) -> std::path::PathBuf {
    dir.write(
        "skip.py",
        "this first line is not python\nimport sys\nsys.exit(12)\n",
    )
}

#[test]
fn skip_first_source_line_skips_a_foreign_first_line() {
    let dir = TempDir::new("skip-line");
    let script = script_with_a_foreign_first_line(&dir);
    forked!(
        skip_first_source_line_skips_a_foreign_first_line,
        &[],
        || {
            let mut config = config(&["prog"]);
            config.interpreter_config.run_filename = Some(script.clone());
            config.interpreter_config.skip_first_source_line = Some(true);
            runmain_child(config)()
        }
    )
    .assert_code(12);
}

#[test]
fn without_skip_first_source_line_the_first_line_is_compiled() {
    let dir = TempDir::new("no-skip-line");
    let script = script_with_a_foreign_first_line(&dir);
    forked!(
        without_skip_first_source_line_the_first_line_is_compiled,
        &[],
        || {
            let mut config = config(&["prog"]);
            config.interpreter_config.run_filename = Some(script.clone());
            runmain_child(config)()
        }
    )
    .assert_code(1)
    .assert_output_contains("SyntaxError");
}

#[test]
fn parse_argv_version_requests_exit_during_core_initialization() {
    forked!(
        parse_argv_version_requests_exit_during_core_initialization,
        &[],
        || {
            let mut config = config(&["prog", "--version"]);
            config.interpreter_config.parse_argv = Some(true);
            let err = start_err(config);
            assert!(
                matches!(
                    err,
                    NewInterpreterError::Exit {
                        phase: InitPhase::Core,
                        code: 0
                    }
                ),
                "{err:?}"
            );
            assert_eq!(err.to_string(), "Python core requested exit with code 0");
        }
    )
    .assert_success()
    .assert_output_contains(&format!("Python {}", pyembed::LINKED_PYTHON_VERSION));
}

#[test]
fn parse_argv_unknown_option_requests_exit_with_usage_error() {
    forked!(
        parse_argv_unknown_option_requests_exit_with_usage_error,
        &[],
        || {
            let mut config = config(&["prog", "-Z"]);
            config.interpreter_config.parse_argv = Some(true);
            let err = start_err(config);
            assert!(
                matches!(
                    err,
                    NewInterpreterError::Exit {
                        phase: InitPhase::Core,
                        code: 2
                    }
                ),
                "{err:?}"
            );
        }
    )
    .assert_success()
    .assert_output_contains("Unknown option: -Z");
}

#[test]
fn run_dispatches_a_worker_and_reports_malformed_worker_arguments() {
    forked!(
        run_dispatches_a_worker_and_reports_malformed_worker_arguments,
        &[],
        || {
            let config = config(&["exe", "--multiprocessing-fork", "not-key-value"]);
            std::process::exit(start(config).run())
        }
    )
    .assert_code(1)
    .assert_output_contains(
        "pyembed: invalid --multiprocessing-fork invocation: argument `not-key-value` is not key=value",
    );
}

#[test]
fn new_interpreter_error_phases_match_their_variants() {
    // No interpreter is created here: the errors are built by hand.
    let status = NewInterpreterError::Status {
        phase: InitPhase::Main,
        function: Some("init_fs_encoding".into()),
        message: "failed".into(),
    };
    assert_eq!(status.phase(), InitPhase::Main);
    assert_eq!(
        status.to_string(),
        "error during Python main: init_fs_encoding: failed"
    );
    let status = NewInterpreterError::Status {
        phase: InitPhase::PreInitialization,
        function: None,
        message: "failed".into(),
    };
    assert_eq!(
        status.to_string(),
        "error during Python pre-initialization: failed"
    );
    assert_eq!(
        NewInterpreterError::AlreadyRunning.phase(),
        InitPhase::Configuration
    );
    let _: fn(OxidizedPythonInterpreterConfig<'static>) -> Result<_, _> =
        MainPythonInterpreter::new;
}
