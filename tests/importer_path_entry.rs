//! `sys.path_hooks` over packed packages (`OxidizedPathEntryFinder`),
//! `runpy` over packed modules, `pkg.__init__` names, and namespace packages
//! spanning several packed inputs.
#![cfg(feature = "cli")]

#[macro_use]
mod support;
mod importer_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use pyembed::OxidizedPythonInterpreterConfig;
use support::{origin, python};

/// `(name, ispkg)` pairs as `pkgutil` reports them.
type Listing = Vec<(String, bool)>;

/// The trees packed by [`extra`]: two inputs, each holding a portion of
/// namespace package `ns`, plus packages with `__main__` and a plain module.
const INPUT_A: &[(&str, &str)] = &[
    ("ns/a.py", "A = 'a'\n"),
    ("runme/__init__.py", "PKG = __name__\n"),
    (
        "runme/__main__.py",
        "import sys\nRESULT = (__name__, __spec__.name, sys.argv[0])\nprint('runme main:', RESULT)\n",
    ),
    ("runme/sub/__init__.py", ""),
    ("runme/sub/leaf.py", "LEAF = True\n"),
    ("plainmod.py", "RESULT = __name__\n"),
    (
        "initpkg/__init__.py",
        "from . import helper\nNAME = __name__\nRUNS = helper.count()\n",
    ),
    (
        "initpkg/helper.py",
        "_runs = 0\ndef count():\n    global _runs\n    _runs += 1\n    return _runs\n",
    ),
];
const INPUT_B: &[(&str, &str)] = &[("ns/b.py", "B = 'b'\n")];

/// Packs `inputs` (one `--path` each) once per `label` into the test's
/// temporary directory and returns the container.
fn extra(label: &str, inputs: &[&[(&str, &str)]]) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("path-entry-containers");
    let binary = std::fs::metadata(importer_support::PYEMBED).expect("pyembed binary");
    let stamp = format!(
        "{}-{:?}",
        binary.len(),
        binary
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map(|d| d.as_secs())
    );
    let output = dir.join(format!("{label}-{stamp}.pyembed"));
    if output.exists() {
        return output;
    }
    let work = dir.join(format!("{label}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    let mut command = Command::new(importer_support::PYEMBED);
    command.arg("pack");
    for (n, input) in inputs.iter().enumerate() {
        let root = work.join(format!("input{n}"));
        for (name, text) in *input {
            let path = root.join(name);
            std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
            std::fs::write(&path, text).expect("write");
        }
        command.arg("--path").arg(&root);
    }
    let partial = work.join("out.partial");
    let result = command
        .arg("-o")
        .arg(&partial)
        .output()
        .expect("pyembed pack");
    assert!(
        result.status.success(),
        "pack failed: {}",
        String::from_utf8_lossy(&result.stderr)
    );
    std::fs::rename(&partial, &output).expect("rename");
    let _ = std::fs::remove_dir_all(&work);
    output
}

/// The stdlib-and-app container followed by `more`, importer on.
fn with(more: &[PathBuf], filesystem_importer: bool) -> OxidizedPythonInterpreterConfig<'static> {
    importer_support::stdlib_and_app_config(more, filesystem_importer)
}

fn hermetic() -> OxidizedPythonInterpreterConfig<'static> {
    with(&[], false)
}

fn in_origin(relative: &str) -> String {
    origin().join(relative).to_str().expect("UTF-8").to_string()
}

/// Runs the `unittest` file `source` as module `name` in the hermetic
/// interpreter; returns `(successful, tests run, report)`.
fn run_unittest_file(name: &str, source: &str) -> (bool, usize, String) {
    let config = hermetic();
    support::run_unittest_source(config, name, source)
}

forked_test! {
    fn path_entry_semantics_from_python() {
        let (ok, run, report) = run_unittest_file(
            "test_path_entry",
            include_str!("importer_python/test_path_entry.py"),
        );
        assert!(ok, "{report}");
        assert!(run >= 13, "only {run} tests ran:\n{report}");
    }

    fn the_hook_is_first_on_sys_path_hooks() {
        let (first_is_ours, kinds): (bool, Vec<String>) = python(
            with(&[], true),
            r#"
            import sys
            finder = [f for f in sys.meta_path if type(f).__name__ == "OxidizedFinder"][0]
            (sys.path_hooks[0] == finder.path_hook,
             [getattr(h, "__qualname__", type(h).__name__) for h in sys.path_hooks])
            "#,
        );
        assert!(first_is_ours, "{kinds:?}");
        assert_eq!(kinds.len(), 3, "{kinds:?}");
    }

    fn pkgutil_lists_the_modules_of_a_packed_package() {
        let (listing, walked, path_is_dir, importer_type): (Listing, Vec<String>, bool, String) =
            python(
                hermetic(),
                r#"
                import pkgutil, pkgdemo
                (sorted((m.name, m.ispkg) for m in pkgutil.iter_modules(pkgdemo.__path__)),
                 [m.name for m in pkgutil.walk_packages(pkgdemo.__path__, "pkgdemo.")],
                 pkgdemo.__path__ == pkgdemo.__spec__.submodule_search_locations,
                 type(pkgutil.get_importer(pkgdemo.__path__[0])).__name__)
                "#,
            );
        assert_eq!(
            listing,
            [("inner".to_string(), true), ("sub".to_string(), false)]
        );
        assert_eq!(walked, ["pkgdemo.inner", "pkgdemo.sub"]);
        assert!(path_is_dir);
        assert_eq!(importer_type, "OxidizedPathEntryFinder");
    }

    fn the_stdlib_walks_like_on_disk() {
        // json's and email's subpackages, listed through the hook.
        let (json, email_mime, walked): (Listing, Listing, Vec<String>) = python(
            hermetic(),
            r#"
            import pkgutil, json, email, email.mime
            ([(m.name, m.ispkg) for m in pkgutil.iter_modules(json.__path__, "json.")],
             [(m.name, m.ispkg) for m in pkgutil.iter_modules(email.mime.__path__)],
             [m.name for m in pkgutil.walk_packages(email.__path__, "email.")])
            "#,
        );
        let names: Vec<&str> = json.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["json.decoder", "json.encoder", "json.scanner", "json.tool"]);
        assert!(email_mime.contains(&("text".to_string(), false)), "{email_mime:?}");
        let stock = Command::new(support::SYSTEM_PYTHON)
            .args([
                "-c",
                "import pkgutil, email\nfor m in pkgutil.walk_packages(email.__path__, 'email.'): print(m.name)",
            ])
            .output()
            .expect("running the system Python");
        let stock: Vec<String> = String::from_utf8_lossy(&stock.stdout)
            .lines()
            .map(str::to_owned)
            .collect();
        assert_eq!(walked, stock, "walk_packages differs from the installed stdlib's");
    }

    fn the_origin_is_a_path_entry_for_top_level_modules() {
        let (listing, spec_name, not_inside, via_pkgutil, in_sys_path): (
            Listing, String, bool, bool, bool,
        ) = python(
            hermetic(),
            r#"
            import pkgutil, sys
            finder = [f for f in sys.meta_path if type(f).__name__ == "OxidizedFinder"][0]
            entry = finder.path_hook(finder.path_hook_base_str)
            names = list(entry.iter_modules())
            top = [n for n in names if n[0] in ("greet", "pkgdemo", "json")]
            (top, entry.find_spec("greet").name, entry.find_spec("pkgdemo.sub") is None,
             "greet" in {m.name for m in pkgutil.iter_modules([finder.path_hook_base_str])},
             finder.path_hook_base_str in sys.path)
            "#,
        );
        assert_eq!(
            listing,
            [
                ("greet".to_string(), false),
                ("json".to_string(), true),
                ("pkgdemo".to_string(), true)
            ]
        );
        assert_eq!(spec_name, "greet");
        assert!(not_inside);
        assert!(via_pkgutil);
        // The origin is not put on sys.path (see the technotes).
        assert!(!in_sys_path);
    }

    fn a_package_entry_finds_only_its_direct_children() {
        let (sub, inner, grandchild, outside, prefixed): (
            Option<String>, Option<String>, bool, bool, Listing,
        ) = python(
            hermetic(),
            r#"
            import sys, pkgdemo
            finder = [f for f in sys.meta_path if type(f).__name__ == "OxidizedFinder"][0]
            entry = finder.path_hook(pkgdemo.__path__[0])
            spec = entry.find_spec("pkgdemo.sub")
            inner = entry.find_spec("pkgdemo.inner")
            (spec.origin, inner.submodule_search_locations[0],
             entry.find_spec("pkgdemo.inner.anything") is None,
             entry.find_spec("greet") is None and entry.find_spec("pkgdemox.sub") is None,
             entry.iter_modules("p."))
            "#,
        );
        assert_eq!(sub.as_deref(), Some(in_origin("pkgdemo/sub.py").as_str()));
        assert_eq!(inner.as_deref(), Some(in_origin("pkgdemo/inner").as_str()));
        assert!(grandchild);
        assert!(outside);
        assert_eq!(
            prefixed,
            [("p.inner".to_string(), true), ("p.sub".to_string(), false)]
        );
    }

    fn hostile_and_foreign_paths_are_refused_with_import_error() {
        let refused: Vec<(String, String)> = python(
            hermetic(),
            r#"
            import sys, os
            finder = [f for f in sys.meta_path if type(f).__name__ == "OxidizedFinder"][0]
            base = finder.path_hook_base_str
            attacks = [
                base + "/..", base + "/../" + os.path.basename(base), base + "/pkgdemo/..",
                base + "/pkgdemo/../greet", base + "/./pkgdemo", base + "//pkgdemo",
                base + "/pkgdemo\0", base + "\0/pkgdemo", base + "x", base + "x/pkgdemo",
                os.path.dirname(base), "/etc", "", "pkgdemo", base + "/greet",
                base + "/greet.py", base + "/pkgdemo/sub", base + "/pkgdemo/sub.py",
                base + "/pkgdemo.inner", base + "/no_such_package", base + "/\udcff",
                os.fsencode(base), None, 42,
            ]
            refused = []
            for path in attacks:
                try:
                    finder.path_hook(path)
                except ImportError as e:
                    refused.append((repr(path), type(e).__name__))
                else:
                    refused.append((repr(path), "accepted"))
            refused
            "#,
        );
        for (path, outcome) in &refused {
            assert_eq!(outcome, "ImportError", "{path} was not refused");
        }
        assert_eq!(refused.len(), 24);
    }

    fn foreign_paths_reach_the_other_hooks() {
        // With the filesystem importer on, a directory outside the origin
        // gets CPython's FileFinder from pkgutil.
        let (importer, ours_for_pkg): (String, String) = python(
            with(&[], true),
            &r#"
            import pkgutil, pkgdemo
            (type(pkgutil.get_importer(@STDLIB@)).__name__,
             type(pkgutil.get_importer(pkgdemo.__path__[0])).__name__)
            "#
            .replace("@STDLIB@", &format!("{:?}", importer_support::STDLIB)),
        );
        assert_eq!(importer, "FileFinder");
        assert_eq!(ours_for_pkg, "OxidizedPathEntryFinder");
    }

    fn files_next_to_a_real_origin_still_import() {
        // A finder whose origin is a real directory: packed modules come
        // first, files in the directory still import and are listed.
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("neighbour.py"), "N = 'disk'\n").expect("write");
        std::fs::write(dir.path().join("greet.py"), "GREETING = 'disk'\n").expect("write");
        let container = importer_support::app_only();
        let code = format!(
            r#"
            import sys, pkgutil, oxidized_importer
            finder = oxidized_importer.OxidizedFinder({dir:?})
            finder.index_file_memory_mapped({container:?})
            sys.path_hooks.insert(0, finder.path_hook)
            sys.path.insert(0, {dir:?})
            sys.path_importer_cache.clear()
            sys.modules.pop("greet", None)
            entry = pkgutil.get_importer({dir:?})
            listed = {{m.name for m in pkgutil.iter_modules([{dir:?}])}}
            import neighbour, greet
            (type(entry).__name__, neighbour.N, greet.GREETING,
             "neighbour" in listed and "pkgdemo" in listed)
            "#,
            dir = dir.path().to_str().expect("UTF-8"),
            container = container.to_str().expect("UTF-8"),
        );
        let (entry, neighbour, greeting, listed): (String, String, String, bool) =
            python(with(&[], true), &code);
        assert_eq!(entry, "OxidizedPathEntryFinder");
        assert_eq!(neighbour, "disk");
        assert_eq!(greeting, "hello", "the packed greet comes first");
        assert!(listed);
    }

    fn runpy_runs_a_packed_package_main_and_a_plain_module() {
        let container = extra("ab", &[INPUT_A, INPUT_B]);
        let (main, plain, main_file, sub_listing): (
            (String, String, String), String, String, Listing,
        ) = python(
            with(&[container], false),
            r#"
            import runpy, pkgutil, runme
            main = runpy.run_module("runme", run_name="__main__", alter_sys=True)
            plain = runpy.run_module("plainmod")
            (main["RESULT"], plain["RESULT"], main["__file__"],
             [(m.name, m.ispkg) for m in pkgutil.iter_modules(runme.__path__)])
            "#,
        );
        assert_eq!(
            main,
            (
                "__main__".to_string(),
                "runme.__main__".to_string(),
                in_origin("runme/__main__.py")
            )
        );
        assert_eq!(plain, "plainmod");
        assert_eq!(main_file, in_origin("runme/__main__.py"));
        assert_eq!(
            sub_listing,
            [("__main__".to_string(), false), ("sub".to_string(), true)]
        );
    }

    fn dash_m_runs_a_packed_package() {
        let container = extra("ab", &[INPUT_A, INPUT_B]);
        let forked = forked!(dash_m_runs_a_packed_package, &[], || {
            let mut config = with(std::slice::from_ref(&container), false);
            config.interpreter_config.run_module = Some("runme".into());
            let interpreter = support::start(config);
            std::process::exit(interpreter.py_runmain());
        });
        forked
            .assert_success()
            .assert_output_contains("runme main: ('__main__', 'runme.__main__', ");
    }

    fn an_uncaught_keyboard_interrupt_still_dies_from_sigint() {
        // The source excepthook must not turn `python -c "raise
        // KeyboardInterrupt"`'s death by SIGINT into exit code 1.
        let forked = forked!(an_uncaught_keyboard_interrupt_still_dies_from_sigint, &[], || {
            support::default_sigint();
            let mut config = hermetic();
            config.interpreter_config.run_command = Some("raise KeyboardInterrupt".into());
            let interpreter = support::start(config);
            std::process::exit(interpreter.py_runmain());
        });
        assert_eq!(forked.code, None, "{}", forked.output);
        forked.assert_output_contains("KeyboardInterrupt");
    }

    fn a_cpython_regression_test_passes_with_the_stdlib_packed() {
        // Smoke test for benches/regrtest_packed.sh: regrtest's test_pkgutil
        // with the standard library from the container and only the `test`
        // package (Debian's libpython3.11-testsuite) from disk.
        if !Path::new(importer_support::STDLIB).join("test/support/__init__.py").exists() {
            eprintln!("skipped: libpython3.11-testsuite is not installed");
            return;
        }
        let forked = forked!(
            a_cpython_regression_test_passes_with_the_stdlib_packed,
            &[],
            || {
                let mut config = with(&[], true);
                config.argv = Some(vec!["prog".into(), "test_pkgutil".into()]);
                config.interpreter_config.run_module = Some("test".into());
                let interpreter = support::start(config);
                let served: (String, String) = interpreter.with_gil(|py| {
                    support::eval(
                        py,
                        r#"
                        import pkgutil, test.support
                        (type(pkgutil.__loader__).__name__,
                         type(test.support.__loader__).__name__)
                        "#,
                    )
                });
                assert_eq!(
                    served,
                    ("OxidizedFinder".to_string(), "SourceFileLoader".to_string())
                );
                std::process::exit(interpreter.py_runmain());
            }
        );
        forked
            .assert_success()
            .assert_output_contains("Tests result: SUCCESS");
    }

    fn dunder_init_names_run_the_package_code_as_a_module() {
        let container = extra("ab", &[INPUT_A, INPUT_B]);
        let (name, separate, file_same, is_pkg, runs, value, ns_missing, loader_pkg): (
            String, bool, bool, bool, i64, i64, bool, bool,
        ) = python(
            with(&[container], false),
            r#"
            import importlib, initpkg
            alias = importlib.import_module("initpkg.__init__")
            pkgdemo_alias = importlib.import_module("pkgdemo.__init__")
            try:
                importlib.import_module("ns.__init__")
                ns_missing = False
            except ModuleNotFoundError:
                ns_missing = True
            (alias.NAME, alias is not initpkg, alias.__file__ == initpkg.__file__,
             hasattr(alias, "__path__"), alias.RUNS, pkgdemo_alias.VALUE, ns_missing,
             alias.__loader__.is_package("initpkg.__init__"))
            "#,
        );
        // As with CPython's FileFinder: a separate module named
        // `initpkg.__init__`, running the package's code once more.
        assert_eq!(name, "initpkg.__init__");
        assert!(separate && file_same);
        assert!(!is_pkg && !loader_pkg);
        assert_eq!(runs, 2);
        assert_eq!(value, 21);
        assert!(ns_missing);
    }

    fn namespace_packages_span_two_inputs_of_one_container() {
        let container = extra("ab", &[INPUT_A, INPUT_B]);
        let (a, b, listing): (String, String, Listing) = python(
            with(&[container], false),
            r#"
            import pkgutil, ns.a, ns.b, ns
            (ns.a.A, ns.b.B, sorted((m.name, m.ispkg) for m in pkgutil.iter_modules(ns.__path__)))
            "#,
        );
        assert_eq!((a.as_str(), b.as_str()), ("a", "b"));
        assert_eq!(listing, [("a".to_string(), false), ("b".to_string(), false)]);
    }

    fn namespace_packages_span_two_containers() {
        let first = extra("a", &[INPUT_A]);
        let second = extra("b", &[INPUT_B]);
        let (a, b, listing, path): (String, String, Listing, Vec<String>) = python(
            with(&[first, second], false),
            r#"
            import pkgutil, ns.a, ns.b, ns
            (ns.a.A, ns.b.B, sorted((m.name, m.ispkg) for m in pkgutil.iter_modules(ns.__path__)),
             list(ns.__path__))
            "#,
        );
        assert_eq!((a.as_str(), b.as_str()), ("a", "b"));
        assert_eq!(listing, [("a".to_string(), false), ("b".to_string(), false)]);
        assert_eq!(path, [in_origin("ns")]);
    }
}
