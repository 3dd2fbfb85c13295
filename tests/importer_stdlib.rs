//! The whole packed standard library imports through the packed-resources
//! importer, with the filesystem importer off, and with the host's standard
//! library hidden from the process.
//!
//! The module list is every module name in the container, less the ones
//! `/usr/bin/python3.11 -I -S` cannot import from its own installation on
//! this machine (platform-specific modules: `msvcrt`, `winreg`,
//! `asyncio.windows_events`, ...; modules needing absent libraries) and
//! three kinds that run programs when imported: `__main__` modules
//! (`unittest.__main__` runs the test runner, `asyncio.__main__` a REPL),
//! `antigravity` (opens a web browser) and `this` (prints the Zen of
//! Python).
//!
//! Packed *extension* modules load from memory too (`_ctypes`, `_decimal`,
//! `_ssl`, `_contextvars` and through it `asyncio`, ...), so every name on
//! the list must import: the tests accept no failure. The counts are
//! printed, with the extension modules among the failures, if any, and
//! which extension module each other failure needed.
#![cfg(feature = "cli")]

#[macro_use]
mod support;
mod importer_support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use pyembed::PackedResourcesSource;
use pyembed::resources::{Container, ResourceFlags};
use serde_json::Value;
use support::{SYSTEM_PYTHON, config, python};

/// Imports every name of `NAMES` (a JSON list) in order, timing the loop,
/// and leaves in `report` a JSON report: seconds, and for each failure its
/// exception chain as `[type, message, ImportError.name]` triples.
const IMPORT_ALL: &str = r#"
import importlib, json, sys, time
names = json.loads(NAMES)
def chain(error):
    out, seen = [], set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        out.append([type(error).__name__, str(error), getattr(error, "name", None)])
        error = error.__cause__ or error.__context__
    return out
failed = {}
start = time.perf_counter()
for name in names:
    try:
        importlib.import_module(name)
    except BaseException as error:
        failed[name] = chain(error)
seconds = time.perf_counter() - start
packed = sum(
    1 for m in list(sys.modules.values())
    if type(getattr(getattr(m, "__spec__", None), "loader", None)).__name__ == "OxidizedFinder"
)
report = json.dumps({"seconds": seconds, "failed": failed, "packed_modules": packed,
            "host_stdlib_files": [getattr(m, "__file__", None) for m in list(sys.modules.values())
                                  if (getattr(m, "__file__", None) or "").startswith("/usr/lib/python3")]})
"#;

/// Environment variables handing the parent's findings to a child.
const NAMES_VAR: &str = "PYEMBED_TEST_IMPORT_NAMES";
const EXTENSIONS_VAR: &str = "PYEMBED_TEST_EXTENSION_MODULES";
const HOST_SECONDS_VAR: &str = "PYEMBED_TEST_HOST_SECONDS";
const HIDDEN_CHILD_VAR: &str = "PYEMBED_TEST_HIDDEN_STDLIB_CHILD";

/// The import list, the container's extension modules and the time
/// `python3.11 -I -S` takes to import the list (see the module docs).
struct Plan {
    names: Vec<String>,
    extensions: BTreeSet<String>,
    host_seconds: f64,
}

impl Plan {
    /// From the environment in a child, computed in the parent.
    fn get() -> Plan {
        if let (Ok(names), Ok(extensions), Ok(seconds)) = (
            std::env::var(NAMES_VAR),
            std::env::var(EXTENSIONS_VAR),
            std::env::var(HOST_SECONDS_VAR),
        ) {
            return Plan {
                names: serde_json::from_str(&names).expect("names JSON"),
                extensions: serde_json::from_str(&extensions).expect("extensions JSON"),
                host_seconds: seconds.parse().expect("seconds"),
            };
        }
        Plan::compute()
    }

    fn compute() -> Plan {
        let path = importer_support::stdlib_and_app();
        let container = Container::open(&PackedResourcesSource::MemoryMappedPath(path))
            .expect("opening the container");
        let app: BTreeSet<String> = importer_support::app_tree()
            .iter()
            .map(|(file, _)| {
                let top = file.split('/').next().expect("a component");
                top.strip_suffix(".py").unwrap_or(top).to_string()
            })
            .collect();
        let mut candidates = Vec::new();
        let mut extensions = BTreeSet::new();
        for summary in container.summaries() {
            let name = summary.name;
            let is_extension = summary.flags.contains(ResourceFlags::EXTENSION_MODULE);
            if !summary.flags.contains(ResourceFlags::PYTHON_MODULE) && !is_extension {
                continue;
            }
            if is_extension {
                extensions.insert(name.to_string());
            }
            let top = name.split('.').next().unwrap_or(name);
            let runs_a_program = name == "__main__"
                || name.ends_with(".__main__")
                || name == "antigravity"
                || name == "this";
            if !app.contains(top) && !runs_a_program {
                candidates.push(name.to_string());
            }
        }
        // Which of them the host's own CPython imports from its own files.
        // The first run also writes any missing `.pyc`, so the second,
        // timed one compares like with like.
        let first = host_import_all(&candidates);
        let failed = first["failed"].as_object().expect("failed map");
        let names: Vec<String> = candidates
            .into_iter()
            .filter(|name| !failed.contains_key(name))
            .collect();
        let second = host_import_all(&names);
        assert!(
            second["failed"].as_object().is_some_and(|f| f.is_empty()),
            "a second run of python3.11 failed differently: {second}"
        );
        Plan {
            names,
            extensions,
            host_seconds: second["seconds"].as_f64().expect("seconds"),
        }
    }

    fn env(&self) -> Vec<(String, String)> {
        vec![
            (
                NAMES_VAR.into(),
                serde_json::to_string(&self.names).expect("JSON"),
            ),
            (
                EXTENSIONS_VAR.into(),
                serde_json::to_string(&self.extensions).expect("JSON"),
            ),
            (HOST_SECONDS_VAR.into(), self.host_seconds.to_string()),
        ]
    }
}

/// Runs [`IMPORT_ALL`] under `/usr/bin/python3.11 -I -S`.
fn host_import_all(names: &[String]) -> Value {
    let script = format!(
        "NAMES = {:?}\n{IMPORT_ALL}\nprint(report)",
        serde_json::to_string(names).expect("JSON"),
    );
    let output = Command::new(SYSTEM_PYTHON)
        .args(["-I", "-S", "-c", &script])
        .output()
        .expect("running python3.11");
    assert!(
        output.status.success(),
        "python3.11 failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The last line is the report; modules may print before it.
    let stdout = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(stdout.lines().last().expect("a report line")).expect("report JSON")
}

/// Imports the plan's names in this process's interpreter (hermetic: packed
/// resources only) and checks the outcome; returns a summary line.
fn import_all_hermetic(plan: &Plan, container: &Path) -> String {
    let mut config = config(&["prog"]);
    config.oxidized_importer = true;
    config.filesystem_importer = false;
    config.packed_resources = vec![PackedResourcesSource::MemoryMappedPath(
        container.to_path_buf(),
    )];
    let code = format!(
        "NAMES = {:?}\n{IMPORT_ALL}\nreport",
        serde_json::to_string(&plan.names).expect("JSON")
    );
    let report: String = python(config, &code);
    let report: Value = serde_json::from_str(&report).expect("report JSON");
    let failed: BTreeMap<String, Value> =
        serde_json::from_value(report["failed"].clone()).expect("failed map");
    // Extension modules load from memory, so no failure is expected, not
    // even one explained by an extension module.
    let unexplained: Vec<String> = failed
        .iter()
        .map(|(name, chain)| format!("{name}: {chain}"))
        .collect();
    assert!(
        unexplained.is_empty(),
        "imports failed:\n{}",
        unexplained.join("\n")
    );
    assert_eq!(
        report["host_stdlib_files"],
        Value::Array(vec![]),
        "modules were loaded from the host's standard library"
    );
    let failed_extensions = failed
        .keys()
        .filter(|n| plan.extensions.contains(*n))
        .count();
    // Which extension module each failure needed, for the record.
    let mut needs: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (name, chain) in &failed {
        if plan.extensions.contains(name) {
            continue;
        }
        let needed = chain
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|link| link[2].as_str())
            .find(|n| plan.extensions.contains(*n))
            .unwrap_or("?");
        needs.entry(needed).or_default().push(name);
    }
    for (extension, names) in &needs {
        eprintln!("import-all needs {extension}: {}", names.join(" "));
    }
    let seconds = report["seconds"].as_f64().expect("seconds");
    format!(
        "import-all: {} names, {} imported ({} modules loaded by OxidizedFinder), {} failed \
         ({} extension modules themselves, {} needing one); {:.3} s here vs {:.3} s for \
         python3.11 -I -S from the filesystem (ratio {:.2})",
        plan.names.len(),
        plan.names.len() - failed.len(),
        report["packed_modules"],
        failed.len(),
        failed_extensions,
        failed.len() - failed_extensions,
        seconds,
        plan.host_seconds,
        seconds / plan.host_seconds,
    )
}

#[test]
fn the_whole_stdlib_imports_with_the_filesystem_importer_off() {
    let plan = Plan::get();
    let container = importer_support::stdlib_and_app();
    let env = plan.env();
    let env: Vec<(&str, Option<&str>)> = env
        .iter()
        .map(|(k, v)| (k.as_str(), Some(v.as_str())))
        .collect();
    let forked = forked!(
        the_whole_stdlib_imports_with_the_filesystem_importer_off,
        &env,
        || {
            let plan = Plan::get();
            eprintln!("{}", import_all_hermetic(&plan, &container));
        }
    );
    forked.assert_success();
    for line in forked
        .output
        .lines()
        .filter(|l| l.starts_with("import-all"))
    {
        println!("{line}");
    }
}

#[test]
fn the_whole_stdlib_imports_with_the_host_stdlib_hidden() {
    let container = importer_support::stdlib_and_app();
    if std::env::var_os(HIDDEN_CHILD_VAR).is_some() {
        // In the namespace set up below: the host's standard library is an
        // empty directory. This process is the interpreter's own.
        assert!(
            !Path::new(importer_support::STDLIB).join("os.py").exists(),
            "the host stdlib is still visible"
        );
        let plan = Plan::get();
        eprintln!(
            "{} [host stdlib hidden]",
            import_all_hermetic(&plan, &container)
        );
        eprintln!("{}", importer_support::HIDDEN_STDLIB_BODY_RAN);
        return;
    }
    let plan = Plan::get();
    let text = importer_support::run_with_stdlib_hidden(
        "the_whole_stdlib_imports_with_the_host_stdlib_hidden",
        HIDDEN_CHILD_VAR,
        &plan.env(),
    );
    for line in text
        .iter()
        .flat_map(|t| t.lines())
        .filter(|l| l.starts_with("import-all"))
    {
        println!("{line}");
    }
}

/// Not a check: times importing the same list in both interpreters. The
/// list is the plan's names that import here (so both sides do the same
/// work), imported in a fresh process each run; the medians of seven runs
/// are printed. Run with `cargo test --release --features cli --test
/// importer_stdlib -- --ignored --nocapture --test-threads=1`.
#[test]
#[ignore = "a measurement, not a check"]
fn measure_import_all() {
    const RUNS: usize = 7;
    const LIST_VAR: &str = "PYEMBED_TEST_MEASURE_LIST";
    let container = importer_support::stdlib_and_app();
    let plan = Plan::get();
    let mut names = plan.names.clone();
    let mut ours = Vec::new();
    let mut host = Vec::new();
    for run in 0..=RUNS {
        let mut env = plan.env();
        env.push((
            LIST_VAR.into(),
            serde_json::to_string(&names).expect("JSON"),
        ));
        let env: Vec<(&str, Option<&str>)> = env
            .iter()
            .map(|(k, v)| (k.as_str(), Some(v.as_str())))
            .collect();
        let forked = forked!(measure_import_all, &env, || {
            let names: Vec<String> =
                serde_json::from_str(&std::env::var(LIST_VAR).expect("the list")).expect("JSON");
            let mut config = config(&["prog"]);
            config.oxidized_importer = true;
            config.filesystem_importer = false;
            config.interpreter_config.site_import = Some(false);
            config.packed_resources =
                vec![PackedResourcesSource::MemoryMappedPath(container.clone())];
            let code = format!(
                "NAMES = {:?}\n{IMPORT_ALL}\nreport",
                serde_json::to_string(&names).expect("JSON")
            );
            let report: String = python(config, &code);
            eprintln!("measure-report: {report}");
        });
        forked.assert_success();
        let report: Value = forked
            .output
            .lines()
            .find_map(|l| l.strip_prefix("measure-report: "))
            .map(|r| serde_json::from_str(r).expect("report JSON"))
            .expect("a report");
        if run == 0 {
            // Measure what imports here.
            let failed = report["failed"].as_object().expect("failed map");
            names.retain(|name| !failed.contains_key(name));
            continue;
        }
        ours.push(report["seconds"].as_f64().expect("seconds"));
        host.push(
            host_import_all(&names)["seconds"]
                .as_f64()
                .expect("seconds"),
        );
    }
    ours.sort_by(f64::total_cmp);
    host.sort_by(f64::total_cmp);
    let (ours, host) = (ours[RUNS / 2], host[RUNS / 2]);
    println!(
        "measure: {} modules; median of {RUNS}: {:.1} ms in pyembed (OxidizedFinder, hermetic) \
         vs {:.1} ms in python3.11 -I -S (filesystem, .pyc cached); ratio {:.2}",
        names.len(),
        ours * 1e3,
        host * 1e3,
        ours / host
    );
}
