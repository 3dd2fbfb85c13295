//! `PyPreConfig`/`PyConfig` knobs of `PythonInterpreterConfig`, each observed
//! from inside the interpreter: mostly through `sys.flags`, otherwise through
//! the module or attribute the knob controls.

#[macro_use]
mod support;

use pyembed::{
    Allocator, BytecodeOptimizationLevel, BytesWarning, CheckHashPycsMode, InitPhase,
    NewInterpreterError,
};
use support::{STDLIB, TempDir, config, isolated_config, python};

forked_test! {
    fn python_profile_defaults_behave_like_the_python_command() {
        let flags: Vec<i64> = python(
            config(&["prog"]),
            r#"
            import sys
            f = sys.flags
            [f.isolated, f.ignore_environment, f.no_user_site, f.no_site, f.safe_path,
             f.dev_mode, f.optimize, f.verbose, f.quiet, f.bytes_warning, f.inspect,
             f.interactive, f.dont_write_bytecode, f.hash_randomization,
             f.warn_default_encoding, f.int_max_str_digits]
            "#,
        );
        // int_max_str_digits: 3.11 reports -1 for "the default", 3.13 the
        // default itself, 4300.
        let digits = if pyembed::LINKED_PYTHON_VERSION == "3.11" { -1 } else { 4300 };
        assert_eq!(flags, [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, digits]);
    }

    fn isolated_profile_sets_isolation_flags() {
        let flags: Vec<i64> = python(
            isolated_config(&["prog"]),
            r#"
            import sys
            f = sys.flags
            [f.isolated, f.ignore_environment, f.no_user_site, f.safe_path, f.no_site]
            "#,
        );
        // The isolated profile imports `site` but without user site-packages.
        assert_eq!(flags, [1, 1, 1, 1, 0]);
    }

    fn isolated_can_be_enabled_on_the_python_profile() {
        let mut config = config(&["prog"]);
        config.interpreter_config.isolated = Some(true);
        let flags: Vec<i64> = python(
            config,
            "import sys\n[sys.flags.isolated, sys.flags.ignore_environment, sys.flags.no_user_site]",
        );
        assert_eq!(flags, [1, 1, 1]);
    }

    fn isolated_profile_can_opt_back_into_the_environment() {
        let mut config = isolated_config(&["prog"]);
        config.interpreter_config.isolated = Some(false);
        config.interpreter_config.use_environment = Some(true);
        config.interpreter_config.user_site_directory = Some(true);
        let flags: Vec<i64> = python(
            config,
            "import sys\n[sys.flags.isolated, sys.flags.ignore_environment, sys.flags.no_user_site]",
        );
        assert_eq!(flags, [0, 0, 0]);
    }

    fn development_mode_sets_dev_mode_and_its_side_effects() {
        let mut config = config(&["prog"]);
        config.interpreter_config.development_mode = Some(true);
        let (dev_mode, faulthandler, default_filter): (bool, bool, bool) = python(
            config,
            r#"
            import sys, faulthandler, warnings
            (sys.flags.dev_mode, faulthandler.is_enabled(),
             any(f[0] == "default" and f[2] is Warning for f in warnings.filters))
            "#,
        );
        assert!(dev_mode && faulthandler && default_filter);
    }

    fn optimization_level_one_strips_asserts() {
        let mut config = config(&["prog"]);
        config.interpreter_config.optimization_level = Some(BytecodeOptimizationLevel::One);
        let (optimize, debug): (i64, bool) = python(
            config,
            r#"
            import sys
            (sys.flags.optimize, eval(compile("__debug__", "<test>", "eval")))
            "#,
        );
        assert_eq!((optimize, debug), (1, false));
    }

    fn optimization_level_two_strips_docstrings() {
        let mut config = config(&["prog"]);
        config.interpreter_config.optimization_level = Some(BytecodeOptimizationLevel::Two);
        let (optimize, doc): (i64, Option<String>) = python(
            config,
            r#"
            import sys
            ns = {}
            exec(compile("def f():\n    'doc'\n", "<test>", "exec"), ns)
            (sys.flags.optimize, ns["f"].__doc__)
            "#,
        );
        assert_eq!((optimize, doc), (2, None));
    }

    fn optimization_level_zero_keeps_asserts() {
        let mut config = config(&["prog"]);
        config.interpreter_config.optimization_level = Some(BytecodeOptimizationLevel::Zero);
        let (optimize, debug): (i64, bool) = python(
            config,
            "import sys\n(sys.flags.optimize, eval(compile('__debug__', '<test>', 'eval')))",
        );
        assert_eq!((optimize, debug), (0, true));
    }

    fn verbose_and_quiet_set_their_flags() {
        let mut config = config(&["prog"]);
        config.interpreter_config.verbose = Some(true);
        config.interpreter_config.quiet = Some(true);
        let flags: (i64, i64) = python(config, "import sys\n(sys.flags.verbose, sys.flags.quiet)");
        assert_eq!(flags, (1, 1));
    }

    fn bytes_warning_warn_sets_the_flag() {
        let mut config = config(&["prog"]);
        config.interpreter_config.bytes_warning = Some(BytesWarning::Warn);
        let flag: i64 = python(config, "import sys\nsys.flags.bytes_warning");
        assert_eq!(flag, 1);
    }

    fn bytes_warning_raise_makes_bytes_str_comparison_raise() {
        let mut config = config(&["prog"]);
        config.interpreter_config.bytes_warning = Some(BytesWarning::Raise);
        let (flag, raised): (i64, bool) = python(
            config,
            r#"
            import sys
            try:
                b"x" == "x"
                raised = False
            except BytesWarning:
                raised = True
            (sys.flags.bytes_warning, raised)
            "#,
        );
        assert_eq!((flag, raised), (2, true));
    }

    fn safe_path_sets_the_flag() {
        let mut config = config(&["prog"]);
        config.interpreter_config.safe_path = Some(true);
        let flag: bool = python(config, "import sys\nsys.flags.safe_path");
        assert!(flag);
    }

    fn site_import_false_skips_site() {
        let mut config = config(&["prog"]);
        config.interpreter_config.site_import = Some(false);
        let (no_site, imported): (i64, bool) =
            python(config, "import sys\n(sys.flags.no_site, 'site' in sys.modules)");
        assert_eq!((no_site, imported), (1, false));
    }

    fn site_import_true_imports_site() {
        let mut config = config(&["prog"]);
        config.interpreter_config.site_import = Some(true);
        let (no_site, imported): (i64, bool) =
            python(config, "import sys\n(sys.flags.no_site, 'site' in sys.modules)");
        assert_eq!((no_site, imported), (0, true));
    }

    fn user_site_directory_false_sets_no_user_site() {
        let mut config = config(&["prog"]);
        config.interpreter_config.user_site_directory = Some(false);
        let (flag, enabled): (i64, Option<bool>) =
            python(config, "import sys, site\n(sys.flags.no_user_site, site.ENABLE_USER_SITE)");
        assert_eq!((flag, enabled), (1, Some(false)));
    }

    fn write_bytecode_false_sets_dont_write_bytecode() {
        let mut config = config(&["prog"]);
        config.interpreter_config.write_bytecode = Some(false);
        let flags: (bool, i64) =
            python(config, "import sys\n(sys.dont_write_bytecode, sys.flags.dont_write_bytecode)");
        assert_eq!(flags, (true, 1));
    }

    fn write_bytecode_true_clears_dont_write_bytecode() {
        let mut config = config(&["prog"]);
        config.interpreter_config.write_bytecode = Some(true);
        let flag: bool = python(config, "import sys\nsys.dont_write_bytecode");
        assert!(!flag);
    }

    fn inspect_and_interactive_set_their_flags() {
        let mut config = config(&["prog"]);
        config.interpreter_config.inspect = Some(true);
        config.interpreter_config.interactive = Some(true);
        let flags: (i64, i64) = python(config, "import sys\n(sys.flags.inspect, sys.flags.interactive)");
        assert_eq!(flags, (1, 1));
    }

    fn parser_debug_sets_the_debug_flag() {
        let mut config = config(&["prog"]);
        config.interpreter_config.parser_debug = Some(true);
        let flag: i64 = python(config, "import sys\nsys.flags.debug");
        assert_eq!(flag, 1);
    }

    fn utf8_mode_on_uses_utf8_everywhere() {
        let mut config = config(&["prog"]);
        config.interpreter_config.utf8_mode = Some(true);
        let (flag, fs, locale): (i64, String, String) = python(
            config,
            r#"
            import sys, locale
            (sys.flags.utf8_mode, sys.getfilesystemencoding(), locale.getpreferredencoding(False))
            "#,
        );
        assert_eq!((flag, fs.as_str(), locale.as_str()), (1, "utf-8", "utf-8"));
    }

    fn utf8_mode_off_clears_the_flag() {
        let mut config = config(&["prog"]);
        config.interpreter_config.utf8_mode = Some(false);
        let flag: i64 = python(config, "import sys\nsys.flags.utf8_mode");
        assert_eq!(flag, 0);
    }

    fn warn_default_encoding_enables_encoding_warnings() {
        let mut config = config(&["prog"]);
        config.interpreter_config.warn_default_encoding = Some(true);
        let (flag, warned): (i64, bool) = python(config, ENCODING_WARNING_PROBE);
        assert_eq!((flag, warned), (1, true));
    }

    fn int_max_str_digits_sets_the_limit() {
        let mut config = config(&["prog"]);
        config.interpreter_config.int_max_str_digits = Some(1000);
        let limits: (i64, i64) =
            python(config, "import sys\n(sys.get_int_max_str_digits(), sys.flags.int_max_str_digits)");
        assert_eq!(limits, (1000, 1000));
    }

    fn int_max_str_digits_wins_over_the_same_x_option() {
        let mut config = config(&["prog"]);
        config.interpreter_config.int_max_str_digits = Some(1000);
        config.interpreter_config.x_options = Some(vec!["int_max_str_digits=5000".into()]);
        let limit: i64 = python(config, "import sys\nsys.get_int_max_str_digits()");
        assert_eq!(limit, 1000);
    }

    fn int_max_str_digits_zero_removes_the_limit() {
        let mut config = config(&["prog"]);
        config.interpreter_config.int_max_str_digits = Some(0);
        let (limit, digits): (i64, usize) =
            python(config, "import sys\n(sys.get_int_max_str_digits(), len(str(10 ** 5000)))");
        assert_eq!((limit, digits), (0, 5001));
    }

    fn int_max_str_digits_below_640_is_rejected() {
        let mut config = config(&["prog"]);
        config.interpreter_config.int_max_str_digits = Some(100);
        let err = support::start_err(config);
        assert!(
            matches!(
                err,
                pyembed::NewInterpreterError::InvalidConfig {
                    field: "interpreter_config.int_max_str_digits",
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "invalid configuration field `interpreter_config.int_max_str_digits`: \
             100 must be 0 (no limit) or at least 640"
        );
    }

    fn hash_seed_makes_str_hashes_match_python_with_pythonhashseed() {
        let mut config = config(&["prog"]);
        config.interpreter_config.hash_seed = Some(42);
        let (randomization, hash): (i64, i64) =
            python(config, "import sys\n(sys.flags.hash_randomization, hash('pyembed'))");
        // CPython reports `hash_randomization` as `use_hash_seed == 0 ||
        // hash_seed != 0`, so a non-zero fixed seed still shows 1, exactly as
        // `PYTHONHASHSEED=42 python3.11` does.
        assert_eq!(randomization, 1);
        assert_eq!(hash, system_python_hash(42, "pyembed"));
    }

    fn hash_seed_zero_disables_randomization() {
        let mut config = config(&["prog"]);
        config.interpreter_config.hash_seed = Some(0);
        let (randomization, hash): (i64, i64) =
            python(config, "import sys\n(sys.flags.hash_randomization, hash('pyembed'))");
        assert_eq!(randomization, 0);
        assert_eq!(hash, system_python_hash(0, "pyembed"));
    }

    fn fault_handler_enables_faulthandler() {
        let mut config = config(&["prog"]);
        config.interpreter_config.fault_handler = Some(true);
        let enabled: bool = python(config, "import faulthandler\nfaulthandler.is_enabled()");
        assert!(enabled);
    }

    fn fault_handler_is_off_by_default() {
        let enabled: bool = python(config(&["prog"]), "import faulthandler\nfaulthandler.is_enabled()");
        assert!(!enabled);
    }

    fn tracemalloc_starts_tracing() {
        let mut config = config(&["prog"]);
        config.interpreter_config.tracemalloc = Some(true);
        let (tracing, frames): (bool, i64) = python(
            config,
            "import tracemalloc\n(tracemalloc.is_tracing(), tracemalloc.get_traceback_limit())",
        );
        assert_eq!((tracing, frames), (true, 1));
    }

    fn tracemalloc_is_off_by_default() {
        let tracing: bool = python(config(&["prog"]), "import tracemalloc\ntracemalloc.is_tracing()");
        assert!(!tracing);
    }

    fn use_frozen_modules_true_loads_os_from_the_binary() {
        let mut config = config(&["prog"]);
        config.interpreter_config.use_frozen_modules = Some(true);
        let (origin, frozen): (String, bool) = python(
            config,
            r#"
            import os, _imp
            (os.__spec__.origin, _imp.is_frozen("os"))
            "#,
        );
        assert_eq!((origin.as_str(), frozen), ("frozen", true));
    }

    fn use_frozen_modules_false_loads_os_from_the_filesystem() {
        let mut config = config(&["prog"]);
        config.interpreter_config.use_frozen_modules = Some(false);
        let (origin, frozen): (String, bool) = python(
            config,
            r#"
            import os, _imp
            (os.__spec__.origin, _imp.is_frozen("os"))
            "#,
        );
        assert_eq!((origin, frozen), (format!("{STDLIB}/os.py"), false));
    }

    fn code_debug_ranges_false_drops_column_positions() {
        let mut config = config(&["prog"]);
        config.interpreter_config.code_debug_ranges = Some(false);
        let columns: Vec<Option<i64>> = python(
            config,
            r#"
            code = compile("x = 1 + 2", "<test>", "exec")
            [c for _, _, start, end in code.co_positions() for c in (start, end)]
            "#,
        );
        assert!(columns.iter().all(Option::is_none), "{columns:?}");
    }

    fn code_debug_ranges_true_keeps_column_positions() {
        let mut config = config(&["prog"]);
        config.interpreter_config.code_debug_ranges = Some(true);
        let columns: Vec<Option<i64>> = python(
            config,
            r#"
            code = compile("x = 1 + 2", "<test>", "exec")
            [c for _, _, start, end in code.co_positions() for c in (start, end)]
            "#,
        );
        assert!(columns.iter().any(Option::is_some), "{columns:?}");
    }

    fn check_hash_pycs_mode_always_is_exposed_by_imp() {
        assert_eq!(check_hash_pycs_mode(CheckHashPycsMode::Always), "always");
    }

    fn check_hash_pycs_mode_never_is_exposed_by_imp() {
        assert_eq!(check_hash_pycs_mode(CheckHashPycsMode::Never), "never");
    }

    fn check_hash_pycs_mode_default_is_exposed_by_imp() {
        assert_eq!(check_hash_pycs_mode(CheckHashPycsMode::Default), "default");
    }

    fn buffered_stdio_false_makes_stdout_write_through() {
        let mut config = config(&["prog"]);
        config.interpreter_config.buffered_stdio = Some(false);
        let write_through: (bool, bool) =
            python(config, "import sys\n(sys.stdout.write_through, sys.stderr.write_through)");
        assert_eq!(write_through, (true, true));
    }

    fn buffered_stdio_true_buffers_stdout() {
        let mut config = config(&["prog"]);
        config.interpreter_config.buffered_stdio = Some(true);
        // The child's stdout is a file, not a terminal: block buffered.
        let (write_through, line_buffering): (bool, bool) =
            python(config, "import sys\n(sys.stdout.write_through, sys.stdout.line_buffering)");
        assert_eq!((write_through, line_buffering), (false, false));
    }

    fn install_signal_handlers_true_installs_python_handlers() {
        support::default_sigint();
        let mut config = config(&["prog"]);
        config.interpreter_config.install_signal_handlers = Some(true);
        // With handlers installed, CPython ignores SIGXFSZ and turns SIGINT
        // into KeyboardInterrupt.
        let (xfsz_ignored, interrupted): (bool, bool) = python(
            config,
            r#"
            import signal
            try:
                # Delivered to this thread before raise_signal() returns, which
                # then runs the Python handler: no race with other threads.
                signal.raise_signal(signal.SIGINT)
                interrupted = False
            except KeyboardInterrupt:
                interrupted = True
            (signal.getsignal(signal.SIGXFSZ) == signal.SIG_IGN, interrupted)
            "#,
        );
        assert_eq!((xfsz_ignored, interrupted), (true, true));
    }

    fn install_signal_handlers_false_leaves_the_c_handlers_alone() {
        let mut config = config(&["prog"]);
        config.interpreter_config.install_signal_handlers = Some(false);
        // `signal.getsignal(SIGINT)` reports `default_int_handler` either way
        // (the `signal` module sets its table entry on import); the C-level
        // dispositions CPython would change stay at their defaults.
        let xfsz_default: bool =
            python(config, "import signal\nsignal.getsignal(signal.SIGXFSZ) == signal.SIG_DFL");
        assert!(xfsz_default);
    }

    fn x_options_appear_in_sys_xoptions() {
        let mut config = config(&["prog"]);
        config.interpreter_config.x_options =
            Some(vec!["pyembed_test".into(), "answer=42".into()]);
        let options: Vec<(String, String)> = python(
            config,
            r#"
            import sys
            sorted((k, repr(v)) for k, v in sys._xoptions.items())
            "#,
        );
        assert_eq!(
            options,
            [
                ("answer".to_string(), "'42'".to_string()),
                ("pyembed_test".to_string(), "True".to_string())
            ]
        );
    }

    fn warn_options_appear_in_sys_warnoptions_and_take_effect() {
        let mut config = config(&["prog"]);
        config.interpreter_config.warn_options = Some(vec!["error::DeprecationWarning".into()]);
        let (options, raised): (Vec<String>, bool) = python(
            config,
            r#"
            import sys, warnings
            try:
                warnings.warn("old", DeprecationWarning)
                raised = False
            except DeprecationWarning:
                raised = True
            (sys.warnoptions, raised)
            "#,
        );
        assert_eq!(options, ["error::DeprecationWarning"]);
        assert!(raised);
    }

    fn filesystem_encoding_and_errors_are_used() {
        let mut config = config(&["prog"]);
        config.interpreter_config.filesystem_encoding = Some("latin-1".into());
        config.interpreter_config.filesystem_errors = Some("strict".into());
        let (encoding, errors): (String, String) = python(
            config,
            "import sys\n(sys.getfilesystemencoding(), sys.getfilesystemencodeerrors())",
        );
        // CPython normalises the codec name.
        assert_eq!((encoding.as_str(), errors.as_str()), ("iso8859-1", "strict"));
    }

    fn unknown_filesystem_encoding_fails_in_the_main_phase() {
        let mut config = config(&["prog"]);
        config.interpreter_config.filesystem_encoding = Some("no-such-codec".into());
        let err = support::start_err(config);
        assert_eq!(err.phase(), InitPhase::Main);
        assert!(
            matches!(
                &err,
                NewInterpreterError::PythonException { context, exception, .. }
                    if context.starts_with("init_fs_encoding: ")
                        && context.contains("filesystem encoding")
                        && exception.starts_with("LookupError")
            ),
            "{err:?}"
        );
        // CPython's status, then the exception it left pending, naming the codec.
        assert_eq!(
            err.to_string(),
            "error during Python main: init_fs_encoding: \
             failed to get the Python codec of the filesystem encoding: \
             LookupError: unknown encoding: no-such-codec"
        );
    }

    fn stdio_encoding_and_errors_configure_the_standard_streams() {
        let mut config = config(&["prog"]);
        config.interpreter_config.stdio_encoding = Some("latin-1".into());
        config.interpreter_config.stdio_errors = Some("replace".into());
        let streams: Vec<(String, String)> = python(
            config,
            r#"
            import sys
            [(s.encoding, s.errors) for s in (sys.stdin, sys.stdout, sys.stderr)]
            "#,
        );
        // stderr always uses backslashreplace, whatever stdio_errors says.
        assert_eq!(
            streams,
            [
                ("iso8859-1".to_string(), "replace".to_string()),
                ("iso8859-1".to_string(), "replace".to_string()),
                ("iso8859-1".to_string(), "backslashreplace".to_string()),
            ]
        );
    }

    fn allocator_malloc_bypasses_pymalloc() {
        let mut config = config(&["prog"]);
        config.interpreter_config.allocator = Some(Allocator::Malloc);
        // sys.getallocatedblocks() counts pymalloc blocks only.
        let blocks: i64 = python(config, "import sys\nsys.getallocatedblocks()");
        assert_eq!(blocks, 0);
    }

    fn allocator_pymalloc_uses_pymalloc() {
        let mut config = config(&["prog"]);
        config.interpreter_config.allocator = Some(Allocator::PyMalloc);
        let blocks: i64 = python(config, "import sys\nsys.getallocatedblocks()");
        assert!(blocks > 0, "{blocks}");
    }

    fn configure_locale_false_keeps_the_c_locale() {
        let mut config = config(&["prog"]);
        config.interpreter_config.configure_locale = Some(false);
        let locale: String = python(config, "import locale\nlocale.setlocale(locale.LC_CTYPE)");
        assert_eq!(locale, "C");
    }

    fn isolated_profile_does_not_configure_the_locale() {
        let (locale, utf8_mode): (String, i64) = python(
            isolated_config(&["prog"]),
            "import locale, sys\n(locale.setlocale(locale.LC_CTYPE), sys.flags.utf8_mode)",
        );
        assert_eq!((locale.as_str(), utf8_mode), ("C", 0));
    }

    fn platlibdir_sets_sys_platlibdir() {
        let mut config = config(&["prog"]);
        config.interpreter_config.platlibdir = Some("lib64".into());
        // Debian's stdlib lives under lib/, not the platlibdir, so name it.
        config.interpreter_config.module_search_paths = Some(support::system_stdlib_paths());
        config.interpreter_config.pathconfig_warnings = Some(false);
        let platlibdir: String = python(config, "import sys\nsys.platlibdir");
        assert_eq!(platlibdir, "lib64");
    }

    fn pycache_prefix_sets_sys_pycache_prefix() {
        // The prefix is a temporary directory that exists: when a prefix's
        // top directory is missing, CPython 3.11 creates the missing
        // directories of a cache path relative to the working directory
        // (`/nonexistent/x` becomes `./nonexistent/x/usr/lib/...`).
        let (prefix, cwd) = (TempDir::new("pycache-prefix"), TempDir::new("pycache-cwd"));
        std::env::set_current_dir(cwd.path()).expect("entering the working directory");
        let mut config = config(&["prog"]);
        config.interpreter_config.pycache_prefix = Some(prefix.path().to_path_buf());
        config.interpreter_config.write_bytecode = Some(false);
        let (seen, cached, exists): (String, String, bool) = python(config, PYCACHE_PROBE);
        assert_eq!(seen, prefix.path().to_str().expect("a UTF-8 temporary path"));
        assert!(cached.starts_with(&seen), "{cached} is not under {seen}");
        assert!(!exists, "{cached} was written with write_bytecode off");
        assert_eq!(entries(prefix.path()), Vec::<String>::new(), "written under the prefix");
        assert_eq!(entries(cwd.path()), Vec::<String>::new(), "written in the working directory");
    }

    fn pycache_prefix_receives_the_bytecode_that_is_written() {
        let (prefix, cwd) = (TempDir::new("pycache-prefix"), TempDir::new("pycache-cwd"));
        std::env::set_current_dir(cwd.path()).expect("entering the working directory");
        let mut config = config(&["prog"]);
        config.interpreter_config.pycache_prefix = Some(prefix.path().to_path_buf());
        config.interpreter_config.write_bytecode = Some(true);
        let (seen, cached, exists): (String, String, bool) = python(config, PYCACHE_PROBE);
        assert_eq!(seen, prefix.path().to_str().expect("a UTF-8 temporary path"));
        assert!(cached.starts_with(&seen), "{cached} is not under {seen}");
        assert!(exists, "{cached} was not written");
        assert_eq!(entries(cwd.path()), Vec::<String>::new(), "written in the working directory");
    }

    fn show_ref_count_and_dump_refs_are_accepted_by_a_release_cpython() {
        // Both only act in debug builds of CPython; a release build must
        // still start with them on.
        let mut config = config(&["prog"]);
        config.interpreter_config.show_ref_count = Some(true);
        config.interpreter_config.dump_refs = Some(true);
        config.interpreter_config.configure_c_stdio = Some(true);
        let answer: i64 = python(config, "6 * 7");
        assert_eq!(answer, 42);
    }

}

/// `(sys.pycache_prefix, where the bytecode of a module imported from the
/// standard library's sources is cached, whether that file exists)`.
/// `colorsys` is not imported at startup, so importing it here compiles it.
const PYCACHE_PROBE: &str = r#"
    import sys
    assert "colorsys" not in sys.modules
    import colorsys, importlib.util, os
    cached = importlib.util.cache_from_source(colorsys.__file__)
    (sys.pycache_prefix, cached, os.path.exists(cached))
"#;

/// The names in `dir`, sorted.
fn entries(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("listing a temporary directory")
        .map(|entry| {
            entry
                .expect("a directory entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    names.sort();
    names
}

/// `(sys.flags.warn_default_encoding, whether open() without an encoding
/// emitted an EncodingWarning)`.
const ENCODING_WARNING_PROBE: &str = r#"
    import sys, warnings
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        open(sys.executable, "r").close()
    (sys.flags.warn_default_encoding, any(w.category is EncodingWarning for w in caught))
"#;

fn check_hash_pycs_mode(mode: CheckHashPycsMode) -> String {
    let mut config = config(&["prog"]);
    config.interpreter_config.check_hash_pycs_mode = Some(mode);
    python(config, "import _imp\n_imp.check_hash_based_pycs")
}

/// `hash(text)` in the system CPython with `PYTHONHASHSEED=seed`.
fn system_python_hash(seed: u64, text: &str) -> i64 {
    let output = std::process::Command::new(support::SYSTEM_PYTHON)
        .args(["-c", &format!("print(hash({text:?}))")])
        .env("PYTHONHASHSEED", seed.to_string())
        .output()
        .expect("running the system python3.11");
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn warn_default_encoding_is_enabled_by_the_environment_variable() {
    forked!(
        warn_default_encoding_is_enabled_by_the_environment_variable,
        &[("PYTHONWARNDEFAULTENCODING", Some("1"))],
        || {
            let (flag, warned): (i64, bool) = python(config(&["prog"]), ENCODING_WARNING_PROBE);
            assert_eq!((flag, warned), (1, true));
        }
    )
    .assert_success();
}

#[test]
fn import_time_reports_each_import_on_stderr() {
    forked!(import_time_reports_each_import_on_stderr, &[], || {
        let mut config = config(&["prog"]);
        config.interpreter_config.import_time = Some(true);
        let _: bool = python(config, "import json\nTrue");
    })
    .assert_success()
    .assert_output_contains("import time: self [us] | cumulative | imported package")
    .assert_output_contains("| json");
}

#[test]
fn import_time_is_off_by_default() {
    let child = forked!(import_time_is_off_by_default, &[], || {
        let _: bool = python(config(&["prog"]), "import json\nTrue");
    });
    child.assert_success();
    assert!(!child.output.contains("import time:"), "{}", child.output);
}

#[test]
fn malloc_stats_prints_pymalloc_statistics_at_exit() {
    forked!(malloc_stats_prints_pymalloc_statistics_at_exit, &[], || {
        let mut config = config(&["prog"]);
        config.interpreter_config.malloc_stats = Some(true);
        let _: bool = python(config, "True");
    })
    .assert_success()
    .assert_output_contains("Small block threshold");
}

/// Start with `platlibdir = "lib64"`: no lib64/python3.11/lib-dynload exists
/// under /usr on Debian, so the exec_prefix search fails and CPython says so
/// on stderr, unless `pathconfig_warnings` is off.
fn start_with_missing_exec_prefix(warnings: bool) {
    let mut config = config(&["prog"]);
    // CPython searches for the prefixes (no `home`), and finds the standard
    // library through module_search_paths.
    config.interpreter_config.home = None;
    config.interpreter_config.platlibdir = Some("lib64".into());
    config.interpreter_config.module_search_paths = Some(support::system_stdlib_paths());
    config.interpreter_config.pathconfig_warnings = Some(warnings);
    let _: bool = python(config, "True");
}

const EXEC_PREFIX_WARNING: &str = "Could not find platform dependent libraries <exec_prefix>";

#[test]
fn pathconfig_warnings_report_missing_libraries() {
    forked!(pathconfig_warnings_report_missing_libraries, &[], || {
        start_with_missing_exec_prefix(true)
    })
    .assert_success()
    .assert_output_contains(EXEC_PREFIX_WARNING);
}

#[test]
fn pathconfig_warnings_false_silences_them() {
    let child = forked!(pathconfig_warnings_false_silences_them, &[], || {
        start_with_missing_exec_prefix(false)
    });
    child.assert_success();
    assert!(
        !child.output.contains(EXEC_PREFIX_WARNING),
        "{}",
        child.output
    );
}

#[test]
fn install_signal_handlers_false_lets_sigint_terminate_the_process() {
    let child = forked!(
        install_signal_handlers_false_lets_sigint_terminate_the_process,
        &[],
        || {
            support::default_sigint();
            let mut config = config(&["prog"]);
            config.interpreter_config.install_signal_handlers = Some(false);
            let _: bool = python(
                config,
                r#"
                import os, sys
                # Importing `signal` would install its SIGINT handler now.
                assert "signal" not in sys.modules and "_signal" not in sys.modules
                os.kill(os.getpid(), 2)
                True
                "#,
            );
        }
    );
    // Killed by the signal: no exit code.
    assert_eq!(child.code, None, "{}", child.output);
}

#[test]
fn use_environment_reads_python_variables() {
    let dir = TempDir::new("pythonpath");
    dir.write("pyembed_env_module.py", "VALUE = 'from PYTHONPATH'\n");
    forked!(
        use_environment_reads_python_variables,
        &[
            ("PYTHONPATH", Some(dir.as_str())),
            ("PYTHONOPTIMIZE", Some("2"))
        ],
        || {
            let mut config = config(&["prog"]);
            config.interpreter_config.use_environment = Some(true);
            let (ignore, optimize, value): (i64, i64, String) = python(
                config,
                r#"
                import sys, pyembed_env_module
                (sys.flags.ignore_environment, sys.flags.optimize, pyembed_env_module.VALUE)
                "#,
            );
            assert_eq!(
                (ignore, optimize, value.as_str()),
                (0, 2, "from PYTHONPATH")
            );
        }
    )
    .assert_success();
}

#[test]
fn use_environment_false_ignores_python_variables() {
    let dir = TempDir::new("pythonpath");
    dir.write("pyembed_env_module.py", "VALUE = 'from PYTHONPATH'\n");
    forked!(
        use_environment_false_ignores_python_variables,
        &[
            ("PYTHONPATH", Some(dir.as_str())),
            ("PYTHONOPTIMIZE", Some("2"))
        ],
        || {
            let mut config = config(&["prog"]);
            config.interpreter_config.use_environment = Some(false);
            let dir = std::env::var("PYTHONPATH").unwrap();
            let (ignore, optimize, on_path, importable): (i64, i64, bool, bool) = python(
                config,
                &format!(
                    r#"
                    import sys, importlib.util
                    (sys.flags.ignore_environment, sys.flags.optimize, {dir:?} in sys.path,
                     importlib.util.find_spec("pyembed_env_module") is not None)
                    "#
                ),
            );
            assert_eq!(
                (ignore, optimize, on_path, importable),
                (1, 0, false, false)
            );
        }
    )
    .assert_success();
}

#[test]
fn python_variables_are_ignored_by_the_isolated_profile() {
    forked!(
        python_variables_are_ignored_by_the_isolated_profile,
        &[("PYTHONVERBOSE", Some("1")), ("PYTHONOPTIMIZE", Some("1"))],
        || {
            let flags: (i64, i64) = python(
                isolated_config(&["prog"]),
                "import sys\n(sys.flags.verbose, sys.flags.optimize)",
            );
            assert_eq!(flags, (0, 0));
        }
    )
    .assert_success();
}

#[test]
fn environment_variables_win_over_fields_they_can_only_raise() {
    // CPython applies PYTHONUNBUFFERED and PYTHONDONTWRITEBYTECODE after the
    // PyConfig fields: an explicit `Some(true)` cannot turn them back on
    // while use_environment is on. Documented here so it is not mistaken
    // for a pyembed bug.
    forked!(
        environment_variables_win_over_fields_they_can_only_raise,
        &[
            ("PYTHONUNBUFFERED", Some("1")),
            ("PYTHONDONTWRITEBYTECODE", Some("1"))
        ],
        || {
            let mut config = config(&["prog"]);
            config.interpreter_config.buffered_stdio = Some(true);
            config.interpreter_config.write_bytecode = Some(true);
            let flags: (bool, bool) = python(
                config,
                "import sys\n(sys.stdout.write_through, sys.dont_write_bytecode)",
            );
            assert_eq!(flags, (true, true));
        }
    )
    .assert_success();
}

#[test]
fn coerce_c_locale_coerces_the_c_locale_and_warns() {
    forked!(
        coerce_c_locale_coerces_the_c_locale_and_warns,
        &[("LC_ALL", None), ("LC_CTYPE", None), ("LANG", Some("C"))],
        || {
            let mut config = config(&["prog"]);
            config.interpreter_config.coerce_c_locale = Some(pyembed::CoerceCLocale::C);
            config.interpreter_config.coerce_c_locale_warn = Some(true);
            let (ctype, env): (String, Option<String>) = python(
                config,
                "import locale, os\n(locale.setlocale(locale.LC_CTYPE), os.environ.get('LC_CTYPE'))",
            );
            assert_eq!((ctype.as_str(), env.as_deref()), ("C.UTF-8", Some("C.UTF-8")));
        }
    )
    .assert_success()
    .assert_output_contains("Python detected LC_CTYPE=C: LC_CTYPE coerced to C.UTF-8");
}

#[test]
fn coerce_c_locale_lc_ctype_coerces_a_c_locale() {
    // 1 ("LC_CTYPE") lets CPython decide from LC_CTYPE; "C" is coerced.
    forked!(
        coerce_c_locale_lc_ctype_coerces_a_c_locale,
        &[("LC_ALL", None), ("LC_CTYPE", None), ("LANG", Some("C"))],
        || {
            let mut config = config(&["prog"]);
            config.interpreter_config.coerce_c_locale = Some(pyembed::CoerceCLocale::LCCtype);
            let ctype: String = python(config, "import locale\nlocale.setlocale(locale.LC_CTYPE)");
            assert_eq!(ctype, "C.UTF-8");
        }
    )
    .assert_success();
}

#[test]
fn isolated_profile_does_not_coerce_the_c_locale() {
    forked!(
        isolated_profile_does_not_coerce_the_c_locale,
        &[("LC_ALL", None), ("LC_CTYPE", None), ("LANG", Some("C"))],
        || {
            let (ctype, env): (String, Option<String>) = python(
                isolated_config(&["prog"]),
                "import locale, os\n(locale.setlocale(locale.LC_CTYPE), os.environ.get('LC_CTYPE'))",
            );
            assert_eq!((ctype.as_str(), env), ("C", None));
        }
    )
    .assert_success();
}
