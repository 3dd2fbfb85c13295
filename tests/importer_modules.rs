//! The packed-resources importer, seen from Python: packed modules and
//! packages import with virtual paths, show their source in tracebacks and
//! to `inspect`, are listed by `pkgutil`, and follow the loader protocol.
#![cfg(feature = "cli")]

#[macro_use]
mod support;
mod importer_support;

use std::path::PathBuf;

use pyembed::{BytecodeOptimizationLevel, OxidizedPythonInterpreterConfig, PackedResourcesSource};
use pyo3::prelude::*;
use support::{config, origin, python};

/// The hermetic configuration: stdlib and app packed, no filesystem importer.
fn hermetic() -> OxidizedPythonInterpreterConfig<'static> {
    importer_support::stdlib_and_app_config(&[], false)
}

/// `(name, ispkg)` pairs as `pkgutil` reports them.
type Listing = Vec<(String, bool)>;

fn in_origin(relative: &str) -> String {
    origin().join(relative).to_str().expect("UTF-8").to_string()
}

/// Imports the packed namespace package `nsdemo` with two directories
/// first on `sys.path` holding portions of it (`disk_one`, `disk_two`).
/// Returns the directories' parent, `nsdemo.__path__` and what
/// `nsdemo.part`, `nsdemo.disk_one` and `nsdemo.disk_two` say (`"None"`
/// when not importable).
fn import_namespace_with_portions_on_disk(filesystem: bool) -> (String, Vec<String>, Vec<String>) {
    let dir = support::TempDir::new("namespace-portions");
    dir.write("one/nsdemo/disk_one.py", "WHERE = 'disk one'\n");
    dir.write("two/nsdemo/disk_two.py", "WHERE = 'disk two'\n");
    dir.write(
        "three/nsdemo/__init__.py",
        "raise RuntimeError('regular package ran')\n",
    );
    let root = dir.as_str().to_owned();
    let mut config = importer_support::stdlib_and_app_config(&[], filesystem);
    config.argv = Some(vec!["prog".into(), root.clone().into()]);
    let (path, found) = python(
        config,
        r#"
        import sys
        sys.path[:0] = [sys.argv[1] + "/one", sys.argv[1] + "/two"]
        import nsdemo, nsdemo.part
        found = [nsdemo.part.WHERE]
        for name in ["disk_one", "disk_two"]:
            try:
                found.append(__import__("nsdemo." + name, fromlist=["WHERE"]).WHERE)
            except ImportError:
                found.append(None)
        (list(nsdemo.__path__), [str(w) for w in found])
        "#,
    );
    (root, path, found)
}

forked_test! {
    fn a_packed_module_imports_with_a_virtual_path() {
        let (hello, file, origin_attr, has_location, co_filename, loader_is_finder, cached): (
            String, String, String, bool, String, bool, bool,
        ) = python(
            hermetic(),
            r#"
            import sys, greet
            spec = greet.__spec__
            (greet.hello(), greet.__file__, spec.origin, spec.has_location,
             greet.hello.__code__.co_filename,
             spec.loader is sys.meta_path[0] and greet.__loader__ is spec.loader,
             spec.submodule_search_locations is None)
            "#,
        );
        assert_eq!(hello, "hello");
        assert_eq!(file, in_origin("greet.py"));
        assert_eq!(origin_attr, file);
        assert!(has_location);
        // The packed co_filename ("greet.py") became the virtual path.
        assert_eq!(co_filename, file);
        assert!(loader_is_finder);
        assert!(cached);
    }

    fn packages_subpackages_and_relative_imports_work() {
        let (file, path, double, answer, inner_path): (String, Vec<String>, i64, i64, Vec<String>) =
            python(
                hermetic(),
                r#"
                import pkgdemo, pkgdemo.sub, pkgdemo.inner
                (pkgdemo.__file__, pkgdemo.__path__, pkgdemo.sub.DOUBLE,
                 pkgdemo.inner.ANSWER, pkgdemo.inner.__path__)
                "#,
            );
        assert_eq!(file, in_origin("pkgdemo/__init__.py"));
        assert_eq!(path, [in_origin("pkgdemo")]);
        assert_eq!((double, answer), (42, 42));
        assert_eq!(inner_path, [in_origin("pkgdemo/inner")]);
    }

    fn namespace_packages_have_a_path_and_no_file() {
        let (where_, path, has_file, origin_attr): (String, Vec<String>, bool, Option<String>) =
            python(
                hermetic(),
                r#"
                import nsdemo.part, nsdemo
                (nsdemo.part.WHERE, list(nsdemo.__path__), hasattr(nsdemo, "__file__"),
                 nsdemo.__spec__.origin)
                "#,
            );
        assert_eq!(where_, "namespace portion");
        assert_eq!(path, [in_origin("nsdemo")]);
        assert!(!has_file);
        assert_eq!(origin_attr, None);
    }

    fn namespace_portions_on_disk_join_a_packed_namespace_package() {
        let (root, path, found) = import_namespace_with_portions_on_disk(true);
        assert_eq!(
            path,
            [in_origin("nsdemo"), format!("{root}/one/nsdemo"), format!("{root}/two/nsdemo")]
        );
        assert_eq!(found, ["namespace portion", "disk one", "disk two"]);
    }

    fn without_the_filesystem_importer_no_portion_joins() {
        let (_, path, found) = import_namespace_with_portions_on_disk(false);
        assert_eq!(path, [in_origin("nsdemo")]);
        assert_eq!(found, ["namespace portion", "None", "None"]);
    }

    fn pep_263_source_encodings_are_honoured() {
        let (text, source): (String, String) = python(
            hermetic(),
            r#"
            import latin1mod
            (latin1mod.TEXT, latin1mod.__loader__.get_source("latin1mod"))
            "#,
        );
        assert_eq!(text, "été");
        assert_eq!(source, "# -*- coding: latin-1 -*-\nTEXT = 'été'\n");
    }

    fn tracebacks_show_packed_source_lines() {
        let formatted: String = python(
            hermetic(),
            r#"
            import traceback, greet
            try:
                greet.fail()
            except ValueError:
                formatted = traceback.format_exc()
            formatted
            "#,
        );
        let expected = format!(
            "  File \"{}\", line 10, in fail\n    raise ValueError(\"boom from greet\")\n",
            in_origin("greet.py")
        );
        assert!(formatted.contains(&expected), "{formatted}");
    }

    fn errors_while_executing_a_module_hide_the_import_machinery() {
        // Execution goes through importlib's `_call_with_frames_removed`, so
        // CPython trims its frames from the traceback, as for source files.
        let (formatted, in_modules): (String, bool) = python(
            hermetic(),
            r#"
            import sys, traceback
            try:
                import boom
            except RuntimeError:
                formatted = traceback.format_exc()
            (formatted, "boom" in sys.modules)
            "#,
        );
        let expected = format!(
            "  File \"{}\", line 2, in <module>\n    raise RuntimeError(\"boom at import\")\n",
            in_origin("boom.py")
        );
        assert!(formatted.contains(&expected), "{formatted}");
        assert!(!formatted.contains("importlib._bootstrap"), "{formatted}");
        assert!(!in_modules);
    }

    fn inspect_getsource_works() {
        let (function, module, file): (String, String, String) = python(
            hermetic(),
            r#"
            import inspect, greet
            (inspect.getsource(greet.hello), inspect.getsource(greet), inspect.getsourcefile(greet))
            "#,
        );
        assert_eq!(function, "def hello():\n    return GREETING\n");
        assert!(module.starts_with("\"\"\"A packed module.\"\"\"\nGREETING"), "{module}");
        assert_eq!(file, in_origin("greet.py"));
    }

    fn stdlib_source_is_available_too() {
        let source_line: String = python(
            hermetic(),
            r#"
            import inspect, json
            inspect.getsource(json.dumps).splitlines()[0]
            "#,
        );
        assert!(source_line.starts_with("def dumps(obj"), "{source_line}");
    }

    fn unknown_modules_are_not_found() {
        let (error, spec_is_none, get_source_error): (String, bool, String) = python(
            hermetic(),
            r#"
            import sys
            try:
                import pyembed_no_such_module
            except ModuleNotFoundError as e:
                error = f"{type(e).__name__}: {e}"
            finder = sys.meta_path[0]
            try:
                finder.get_source("pyembed_no_such_module")
            except ImportError as e:
                get_source_error = f"{type(e).__name__}: {e} (name={e.name})"
            (error, finder.find_spec("pyembed_no_such_module") is None, get_source_error)
            "#,
        );
        assert_eq!(
            error,
            "ModuleNotFoundError: No module named 'pyembed_no_such_module'"
        );
        assert!(spec_is_none);
        assert_eq!(
            get_source_error,
            "ImportError: 'pyembed_no_such_module' is not a Python module in the packed \
             resources (name=pyembed_no_such_module)"
        );
    }

    fn pkgutil_lists_packed_top_level_modules() {
        let (listed, from_finder, prefixed): (Listing, bool, Listing) = python(
            hermetic(),
            r#"
            import pkgutil, sys
            finder = sys.meta_path[0]
            infos = [m for m in pkgutil.iter_modules() if m.module_finder is finder]
            wanted = {"greet", "pkgdemo", "nsdemo", "json", "email", "victim"}
            ([(m.name, m.ispkg) for m in infos if m.name in wanted],
             all("." not in m.name for m in infos),
             [m for m in finder.iter_modules("x.") if m[0] in ("x.greet", "x.json")])
            "#,
        );
        assert_eq!(
            listed,
            [
                ("email".to_string(), true),
                ("greet".to_string(), false),
                ("json".to_string(), true),
                ("nsdemo".to_string(), true),
                ("pkgdemo".to_string(), true),
                ("victim".to_string(), false),
            ]
        );
        assert!(from_finder);
        assert_eq!(
            prefixed,
            [("x.greet".to_string(), false), ("x.json".to_string(), true)]
        );
    }

    fn the_loader_protocol_is_complete() {
        let results: Vec<String> = python(
            hermetic(),
            r#"
            import sys, oxidized_importer
            f = sys.meta_path[0]
            code = f.get_code("pkgdemo.sub")
            [
                str(isinstance(f, oxidized_importer.OxidizedFinder)),
                str(f.is_package("pkgdemo")), str(f.is_package("greet")),
                f.get_filename("pkgdemo"), f.get_filename("pkgdemo.sub"),
                code.co_filename, type(code).__name__,
                repr(f.create_module(f.find_spec("greet"))),
                repr(f.invalidate_caches()),
                f.origin, f.path_hook_base_str, type(f.origin).__name__,
                repr(f.get_code("nsdemo")),
            ]
            "#,
        );
        let origin = origin().to_str().expect("UTF-8").to_string();
        assert_eq!(
            results,
            [
                "True".to_string(),
                "True".into(),
                "False".into(),
                in_origin("pkgdemo/__init__.py"),
                in_origin("pkgdemo/sub.py"),
                in_origin("pkgdemo/sub.py"),
                "code".into(),
                "None".into(),
                "None".into(),
                origin.clone(),
                origin,
                "str".into(),
                "None".into(),
            ]
        );
    }

    fn runpy_and_reload_use_the_loader() {
        let (double, reloaded): (i64, bool) = python(
            hermetic(),
            r#"
            import importlib, runpy, greet
            namespace = runpy.run_module("pkgdemo.sub")
            before = greet
            greet.GREETING = "changed"
            importlib.reload(greet)
            (namespace["DOUBLE"], greet is before and greet.hello() == "hello")
            "#,
        );
        assert_eq!(double, 42);
        assert!(reloaded);
    }

    fn level_zero_uses_the_packed_bytecode() {
        let debug: bool = python(hermetic(), "import optdemo\noptdemo.DEBUG");
        assert!(debug);
    }

    fn a_missing_level_is_compiled_from_the_source() {
        // The container holds level-0 bytecode only: under -O the source is
        // compiled at level 1, where `__debug__` is False.
        let mut config = hermetic();
        config.interpreter_config.optimization_level = Some(BytecodeOptimizationLevel::One);
        let (optimize, debug, co_filename, json_ok): (i64, bool, String, bool) = python(
            config,
            r#"
            import sys, optdemo, json
            (sys.flags.optimize, optdemo.DEBUG, sys.meta_path[0].get_code("optdemo").co_filename,
             json.loads("[1]") == [1])
            "#,
        );
        assert_eq!(optimize, 1);
        assert!(!debug);
        assert_eq!(co_filename, in_origin("optdemo.py"));
        assert!(json_ok);
    }

    fn a_missing_level_without_source_is_an_import_error() {
        let stripped = importer_support::app_stripped();
        let stdlib = importer_support::stdlib_and_app();
        let mut config = importer_support::importer_config(&[stripped.clone(), stdlib], true);
        config.interpreter_config.optimization_level = Some(BytecodeOptimizationLevel::Two);
        let (error, name, path, source): (String, String, String, Option<String>) = python(
            config,
            r#"
            import sys
            try:
                import optdemo
            except ImportError as e:
                error, name, path = str(e), e.name, e.path
            finder = next(f for f in sys.meta_path if type(f).__name__ == "OxidizedFinder")
            (error, name, path, finder.get_source("optdemo"))
            "#,
        );
        let stripped = stripped.to_str().expect("UTF-8");
        assert_eq!(
            error,
            format!(
                "packed resources {stripped} hold no bytecode for 'optdemo' at optimization \
                 level 2 (sys.flags.optimize) and no source to compile; hint: pack with \
                 `--opt 2` or keep sources"
            )
        );
        assert_eq!((name.as_str(), path.as_str()), ("optdemo", stripped));
        assert_eq!(source, None);
    }

    fn threads_import_concurrently_without_deadlock() {
        let (alive, errors, loaded): (usize, Vec<String>, bool) = python(
            hermetic(),
            r#"
            import sys, threading, importlib
            sys.setswitchinterval(1e-6)
            names = ["email.message", "http.client", "argparse", "logging.handlers",
                     "xml.dom.minidom", "datetime", "calendar", "json", "csv",
                     "configparser", "difflib", "pprint", "tomllib", "zipfile", "uuid",
                     "pkgdemo.inner", "greet", "shlex", "string", "textwrap"]
            errors = []
            barrier = threading.Barrier(8)
            def worker(offset):
                barrier.wait()
                for i in range(len(names)):
                    name = names[(i + offset) % len(names)]
                    try:
                        importlib.import_module(name)
                    except BaseException as e:
                        errors.append(f"{name}: {e!r}")
            threads = [threading.Thread(target=worker, args=(k * 3,)) for k in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=120)
            (sum(t.is_alive() for t in threads), errors,
             all(sys.modules[n].__spec__.loader is sys.meta_path[0] for n in names))
            "#,
        );
        assert_eq!(alive, 0, "threads still importing after two minutes");
        assert!(errors.is_empty(), "{errors:?}");
        assert!(loaded);
    }

    fn python_code_can_index_more_containers() {
        let app = importer_support::app_only();
        let app = app.to_str().expect("UTF-8").to_string();
        let mut config = config(&["prog"]);
        config.oxidized_importer = false;
        config.argv = Some(vec!["prog".into(), app.into()]);
        let (spec_origin, added_bytes, added_file, hello, repr_): (String, usize, usize, String, String) =
            python(
                config,
                r#"
                import sys, oxidized_importer
                finder = oxidized_importer.OxidizedFinder(origin="/virtual")
                added_file = finder.index_file_memory_mapped(sys.argv[1])
                with open(sys.argv[1], "rb") as f:
                    added_bytes = finder.index_bytes(f.read())
                sys.meta_path.insert(0, finder)
                import greet
                (finder.find_spec("pkgdemo").origin, added_bytes, added_file, greet.hello(),
                 repr(finder))
                "#,
            );
        assert_eq!(spec_origin, "/virtual/pkgdemo/__init__.py");
        // The second copy adds nothing: the first indexed wins.
        assert_eq!(added_bytes, 0);
        assert!(added_file >= 8, "{added_file}");
        assert_eq!(hello, "hello");
        assert!(repr_.contains("from 2 container(s)"), "{repr_}");
    }

    fn an_in_memory_container_on_the_heap_is_copied_and_works() {
        let bytes = std::fs::read(importer_support::stdlib_and_app()).expect("reading");
        // `'static`, but on the heap, not in the executable's image: the
        // importer cannot prove it lives forever, so it keeps a copy.
        let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
        let mut config = importer_support::hermetic_config::<PathBuf>(&[]);
        config.packed_resources = vec![PackedResourcesSource::Memory(bytes)];
        let interpreter = support::start(config);
        let (hello, mapped, borrowed, description) = interpreter.with_gil(|py| {
            let hello: String = support::eval(py, "import greet\ngreet.hello()");
            let finder = py
                .import("sys")
                .and_then(|sys| sys.getattr("meta_path"))
                .and_then(|meta_path| meta_path.get_item(0))
                .expect("sys.meta_path[0]");
            let finder = finder
                .cast::<pyembed::OxidizedFinder>()
                .expect("an OxidizedFinder");
            let state = finder.get().state();
            let source = &state.sources()[0];
            (
                hello,
                source.container().is_memory_mapped(),
                source.container().is_borrowed(),
                source.description().to_string(),
            )
        });
        assert_eq!(hello, "hello");
        assert!(!mapped && !borrowed);
        assert_eq!(description, format!("in-memory container ({} bytes)", bytes.len()));
    }

    fn indexing_garbage_from_python_is_an_error() {
        let (value_error, os_error): (String, String) = python(
            config(&["prog"]),
            r#"
            import oxidized_importer
            finder = oxidized_importer.OxidizedFinder()
            try:
                finder.index_bytes(b"not a container at all, not at all")
            except ValueError as e:
                value_error = str(e)
            try:
                finder.index_file_memory_mapped("/nonexistent/pyembed.pyembed")
            except OSError as e:
                os_error = str(e)
            (value_error, os_error)
            "#,
        );
        assert!(
            value_error.starts_with("cannot index packed resources in-memory container (34 bytes): "),
            "{value_error}"
        );
        assert_eq!(
            os_error,
            "cannot index packed resources /nonexistent/pyembed.pyembed: \
             cannot open packed resources file /nonexistent/pyembed.pyembed: No such file or \
             directory (os error 2)"
        );
    }
}
