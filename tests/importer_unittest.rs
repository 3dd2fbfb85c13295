//! `tests/importer_python/*.py`: importer semantics checked with `unittest`
//! inside the embedded interpreter, hermetic (packed resources only).
#![cfg(feature = "cli")]

#[macro_use]
mod support;
mod importer_support;

use pyembed::PackedResourcesSource;
use support::{config, origin, python};

/// Runs the `unittest` file `source` as module `name`; returns
/// `(successful, tests run, report)`.
fn run_unittest_file(name: &str, source: &str) -> (bool, usize, String) {
    let mut config = config(&["prog"]);
    config.oxidized_importer = true;
    config.filesystem_importer = false;
    config.packed_resources = vec![PackedResourcesSource::MemoryMappedPath(
        importer_support::stdlib_and_app(),
    )];
    config.argv = Some(vec![
        "prog".into(),
        origin().into_os_string(),
        name.into(),
        source.into(),
    ]);
    python(
        config,
        r#"
        import io, sys, types, unittest
        _, origin, name, source = sys.argv
        module = types.ModuleType(name)
        module.ORIGIN = origin
        sys.modules[name] = module
        exec(compile(source, name + ".py", "exec"), module.__dict__)
        stream = io.StringIO()
        suite = unittest.defaultTestLoader.loadTestsFromModule(module)
        result = unittest.TextTestRunner(stream=stream, verbosity=2).run(suite)
        (result.wasSuccessful(), result.testsRun, stream.getvalue())
        "#,
    )
}

forked_test! {
    fn finder_semantics_from_python() {
        let (ok, run, report) =
            run_unittest_file("test_finder", include_str!("importer_python/test_finder.py"));
        assert!(ok, "{report}");
        assert!(run >= 20, "only {run} tests ran:\n{report}");
    }
}
