//! `tests/importer_python/*.py`: importer semantics checked with `unittest`
//! inside the embedded interpreter, hermetic (packed resources only).
#![cfg(feature = "cli")]

#[macro_use]
mod support;
mod importer_support;

use pyembed::PackedResourcesSource;
use support::config;

/// Runs the `unittest` file `source` as module `name`; returns
/// `(successful, tests run, report)`.
fn run_unittest_file(name: &str, source: &str) -> (bool, usize, String) {
    let mut config = config(&["prog"]);
    config.oxidized_importer = true;
    config.filesystem_importer = false;
    config.packed_resources = vec![PackedResourcesSource::MemoryMappedPath(
        importer_support::stdlib_and_app(),
    )];
    support::run_unittest_source(config, name, source)
}

forked_test! {
    fn finder_semantics_from_python() {
        let (ok, run, report) =
            run_unittest_file("test_finder", include_str!("importer_python/test_finder.py"));
        assert!(ok, "{report}");
        assert!(run >= 20, "only {run} tests ran:\n{report}");
    }
}

forked_test! {
    fn indexed_resources_from_python() {
        let (ok, run, report) =
            run_unittest_file("test_indexed", include_str!("importer_python/test_indexed.py"));
        assert!(ok, "{report}");
        assert!(run >= 9, "only {run} tests ran:\n{report}");
    }
}
