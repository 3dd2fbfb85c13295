//! Real third-party packages from PyPI, packed from a `pip install --target`
//! directory and used through their normal APIs.
//!
//! `.ci/setup` installs the hash-pinned wheels of
//! `tests/data/pypi-requirements.txt` into `target/pypi-site` (certifi,
//! pygments, jinja2, markupsafe with its compiled `_speedups`, attrs,
//! packaging, idna). The tests pack that directory next to the standard
//! library and compare what `importer_python/pypi_answers.py` computes inside
//! the embedded interpreter (filesystem importer off) with what stock
//! `/usr/bin/python3.11` computes from disk for the same directory.
//!
//! Without the directory the tests skip with a message naming the set-up
//! command, except under `CI=true`, where a missing directory is a failure.
#![cfg(feature = "cli")]

#[macro_use]
mod support;
mod importer_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use pyembed::PackedResourcesSource;
use sha2::{Digest as _, Sha256};
use support::{config, python};

/// Where `.ci/setup` installs the pinned distributions.
const PYPI_SITE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/target/pypi-site");

/// The script both interpreters run.
const ANSWERS: &str = include_str!("importer_python/pypi_answers.py");

/// The installed directory, or `None` (after saying how to create it) when
/// it is missing outside CI. Panics under `CI=true` when it is missing or
/// stale.
fn pypi_site() -> Option<PathBuf> {
    // The pinned wheels (markupsafe's compiled one) are those for CPython
    // 3.11, the version .ci/setup installs them for.
    if pyembed::LINKED_PYTHON_VERSION != "3.11" {
        eprintln!(
            "skipped: the pinned PyPI wheels are for CPython 3.11; this build links {}",
            pyembed::LINKED_PYTHON_VERSION
        );
        return None;
    }
    let site = Path::new(PYPI_SITE);
    let wanted = include_str!("data/pypi-requirements.txt");
    let installed = std::fs::read_to_string(site.join(".requirements.txt")).ok();
    if installed.as_deref() == Some(wanted) {
        return Some(site.to_path_buf());
    }
    let why = if installed.is_some() {
        "holds a different set of distributions than tests/data/pypi-requirements.txt"
    } else {
        "does not exist"
    };
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "{PYPI_SITE} {why}; under CI=true the PyPI tests may not skip (run .ci/setup)"
    );
    eprintln!("skipped: {PYPI_SITE} {why} (run .ci/setup to install the pinned PyPI wheels)");
    None
}

/// The container of the installed directory, packed once per requirements
/// file (the cache key includes its digest and the `pyembed` binary).
fn packed_site(site: &Path) -> PathBuf {
    let digest = Sha256::digest(include_str!("data/pypi-requirements.txt"));
    let label: String = std::iter::once("pypi-".to_string())
        .chain(digest.iter().take(6).map(|b| format!("{b:02x}")))
        .collect();
    let site = site.to_str().expect("a UTF-8 checkout path");
    importer_support::packed(&label, &["--site-packages", site], false)
}

/// The packed standard library and the packed PyPI directory, nothing from
/// the filesystem.
fn packed_config(site: &Path) -> pyembed::OxidizedPythonInterpreterConfig<'static> {
    let mut config = config(&["prog"]);
    config.oxidized_importer = true;
    config.filesystem_importer = false;
    config.packed_resources = vec![
        PackedResourcesSource::MemoryMappedPath(importer_support::stdlib_and_app()),
        PackedResourcesSource::MemoryMappedPath(packed_site(site)),
    ];
    config
}

/// CPython's answers for the directory on disk.
fn cpython_answers(site: &Path) -> serde_json::Value {
    let output = Command::new(support::SYSTEM_PYTHON)
        .args(["-I", "-S", "-c"])
        .arg(format!(
            "import sys\nsys.path.insert(0, sys.argv[1])\n{ANSWERS}"
        ))
        .arg(site)
        .output()
        .expect("running the linked CPython's python");
    assert!(
        output.status.success(),
        "{} failed on the answers script:\n{}",
        support::SYSTEM_PYTHON,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("python printed JSON")
}

/// The paths where two JSON values differ, for a readable failure.
fn differences(path: &str, ours: &serde_json::Value, theirs: &serde_json::Value) -> Vec<String> {
    use serde_json::Value;
    match (ours, theirs) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            keys.into_iter()
                .flat_map(|k| {
                    let null = Value::Null;
                    differences(
                        &format!("{path}.{k}"),
                        a.get(k).unwrap_or(&null),
                        b.get(k).unwrap_or(&null),
                    )
                })
                .collect()
        }
        _ if ours == theirs => Vec::new(),
        _ => vec![format!("{path}: ours {ours}, CPython {theirs}")],
    }
}

#[test]
fn pypi_packages_answer_as_cpython_does() {
    let Some(site) = pypi_site() else { return };
    let expected = cpython_answers(&site);
    // Pack in the parent, so the forked child finds the container cached.
    packed_site(&site);
    importer_support::stdlib_and_app();
    forked!(pypi_packages_answer_as_cpython_does, &[], || {
        let ours: String = python(packed_config(&site), &format!("{ANSWERS}\nanswers()"));
        let ours: serde_json::Value = serde_json::from_str(&ours).expect("our answers are JSON");
        let diff = differences("", &ours, &expected);
        assert!(
            diff.is_empty(),
            "the packed packages answer differently:\n{}",
            diff.join("\n")
        );
    })
    .assert_success();
}

#[test]
fn pypi_packages_come_from_the_container() {
    let Some(site) = pypi_site() else { return };
    packed_site(&site);
    importer_support::stdlib_and_app();
    forked!(pypi_packages_come_from_the_container, &[], || {
        let problems: Vec<String> = python(
            packed_config(&site),
            r#"
            import sys
            import attr, attrs, certifi, idna, jinja2, markupsafe, packaging.version, pygments.lexers
            import importlib.metadata as md
            import markupsafe._speedups as speedups

            problems = []
            for name in ["attr", "attrs", "certifi", "idna", "jinja2", "markupsafe",
                         "packaging", "pygments", "pygments.lexers", "markupsafe._speedups"]:
                loader = type(sys.modules[name].__spec__.loader).__name__
                if loader != "OxidizedFinder":
                    problems.append(f"{name} loaded by {loader}")
            # The compiled extension from the manylinux wheel runs from memory.
            maps = open("/proc/self/maps").read()
            if "/memfd:pyembed:markupsafe._speedups.cpython-311-" not in maps:
                problems.append("markupsafe._speedups has no memfd mapping")
            if markupsafe._escape_inner is not speedups._escape_inner:
                problems.append("markupsafe fell back to its pure-Python escape")
            if any("pypi-site" in str(p) for p in sys.path):
                problems.append("sys.path names the install directory")
            for dist in ["attrs", "pygments", "markupsafe"]:
                if type(md.distribution(dist)).__name__ != "OxidizedDistribution":
                    problems.append(f"{dist}'s metadata is not the packed copy")
            problems
            "#,
        );
        assert!(problems.is_empty(), "{problems:?}");
    })
    .assert_success();
}
