//! Paths and arguments: `sys.argv`, `sys.path` (including `$ORIGIN`
//! expansion), `sys.executable`, the prefixes, `home`, `PYTHONPATH` and the
//! path-configuration fields, observed from inside the interpreter.

#[macro_use]
mod support;

use std::path::PathBuf;

use pyembed::NewInterpreterError;
use support::{TempDir, config, isolated_config, origin, python, system_stdlib_paths};

forked_test! {
    fn argv_becomes_sys_argv_verbatim() {
        // parse_argv is off: options after the program name stay arguments.
        let argv: (Vec<String>, Vec<String>) = python(
            config(&["prog", "a b", "-c", "--", "-X", "dev"]),
            "import sys\n(sys.argv, sys.orig_argv)",
        );
        let expected = ["prog", "a b", "-c", "--", "-X", "dev"];
        assert_eq!(argv.0, expected);
        assert_eq!(argv.1, expected);
    }

    fn interpreter_config_argv_takes_precedence_for_sys_argv() {
        let mut config = config(&["outer"]);
        config.interpreter_config.argv = Some(vec!["inner".into(), "x".into()]);
        let argv: Vec<String> = python(config, "import sys\nsys.argv");
        assert_eq!(argv, ["inner", "x"]);
    }

    fn empty_argv_gives_a_single_empty_sys_argv_entry() {
        // CPython's own rule: sys.argv is never empty.
        let argv: Vec<String> = python(config(&[]), "import sys\nsys.argv");
        assert_eq!(argv, [""]);
    }

    fn module_search_paths_replace_sys_path_and_expand_origin() {
        let mut config = config(&["prog"]);
        let mut paths = vec![PathBuf::from("$ORIGIN/pyembed-test-lib")];
        paths.extend(system_stdlib_paths());
        config.interpreter_config.module_search_paths = Some(paths);
        config.interpreter_config.site_import = Some(false);
        let path: Vec<String> = python(config, "import sys\nsys.path");
        let expected: Vec<String> = [origin().join("pyembed-test-lib")]
            .into_iter()
            .chain(system_stdlib_paths())
            .map(|p| p.to_str().unwrap().to_string())
            .collect();
        assert_eq!(path, expected);
    }

    fn module_search_paths_expand_an_explicit_origin() {
        let dir = TempDir::new("origin");
        dir.write("lib/pyembed_origin_module.py", "");
        let mut config = config(&["prog"]);
        config.origin = Some(dir.path().to_path_buf());
        let mut paths = vec![PathBuf::from("$ORIGIN/lib")];
        paths.extend(system_stdlib_paths());
        config.interpreter_config.module_search_paths = Some(paths);
        let file: String = python(config, "import pyembed_origin_module\npyembed_origin_module.__file__");
        assert_eq!(PathBuf::from(file), dir.path().join("lib/pyembed_origin_module.py"));
    }

    fn module_search_paths_make_their_modules_importable() {
        let dir = TempDir::new("search-path");
        dir.write("pyembed_search_path_module.py", "ANSWER = 42\n");
        let mut config = config(&["prog"]);
        let mut paths = vec![dir.path().to_path_buf()];
        paths.extend(system_stdlib_paths());
        config.interpreter_config.module_search_paths = Some(paths);
        let answer: i64 =
            python(config, "import pyembed_search_path_module as m\nm.ANSWER");
        assert_eq!(answer, 42);
    }

    fn default_sys_executable_is_the_running_binary() {
        let (executable, base): (String, String) =
            python(config(&["prog"]), "import sys\n(sys.executable, sys._base_executable)");
        let exe = std::fs::canonicalize(std::env::current_exe().unwrap()).unwrap();
        assert_eq!(PathBuf::from(&executable), exe);
        assert_eq!(PathBuf::from(&base), exe);
    }

    fn an_explicit_exe_sets_sys_executable_and_the_origin() {
        let mut config = config(&["prog"]);
        config.exe = Some(support::SYSTEM_PYTHON.into());
        config.sys_meipass = true;
        let (executable, meipass): (String, String) =
            python(config, "import sys\n(sys.executable, sys._MEIPASS)");
        let exe = std::fs::canonicalize(support::SYSTEM_PYTHON).unwrap();
        assert_eq!(PathBuf::from(executable), exe);
        assert_eq!(PathBuf::from(meipass), exe.parent().unwrap());
    }

    fn without_set_missing_path_configuration_argv0_names_the_program() {
        // program_name then defaults to argv[0], "prog", which is not on PATH.
        let mut config = config(&["prog"]);
        config.set_missing_path_configuration = false;
        let executable: String = python(config, "import sys\nsys.executable");
        assert_eq!(executable, "");
    }

    fn program_name_determines_sys_executable() {
        let mut config = config(&["prog"]);
        config.interpreter_config.program_name = Some(support::SYSTEM_PYTHON.into());
        let executable: String = python(config, "import sys\nsys.executable");
        assert_eq!(executable, support::SYSTEM_PYTHON);
    }

    fn explicit_path_configuration_is_reported_by_sys() {
        let mut config = config(&["prog"]);
        let ic = &mut config.interpreter_config;
        ic.home = None;
        ic.executable = Some("/opt/pyembed/bin/app".into());
        ic.base_executable = Some("/opt/pyembed/bin/base".into());
        ic.prefix = Some("/opt/pyembed/prefix".into());
        ic.exec_prefix = Some("/opt/pyembed/exec-prefix".into());
        ic.base_prefix = Some("/opt/pyembed/base-prefix".into());
        ic.base_exec_prefix = Some("/opt/pyembed/base-exec-prefix".into());
        ic.module_search_paths = Some(system_stdlib_paths());
        let values: Vec<String> = python(
            config,
            r#"
            import sys
            [sys.executable, sys._base_executable, sys.prefix, sys.exec_prefix,
             sys.base_prefix, sys.base_exec_prefix]
            "#,
        );
        assert_eq!(
            values,
            [
                "/opt/pyembed/bin/app",
                "/opt/pyembed/bin/base",
                "/opt/pyembed/prefix",
                "/opt/pyembed/exec-prefix",
                "/opt/pyembed/base-prefix",
                "/opt/pyembed/base-exec-prefix",
            ]
        );
    }

    fn default_prefix_is_the_linked_cpython_installation() {
        let prefixes: (String, String, String) =
            python(config(&["prog"]), "import sys\n(sys.prefix, sys.exec_prefix, sys.base_prefix)");
        let prefix = support::prefix().display().to_string();
        assert_eq!(prefixes, (prefix.clone(), prefix.clone(), prefix));
    }

    fn home_sets_the_prefixes() {
        let home = TempDir::new("home");
        let mut config = config(&["prog"]);
        config.interpreter_config.home = Some(home.path().to_path_buf());
        config.interpreter_config.module_search_paths = Some(system_stdlib_paths());
        let (prefix, exec_prefix): (String, String) =
            python(config, "import sys\n(sys.prefix, sys.exec_prefix)");
        assert_eq!(PathBuf::from(prefix), home.path());
        assert_eq!(PathBuf::from(exec_prefix), home.path());
    }

    fn home_computes_sys_path_from_the_standard_layout() {
        let mut config = config(&["prog"]);
        config.interpreter_config.home = Some(support::prefix().to_path_buf());
        config.interpreter_config.site_import = Some(false);
        let path: Vec<String> = python(config, "import sys\nsys.path");
        let lib = support::prefix().join("lib");
        let version = pyembed::LINKED_PYTHON_VERSION;
        assert_eq!(
            path,
            [
                lib.join(format!("python{}.zip", version.replace('.', ""))),
                lib.join(format!("python{version}")),
                lib.join(format!("python{version}/lib-dynload")),
            ]
            .map(|p| p.display().to_string())
        );
    }

    fn missing_home_is_reported_with_its_field() {
        let mut config = config(&["prog"]);
        config.interpreter_config.home = Some("/nonexistent/pyembed-home".into());
        let err = support::start_err(config);
        assert!(
            matches!(
                &err,
                NewInterpreterError::MissingPath { field: "interpreter_config.home", path }
                    if path == &PathBuf::from("/nonexistent/pyembed-home")
            ),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "configuration field `interpreter_config.home` names /nonexistent/pyembed-home, \
             which does not exist"
        );
    }

    fn home_that_is_a_file_is_rejected() {
        let dir = TempDir::new("home-file");
        let file = dir.write("not-a-directory", "");
        let mut config = config(&["prog"]);
        config.interpreter_config.home = Some(file);
        let err = support::start_err(config);
        assert!(
            matches!(err, NewInterpreterError::MissingPath { field: "interpreter_config.home", .. }),
            "{err:?}"
        );
    }

    fn missing_exe_is_reported_with_its_field() {
        let mut config = config(&["prog"]);
        config.exe = Some("/nonexistent/pyembed-exe".into());
        let err = support::start_err(config);
        assert!(
            matches!(err, NewInterpreterError::MissingPath { field: "exe", .. }),
            "{err:?}"
        );
    }

    fn python_path_env_is_prepended_to_sys_path() {
        let dir = TempDir::new("pythonpath-env");
        dir.write("pyembed_pythonpath_module.py", "ANSWER = 7\n");
        let mut config = config(&["prog"]);
        config.interpreter_config.python_path_env =
            Some(format!("{}:/nonexistent/pyembed-second", dir.as_str()));
        let (head, answer): (Vec<String>, i64) = python(
            config,
            r#"
            import sys, pyembed_pythonpath_module
            (sys.path[:2], pyembed_pythonpath_module.ANSWER)
            "#,
        );
        assert_eq!(head, [dir.as_str(), "/nonexistent/pyembed-second"]);
        assert_eq!(answer, 7);
    }

    fn python_path_env_needs_use_environment() {
        // CPython's getpath only reads `pythonpath_env` when use_environment
        // is on; the isolated profile turns it off.
        let mut config = isolated_config(&["prog"]);
        config.interpreter_config.python_path_env = Some("/nonexistent/pyembed-isolated".into());
        let present: bool =
            python(config, "import sys\n'/nonexistent/pyembed-isolated' in sys.path");
        assert!(!present);
    }

    fn run_command_puts_the_working_directory_first_on_sys_path() {
        let mut config = config(&["prog"]);
        config.interpreter_config.run_command =
            Some("import sys\nif sys.path[0] != '':\n    raise ValueError(sys.path)".into());
        assert_eq!(support::start(config).py_runmain(), 0);
    }

    fn safe_path_keeps_the_working_directory_off_sys_path() {
        let mut config = config(&["prog"]);
        config.interpreter_config.safe_path = Some(true);
        config.interpreter_config.run_command =
            Some("import sys\nif '' in sys.path:\n    raise ValueError(sys.path)".into());
        assert_eq!(support::start(config).py_runmain(), 0);
    }
}
