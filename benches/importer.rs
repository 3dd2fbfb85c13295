//! The packed-resources importer, in process, over the fixed stdlib module
//! list (`benches/stdlib-modules.txt`), and the packer over the whole stdlib.
//!
//! ```text
//! cargo bench --features cli --bench importer
//! ```
//!
//! | name | what one iteration does |
//! |---|---|
//! | `importer.find_spec.all` | `OxidizedFinder.find_spec` of every listed name |
//! | `importer.get_code.all/{tier0,tier1}` | `get_code` of every listed name, on a finder that has not read anything yet (so chunk verification and tier-1 decompression are included) |
//! | `importer.import_all/{tier0,tier1}` | `import` of every listed name through a fresh finder put first on `sys.meta_path`; the modules are removed from `sys.modules` afterwards |
//! | `pack.stdlib` | `pyembed pack --stdlib /usr/lib/python3.11` (tier 0 only), a whole process |
//!
//! `tier0` is a container packed with `--compress=none`, `tier1` one packed
//! with `--compress=all`: the two ends of the range. One interpreter runs all
//! the importer benchmarks (a process has one); it imports the standard
//! library from the `tier0` container, with the filesystem importer off, so
//! nothing is read from `/usr/lib/python3.11` once the containers are
//! packed. Modules the interpreter imported at start-up stay loaded and are
//! not imported again; every other listed module is.
//!
//! `PYEMBED_BENCH_STDLIB` names another standard library. The whole-process
//! comparisons against `python3.11` are in `benches/compare.sh`;
//! `docs/performance.md` has the figures. Nothing here
//! asserts a time.

use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{BatchSize, Criterion};
use pyembed::{MainPythonInterpreter, OxidizedPythonInterpreterConfig, PackedResourcesSource};
use pyo3::prelude::*;
use pyo3::types::PyDict;

#[path = "support/mod.rs"]
mod support;

/// Packs the stdlib with `--compress=<compress>` into `dir`.
fn pack(stdlib: &Path, compress: &str, dir: &Path) -> PathBuf {
    let out = dir.join(format!("stdlib-{compress}.pyembed"));
    support::pack(stdlib, compress, &out).unwrap_or_else(|e| panic!("{e}"));
    out
}

/// The Python side: fresh finders and the three loops, in one namespace.
const HARNESS: &str = r#"
import sys, oxidized_importer

BASE = set(sys.modules)

def fresh(path):
    finder = oxidized_importer.OxidizedFinder()
    finder.index_interpreter_builtins()
    finder.index_file_memory_mapped(path)
    return finder

def find_all(finder):
    # Names no container lists (the interpreter's own test modules
    # `__hello__`, `__phello__`...) are left to the importers after this one:
    # None is the finder's answer for them.
    for name in NAMES:
        finder.find_spec(name, None)

def python_modules(finder):
    """The listed names this finder serves as Python code (not built-in,
    frozen or extension modules)."""
    specs = ((name, finder.find_spec(name, None)) for name in NAMES)
    return [name for name, spec in specs
            if spec is not None and spec.loader is finder and spec.origin.endswith(".py")]

def get_code_all(finder):
    for name in CODE_NAMES:
        if finder.get_code(name) is None:
            raise ImportError(f"no code for {name}")

def import_all(finder):
    sys.meta_path.insert(0, finder)
    try:
        for name in NAMES:
            __import__(name)
    finally:
        sys.meta_path.remove(finder)
        for name in [n for n in sys.modules if n not in BASE]:
            del sys.modules[name]
"#;

fn benches(c: &mut Criterion) {
    let stdlib = support::stdlib();
    let dir = tempfile::tempdir().expect("temporary directory");
    let tier0 = pack(&stdlib, "none", dir.path());
    let tier1 = pack(&stdlib, "all", dir.path());
    let names: Vec<String> = include_str!("stdlib-modules.txt")
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(String::from)
        .collect();
    eprintln!(
        "importer: {} module names; containers packed from {}",
        names.len(),
        stdlib.display()
    );

    let mut config = OxidizedPythonInterpreterConfig::default();
    config.interpreter_config.parse_argv = Some(false);
    config.argv = Some(vec!["bench".into()]);
    config.oxidized_importer = true;
    config.filesystem_importer = false;
    config.packed_resources = vec![PackedResourcesSource::MemoryMappedPath(tier0.clone())];
    let interpreter = MainPythonInterpreter::new(config).expect("interpreter");

    interpreter.with_gil(|py| {
        let globals = PyDict::new(py);
        globals.set_item("NAMES", &names).expect("NAMES");
        let code = std::ffi::CString::new(HARNESS).expect("no NUL");
        py.run(&code, Some(&globals), None).expect("harness");
        let function = |name: &str| globals.get_item(name).expect("lookup").expect("defined");
        let (fresh, find_all, get_code_all, import_all) = (
            function("fresh"),
            function("find_all"),
            function("get_code_all"),
            function("import_all"),
        );
        let new_finder = |path: &Path| {
            fresh
                .call1((path.to_str().expect("UTF-8 path"),))
                .expect("a fresh finder")
        };
        let code_names = globals
            .get_item("python_modules")
            .expect("lookup")
            .expect("defined")
            .call1((new_finder(&tier0),))
            .expect("python_modules");
        eprintln!(
            "importer: {} of them are packed Python modules",
            code_names.len().expect("len")
        );
        globals
            .set_item("CODE_NAMES", code_names)
            .expect("CODE_NAMES");
        // Everything must work once before it is timed.
        for path in [&tier0, &tier1] {
            get_code_all
                .call1((new_finder(path),))
                .unwrap_or_else(|e| panic!("get_code_all over {}: {e}", path.display()));
            import_all
                .call1((new_finder(path),))
                .unwrap_or_else(|e| panic!("import_all over {}: {e}", path.display()));
        }

        let mut group = c.benchmark_group("importer.find_spec.all");
        group.sample_size(50);
        let finder = new_finder(&tier0);
        group.bench_function("tier0", |b| {
            b.iter(|| find_all.call1((&finder,)).expect("find_all"))
        });
        group.finish();

        for (name, call) in [
            ("importer.get_code.all", &get_code_all),
            ("importer.import_all", &import_all),
        ] {
            let mut group = c.benchmark_group(name);
            group.sample_size(10);
            group.measurement_time(Duration::from_secs(20));
            for (id, path) in [("tier0", &tier0), ("tier1", &tier1)] {
                group.bench_function(id, |b| {
                    b.iter_batched(
                        || new_finder(path),
                        |finder| call.call1((finder,)).expect("the loop"),
                        BatchSize::PerIteration,
                    )
                });
            }
            group.finish();
        }
    });
    drop(interpreter);

    let mut group = c.benchmark_group("pack.stdlib");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(60));
    group.bench_function("tier0", |b| {
        let out = dir.path().join("timed.pyembed");
        b.iter(|| support::pack(&stdlib, "none", &out).expect("pyembed pack"))
    });
    group.finish();
}

fn main() {
    let mut criterion = Criterion::default().configure_from_args();
    benches(&mut criterion);
    criterion.final_summary();
}
