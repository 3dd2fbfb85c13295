//! `importlib.metadata` over packed `.dist-info` files: `OxidizedFinder`'s
//! `find_distributions`, checked from Python
//! (`importer_python/test_metadata.py`) and over distributions installed on
//! this machine.
#![cfg(feature = "cli")]

#[macro_use]
mod support;
mod importer_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::{TempDir, python};

const METADATA: &str = "Metadata-Version: 2.1
Name: My_Package
Version: 1.2.3
Summary: A packed test distribution
Requires-Dist: requests (>=2.0)
Requires-Dist: pytest ; extra == \"test\"

A description.
";

const RECORD: &str = "my_package/__init__.py,sha256=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU,42
My_Package-1.2.3.dist-info/METADATA,,
My_Package-1.2.3.dist-info/RECORD,,
My_Package-1.2.3.dist-info/entry_points.txt,,
My_Package-1.2.3.dist-info/top_level.txt,,
";

const ENTRY_POINTS: &str = "[console_scripts]
my-tool = my_package.cli:main

[my_package.plugins]
alpha = my_package:VERSION
beta = my_package:Plugin
";

/// The tree `test_metadata.py` expects, as `(relative path, contents)`.
fn metadata_tree() -> Vec<(&'static str, &'static str)> {
    vec![
        (
            "my_package/__init__.py",
            "VERSION = '1.2.3'\n\n\nclass Plugin:\n    pass\n",
        ),
        ("My_Package-1.2.3.dist-info/METADATA", METADATA),
        ("My_Package-1.2.3.dist-info/RECORD", RECORD),
        ("My_Package-1.2.3.dist-info/entry_points.txt", ENTRY_POINTS),
        ("My_Package-1.2.3.dist-info/top_level.txt", "my_package\n"),
        (
            "other_dist-0.1.dist-info/METADATA",
            "Metadata-Version: 2.1\nName: other-dist\nVersion: 0.1\n",
        ),
    ]
}

/// Writes `tree` below `root`.
fn write_tree(root: &Path, tree: &[(&str, &str)]) {
    for (name, contents) in tree {
        let path = root.join(name);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        std::fs::write(&path, contents).expect("writing a test file");
    }
}

/// Packs `tree` as a site-packages directory into `<dir>/app.pyembed`.
fn pack_site_packages(dir: &TempDir, tree: &Path) -> PathBuf {
    let output = dir.path().join("app.pyembed");
    let result = Command::new(importer_support::PYEMBED)
        .arg("pack")
        .arg("--site-packages")
        .arg(tree)
        .arg("-o")
        .arg(&output)
        .output()
        .expect("running pyembed pack");
    assert!(
        result.status.success(),
        "pyembed pack failed:\n{}{}",
        String::from_utf8_lossy(&result.stdout),
        String::from_utf8_lossy(&result.stderr)
    );
    output
}

/// The configuration: the packed standard library and `app`, the
/// filesystem importer off unless `filesystem`.
fn app_config(app: &Path, filesystem: bool) -> pyembed::OxidizedPythonInterpreterConfig<'static> {
    importer_support::stdlib_and_app_config(&[app.to_path_buf()], filesystem)
}

forked_test! {
    fn metadata_from_python() {
        let dir = TempDir::new("metadata");
        let tree = dir.path().join("tree");
        write_tree(&tree, &metadata_tree());
        let app = pack_site_packages(&dir, &tree);
        let config = app_config(&app, false);
        let (ok, run, report) = support::run_unittest_source(
            config,
            "test_metadata",
            include_str!("importer_python/test_metadata.py"),
        );
        assert!(ok, "{report}");
        assert!(run >= 10, "only {run} tests ran:\n{report}");
    }
}

/// Debian's system site-packages.
const DIST_PACKAGES: &str = "/usr/lib/python3/dist-packages";

/// The installed distributions the real-package test packs: the module or
/// package, and the project name its metadata directory starts with
/// (`six-1.16.0.egg-info`). All must be present for the test to run.
const INSTALLED: [(&str, &str); 3] = [("six.py", "six"), ("distro", "distro"), ("wheel", "wheel")];

/// The metadata directory of `project` in [`DIST_PACKAGES`], if exactly
/// one is installed.
fn metadata_dir(project: &str) -> Option<String> {
    let mut found: Vec<String> = std::fs::read_dir(DIST_PACKAGES)
        .ok()?
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| {
            (name.ends_with(".dist-info") || name.ends_with(".egg-info"))
                && name.split('-').next() == Some(project)
        })
        .collect();
    (found.len() == 1).then(|| found.remove(0))
}

/// Copies `from` (a file or directory tree, `__pycache__` left out) to `to`.
fn copy_tree(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).expect("mkdir");
        for entry in std::fs::read_dir(from).expect("listing a directory") {
            let entry = entry.expect("a directory entry");
            if entry.file_name() != "__pycache__" {
                copy_tree(&entry.path(), &to.join(entry.file_name()));
            }
        }
    } else {
        std::fs::create_dir_all(to.parent().expect("a parent")).expect("mkdir");
        std::fs::copy(from, to).expect("copying a file");
    }
}

#[test]
fn installed_distributions_work_from_the_container() {
    let installed: Vec<(&str, Option<String>)> = INSTALLED
        .iter()
        .map(|(module, project)| (*module, metadata_dir(project)))
        .filter(|(module, _)| Path::new(DIST_PACKAGES).join(module).exists())
        .collect();
    if installed.len() != INSTALLED.len() || installed.iter().any(|(_, dir)| dir.is_none()) {
        eprintln!(
            "skipped: six, distro and wheel, each with one metadata directory, are not all \
             installed in {DIST_PACKAGES} (apt-get install python3-six python3-distro \
             python3-wheel)"
        );
        return;
    }
    forked!(installed_distributions_work_from_the_container, &[], || {
        let dir = TempDir::new("metadata-installed");
        let tree = dir.path().join("site-packages");
        for (module, info) in &installed {
            let info = info.as_deref().expect("checked above");
            copy_tree(&Path::new(DIST_PACKAGES).join(module), &tree.join(module));
            copy_tree(&Path::new(DIST_PACKAGES).join(info), &tree.join(info));
        }
        let app = pack_site_packages(&dir, &tree);
        // With the filesystem importer on and the same distributions on
        // `sys.path`, the packed copies are found first.
        let mut config = app_config(&app, true);
        let mut argv = vec!["prog".into(), DIST_PACKAGES.into()];
        argv.extend(
            installed
                .iter()
                .filter_map(|(_, info)| info.clone().map(Into::into)),
        );
        config.argv = Some(argv);
        let checks: Vec<(String, bool)> = python(
            config,
            r#"
            import pathlib, sys
            sys.path.append(sys.argv[1])
            import importlib.metadata as md
            import importlib.resources
            import distro, six

            def answers(dist):
                return (
                    dist.version,
                    dist.metadata["Name"],
                    dist.requires,
                    sorted((ep.group, ep.name, ep.value) for ep in dist.entry_points),
                    None if dist.files is None else sorted(str(f) for f in dist.files),
                    dist.read_text("top_level.txt"),
                )

            checks = [
                ("six is packed", type(six.__spec__.loader).__name__ == "OxidizedFinder"),
                ("version('six')", md.version("six") == six.__version__),
                ("distro entry point",
                 md.entry_points(group="console_scripts")["distro"].value == "distro.distro:main"),
                ("entry points are not duplicated",
                 [ep.name for ep in md.entry_points(group="console_scripts")].count("distro") == 1),
                ("distro's py.typed through importlib.resources",
                 (importlib.resources.files("distro") / "py.typed").is_file()),
                ("distro works", isinstance(distro.id(), str)),
            ]
            # Every answer the packed copy gives equals the installed copy's,
            # read from disk by CPython's own PathDistribution.
            for info in sys.argv[2:]:
                on_disk = md.PathDistribution(pathlib.Path(sys.argv[1], info))
                name = on_disk.metadata["Name"]
                packed = md.distribution(name)
                checks.append((f"{name} comes from the container",
                               type(packed).__name__ == "OxidizedDistribution"))
                checks.append((f"{name} answers as installed", answers(packed) == answers(on_disk)))
            checks
            "#,
        );
        assert_eq!(checks.len(), 6 + 2 * INSTALLED.len(), "{checks:?}");
        let failed: Vec<_> = checks.iter().filter(|(_, ok)| !ok).collect();
        assert!(failed.is_empty(), "failed checks: {failed:?}");
    })
    .assert_success();
}
