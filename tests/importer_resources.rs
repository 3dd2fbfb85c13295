//! `importlib.resources` over packed package data: `OxidizedFinder`'s
//! resource reader, checked from Python (`importer_python/test_resources.py`)
//! and through a real package's own use of it.
#![cfg(feature = "cli")]

#[macro_use]
mod support;
mod importer_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::{TempDir, python};

/// The tree `test_resources.py` expects, as `(relative path, contents)`.
fn resource_tree() -> Vec<(&'static str, Vec<u8>)> {
    let blob: Vec<u8> = (0..4).flat_map(|_| 0u8..=255).collect();
    vec![
        ("respkg/__init__.py", b"VALUE = 1\n".to_vec()),
        ("respkg/plain.py", b"X = 1\n".to_vec()),
        ("respkg/data.txt", b"hello, resources\n".to_vec()),
        ("respkg/blob.bin", blob),
        (
            "respkg/unicode.txt",
            "caf\u{e9} \u{2713}\n".as_bytes().to_vec(),
        ),
        ("respkg/nested/info.json", b"{\"a\": 1}\n".to_vec()),
        ("respkg/nested/deeper/note.txt", b"deep note\n".to_vec()),
        ("respkg/sub/__init__.py", b"".to_vec()),
        ("respkg/sub/data.txt", b"sub data\n".to_vec()),
        ("respkg/sub/deep/x.cfg", b"[x]\n".to_vec()),
        ("resns/part.py", b"WHERE = 'ns'\n".to_vec()),
        ("resns/readme.txt", b"namespace data\n".to_vec()),
    ]
}

/// Writes `tree` below `root`.
fn write_tree(root: &Path, tree: &[(&str, Vec<u8>)]) {
    for (name, contents) in tree {
        let path = root.join(name);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        std::fs::write(&path, contents).expect("writing a test file");
    }
}

/// Packs `args` into `<dir>/app.pyembed` with the `pyembed` CLI.
fn pack(dir: &TempDir, args: &[&Path]) -> PathBuf {
    let output = dir.path().join("app.pyembed");
    let result = Command::new(importer_support::PYEMBED)
        .arg("pack")
        .args(args)
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

/// Runs the `unittest` file `source` as module `name` over the packed
/// standard library and `app`, with the filesystem importer off; returns
/// `(successful, tests run, report)`.
fn run_unittest_file(app: &Path, name: &str, source: &str) -> (bool, usize, String) {
    let config = importer_support::stdlib_and_app_config(&[app.to_path_buf()], false);
    support::run_unittest_source(config, name, source)
}

forked_test! {
    fn resources_from_python() {
        let dir = TempDir::new("resources");
        let tree = dir.path().join("tree");
        write_tree(&tree, &resource_tree());
        let app = pack(&dir, &[Path::new("--path"), &tree]);
        let (ok, run, report) = run_unittest_file(
            &app,
            "test_resources",
            include_str!("importer_python/test_resources.py"),
        );
        assert!(ok, "{report}");
        assert!(run >= 20, "only {run} tests ran:\n{report}");
    }

    fn resources_from_a_compressed_container() {
        let dir = TempDir::new("resources-compressed");
        let tree = dir.path().join("tree");
        write_tree(&tree, &resource_tree());
        let app = pack(&dir, &[Path::new("--path"), &tree, Path::new("--compress=all")]);
        let (ok, run, report) = run_unittest_file(
            &app,
            "test_resources",
            include_str!("importer_python/test_resources.py"),
        );
        assert!(ok, "{report}");
        assert!(run >= 20, "only {run} tests ran:\n{report}");
    }

    fn namespace_package_data_merges_across_containers() {
        let dir = TempDir::new("resources-portions");
        let first = dir.path().join("first");
        let second = dir.path().join("second");
        write_tree(
            &first,
            &[
                ("portions/one.py", b"".to_vec()),
                ("portions/a.txt", b"from the first\n".to_vec()),
                ("portions/same.txt", b"first wins\n".to_vec()),
            ],
        );
        write_tree(
            &second,
            &[
                ("portions/two.py", b"".to_vec()),
                ("portions/b.txt", b"from the second\n".to_vec()),
                ("portions/same.txt", b"second loses\n".to_vec()),
            ],
        );
        let first = pack(&dir, &[Path::new("--path"), &first]);
        let first = {
            let moved = dir.path().join("first.pyembed");
            std::fs::rename(&first, &moved).expect("renaming the first container");
            moved
        };
        let second = pack(&dir, &[Path::new("--path"), &second]);
        let config = importer_support::stdlib_and_app_config(&[first, second], false);
        let seen: Vec<(String, String)> = python(
            config,
            r#"
            import importlib.resources
            import portions.one, portions.two
            root = importlib.resources.files("portions")
            [(child.name, child.read_text()) for child in root.iterdir()] + [
                ("legacy", importlib.resources.read_text("portions", "b.txt")),
            ]
            "#,
        );
        let expected = [
            ("a.txt", "from the first\n"),
            ("b.txt", "from the second\n"),
            ("same.txt", "first wins\n"),
            ("legacy", "from the second\n"),
        ];
        let expected: Vec<(String, String)> = expected
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
        assert_eq!(seen, expected);
    }

    fn damaged_package_data_is_an_os_error_naming_the_package() {
        let dir = TempDir::new("resources-damaged");
        let tree = dir.path().join("tree");
        // A large data file spans whole chunks that hold nothing else.
        // Bytes of a xorshift generator: no 64-byte window repeats.
        let mut x = 0x2545_f491_u32;
        let big: Vec<u8> = (0..256 * 1024)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                x as u8
            })
            .collect();
        write_tree(
            &tree,
            &[("bigpkg/__init__.py", b"".to_vec()), ("bigpkg/big.bin", big.clone())],
        );
        let app = pack(&dir, &[Path::new("--path"), &tree]);
        let mut bytes = std::fs::read(&app).expect("reading the container");
        let needle = &big[64 * 1024..64 * 1024 + 64];
        let at = bytes
            .windows(needle.len())
            .position(|window| window == needle)
            .expect("the data is stored raw");
        bytes[at] ^= 0x40;
        std::fs::write(&app, bytes).expect("writing the damaged container");
        let message: String = {
            let config = importer_support::stdlib_and_app_config(&[app], false);
            python(
                config,
                r#"
                import importlib.resources
                try:
                    (importlib.resources.files("bigpkg") / "big.bin").read_bytes()
                    message = "no error"
                except OSError as error:
                    message = f"{type(error).__name__}: {error}"
                message
                "#,
            )
        };
        assert!(message.starts_with("OSError: "), "{message}");
        assert!(message.contains("'bigpkg'"), "{message}");
        assert!(message.contains("app.pyembed"), "{message}");
    }
}

/// The Debian site-packages directory the real-package test reads.
const DIST_PACKAGES: &str = "/usr/lib/python3/dist-packages";

/// The vendored `certifi` in Debian's pip, if installed. Upstream, its
/// `where()` and `contents()` are `as_file(files(...) / "cacert.pem")` and
/// `(files(...) / "cacert.pem").read_text(encoding="ascii")`; Debian patches
/// both to return the system bundle, so the test makes those calls itself.
fn vendored_certifi() -> Option<PathBuf> {
    let dir = Path::new(DIST_PACKAGES).join("pip/_vendor/certifi");
    (dir.join("core.py").is_file() && dir.join("cacert.pem").is_file()).then_some(dir)
}

#[test]
fn a_real_package_reads_its_data_through_importlib_resources() {
    let Some(certifi) = vendored_certifi() else {
        eprintln!(
            "skipped: {DIST_PACKAGES}/pip/_vendor/certifi is not installed \
             (apt-get install python3-pip)"
        );
        return;
    };
    forked!(
        a_real_package_reads_its_data_through_importlib_resources,
        &[],
        || {
            let dir = TempDir::new("resources-certifi");
            let tree = dir.path().join("tree");
            // `pip._vendor.certifi` names itself in `files(...)`, so it keeps
            // its place; the two parents are empty stand-ins for pip's.
            let vendored = tree.join("pip/_vendor/certifi");
            std::fs::create_dir_all(&vendored).expect("mkdir");
            for name in ["__init__.py", "core.py", "cacert.pem"] {
                std::fs::copy(certifi.join(name), vendored.join(name)).expect("copying certifi");
            }
            std::fs::write(tree.join("pip/__init__.py"), "").expect("writing a stand-in");
            std::fs::write(tree.join("pip/_vendor/__init__.py"), "").expect("writing a stand-in");
            let app = pack(&dir, &[Path::new("--path"), &tree]);
            let mut config = importer_support::stdlib_and_app_config(&[app], false);
            config.argv = Some(vec![
                "prog".into(),
                certifi.join("cacert.pem").into_os_string(),
            ]);
            let checks: Vec<(String, bool)> = python(
                config,
                r#"
                import os, sys
                from pip._vendor import certifi
                expected = open(sys.argv[1], "rb").read()
                from importlib.resources import as_file, files
                context = as_file(files("pip._vendor.certifi").joinpath("cacert.pem"))
                where = str(context.__enter__())
                checks = [
                    ("certifi comes from the container",
                     type(certifi.__spec__.loader).__name__ == "OxidizedFinder"),
                    ("as_file() is a file holding cacert.pem",
                     os.path.isfile(where) and open(where, "rb").read() == expected),
                    ("as_file() is a temporary copy", where != sys.argv[1]),
                    ("read_text() is cacert.pem",
                     files("pip._vendor.certifi").joinpath("cacert.pem").read_text(encoding="ascii")
                     == expected.decode("ascii")),
                ]
                context.__exit__(None, None, None)
                checks.append(("the copy is removed", not os.path.exists(where)))
                checks
                "#,
            );
            let failed: Vec<_> = checks.iter().filter(|(_, ok)| !ok).collect();
            assert!(failed.is_empty(), "failed checks: {failed:?}");
        }
    )
    .assert_success();
}
