//! How `oxidized_importer` and `filesystem_importer` combine: the resulting
//! `sys.meta_path` and `sys.path_hooks`, which importer wins for a name both
//! packed and on disk, what a missing standard library looks like, and the
//! traceback hook installed with the importer.
#![cfg(feature = "cli")]

#[macro_use]
mod support;
mod importer_support;

use pyembed::{NewInterpreterError, OxidizedPythonInterpreterConfig, PackedResourcesSource};
use support::{TempDir, config, python, start, start_err};

/// A configuration without `site` (whose `.pth` files may insert finders of
/// their own, such as setuptools' `DistutilsMetaFinder`), so the layout is
/// exactly what this crate sets up.
fn layout_config(oxidized: bool, filesystem: bool) -> OxidizedPythonInterpreterConfig<'static> {
    let mut config = config(&["prog"]);
    config.interpreter_config.site_import = Some(false);
    config.oxidized_importer = oxidized;
    config.filesystem_importer = filesystem;
    if oxidized && !filesystem {
        // No standard library from disk, not even through a `home`.
        config.interpreter_config.home = None;
    }
    if oxidized {
        config.packed_resources = vec![PackedResourcesSource::MemoryMappedPath(
            importer_support::stdlib_and_app(),
        )];
    }
    config
}

const LAYOUT: &str = r#"
import sys
([getattr(f, "__name__", type(f).__name__) for f in sys.meta_path],
 [getattr(h, "__name__", type(h).__name__) for h in sys.path_hooks])
"#;

type Layout = (Vec<String>, Vec<String>);

fn hooks() -> Vec<String> {
    vec!["zipimporter".into(), "path_hook_for_FileFinder".into()]
}

/// With the packed-resources importer: `OxidizedFinder.path_hook` first.
fn hooks_with_packed() -> Vec<String> {
    vec![
        "path_hook".into(),
        "zipimporter".into(),
        "path_hook_for_FileFinder".into(),
    ]
}

forked_test! {
    fn filesystem_only() {
        let (meta_path, path_hooks): Layout = python(layout_config(false, true), LAYOUT);
        assert_eq!(meta_path, ["BuiltinImporter", "FrozenImporter", "PathFinder"]);
        assert_eq!(path_hooks, hooks());
    }

    fn neither_importer() {
        let (meta_path, path_hooks): Layout = python(layout_config(false, false), LAYOUT);
        assert_eq!(meta_path, ["BuiltinImporter", "FrozenImporter"]);
        assert_eq!(path_hooks, hooks());
    }

    fn packed_then_filesystem() {
        let (meta_path, path_hooks): Layout = python(layout_config(true, true), LAYOUT);
        assert_eq!(
            meta_path,
            ["OxidizedFinder", "BuiltinImporter", "FrozenImporter", "PathFinder"]
        );
        assert_eq!(path_hooks, hooks_with_packed());
    }

    fn packed_only() {
        let (meta_path, path_hooks): Layout = python(layout_config(true, false), LAYOUT);
        assert_eq!(meta_path, ["OxidizedFinder", "BuiltinImporter", "FrozenImporter"]);
        assert_eq!(path_hooks, hooks_with_packed());
    }

    fn with_both_packed_modules_win_and_the_disk_serves_the_rest() {
        let dir = TempDir::new("importer-disk");
        dir.write("greet.py", "def hello():\n    return 'from disk'\n");
        dir.write("disk_only.py", "WHERE = 'disk'\n");
        let mut config = layout_config(true, true);
        config.argv = Some(vec!["prog".into(), dir.as_str().into()]);
        let (hello, greet_loader, disk, disk_loader, encodings_loader): (
            String,
            String,
            String,
            String,
            String,
        ) = python(
            config,
            r#"
            import sys
            sys.path.insert(0, sys.argv[1])
            import greet, disk_only, encodings
            loader = lambda m: type(m.__spec__.loader).__name__
            (greet.hello(), loader(greet), disk_only.WHERE, loader(disk_only),
             loader(encodings))
            "#,
        );
        assert_eq!((hello.as_str(), greet_loader.as_str()), ("hello", "OxidizedFinder"));
        assert_eq!((disk.as_str(), disk_loader.as_str()), ("disk", "SourceFileLoader"));
        assert_eq!(encodings_loader, "OxidizedFinder");
    }

    fn built_in_and_frozen_modules_keep_priority() {
        // `os` and `codecs` are packed and also frozen into the interpreter;
        // `marshal` is built in.
        let (os, codecs, marshal, frozen_packed): (String, String, String, bool) = python(
            layout_config(true, false),
            r#"
            import sys, os, codecs, marshal
            finder = sys.meta_path[0]
            spec = finder.find_spec("os")
            (os.__spec__.origin, codecs.__spec__.origin, marshal.__spec__.origin,
             spec.origin == "frozen" and "os" in dict(finder.iter_modules()))
            "#,
        );
        assert_eq!(
            (os.as_str(), codecs.as_str(), marshal.as_str()),
            ("frozen", "frozen", "built-in")
        );
        assert!(frozen_packed);
    }

    fn the_module_is_built_in_even_without_the_importer() {
        let (builtin, finder_type): (bool, String) = python(
            layout_config(false, true),
            r#"
            import sys, oxidized_importer
            ("oxidized_importer" in sys.builtin_module_names,
             oxidized_importer.OxidizedFinder.__module__ + "." +
             oxidized_importer.OxidizedFinder.__qualname__)
            "#,
        );
        assert!(builtin);
        assert_eq!(finder_type, "oxidized_importer.OxidizedFinder");
    }

    fn packed_resources_without_the_stdlib_and_no_filesystem_importer_fail_clearly() {
        let mut config = layout_config(true, false);
        config.packed_resources = vec![PackedResourcesSource::MemoryMappedPath(
            importer_support::app_only(),
        )];
        let err = start_err(config);
        let text = err.to_string();
        assert!(
            matches!(
                err,
                NewInterpreterError::PythonException { phase: pyembed::InitPhase::Main, .. }
            ),
            "{err:?}"
        );
        // CPython's own words: 3.11 "failed to get the Python codec of the
        // filesystem encoding", 3.13 "Failed to import encodings module".
        let cpython_says = if pyembed::LINKED_PYTHON_VERSION == "3.11" {
            "failed to get the Python codec of the filesystem encoding"
        } else {
            "Failed to import encodings module"
        };
        assert!(
            text.ends_with(&format!(
                "{cpython_says}: \
                 ModuleNotFoundError: No module named 'encodings'; hint: the packed resources do not contain the standard library (no \
                 `encodings` package), and filesystem_importer is off; pack it (`pyembed pack \
                 --stdlib <dir> ...`, <dir> being CPython {v}'s standard library, e.g. \
                 /usr/lib/python{v}) or turn filesystem_importer on",
                v = pyembed::LINKED_PYTHON_VERSION
            )),
            "{text}"
        );
    }

    fn the_stdlib_can_come_from_disk_and_the_app_from_packed_resources() {
        let mut config = layout_config(true, true);
        config.packed_resources = vec![PackedResourcesSource::MemoryMappedPath(
            importer_support::app_only(),
        )];
        let (json_file, greet_loader): (String, String) = python(
            config,
            r#"
            import json, greet
            (json.__file__, type(greet.__loader__).__name__)
            "#,
        );
        assert_eq!(json_file, format!("{}/json/__init__.py", importer_support::STDLIB));
        assert_eq!(greet_loader, "OxidizedFinder");
    }
}

#[test]
fn uncaught_exceptions_show_packed_source_lines() {
    let container = importer_support::stdlib_and_app();
    let forked = forked!(uncaught_exceptions_show_packed_source_lines, &[], || {
        let mut config = layout_config(true, false);
        config.packed_resources = vec![PackedResourcesSource::MemoryMappedPath(container.clone())];
        config.interpreter_config.run_command = Some("import greet\ngreet.fail()\n".into());
        let code = start(config).py_runmain();
        std::process::exit(if code == 1 { 0 } else { 10 + code });
    });
    forked
        .assert_success()
        .assert_output_contains(
            "greet.py\", line 10, in fail\n    raise ValueError(\"boom from greet\")\n",
        )
        .assert_output_contains("ValueError: boom from greet\n");
}

forked_test! {
    fn the_importer_installs_a_source_excepthook() {
        let hook: String = python(
            layout_config(true, false),
            r#"
            import sys
            (sys.excepthook is not sys.__excepthook__) and sys.excepthook.__qualname__
            "#,
        );
        assert_eq!(hook, "source_excepthook");
    }

    fn without_the_importer_the_excepthook_is_cpythons() {
        let default: bool = python(
            layout_config(false, true),
            "import sys\nsys.excepthook is sys.__excepthook__",
        );
        assert!(default);
    }
}
