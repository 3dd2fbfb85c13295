//! The CPython pins (`python-stdlib/cpython/pins.toml`) and the cheap,
//! network-free parts of `python-stdlib/cpython/build.sh`: the file is
//! well-formed, and a tarball whose digest is not the pinned one is refused
//! before anything is unpacked or built. The build itself takes 8 to 30
//! minutes and runs only when asked (`PYEMBED_CPYTHON_REPRO`, the last test
//! here); see docs/cpython.md.

use std::path::{Path, PathBuf};
use std::process::Command;

fn cpython_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("python-stdlib/cpython")
}

fn pins() -> toml::Table {
    let text = std::fs::read_to_string(cpython_dir().join("pins.toml")).unwrap();
    text.parse().unwrap()
}

#[test]
fn pins_are_well_formed() {
    let pins = pins();
    assert_eq!(pins["schema"].as_integer(), Some(1));
    let versions = pins["cpython"].as_table().unwrap();
    assert_eq!(
        versions.keys().map(String::as_str).collect::<Vec<_>>(),
        ["3.11", "3.13"],
        "the supported series"
    );
    for (series, pin) in versions {
        let field = |key: &str| {
            pin[key]
                .as_str()
                .unwrap_or_else(|| panic!("{series}: {key}"))
        };
        let version = field("version");
        assert!(
            version.starts_with(&format!("{series}.")),
            "{series}: {version}"
        );
        let sha256 = field("sha256");
        assert!(
            sha256.len() == 64
                && sha256
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
            "{series}: sha256 {sha256:?} is not 64 lowercase hex digits"
        );
        assert!(
            field("url").ends_with(&format!("/{version}/{}", field("tarball"))),
            "{series}: url"
        );
        assert!(
            field("debian_orig")
                .starts_with(&format!("{}_{version}.orig.tar.", field("debian_source"))),
            "{series}: debian_orig"
        );
        assert!(!field("checksum_source").is_empty());
        assert!(pin["size"].as_integer().unwrap() > 1_000_000);
        assert!(pin["source_date_epoch"].as_integer().unwrap() > 1_600_000_000);
    }
}

#[test]
fn the_pinned_digests_are_the_upstream_ones() {
    // Checked against Debian's signed .dsc files and independent pins of the
    // python.org URLs (docs/cpython.md, "Pins"); the Nix side uses the same.
    let pins = pins();
    let digest = |series: &str| {
        pins["cpython"][series]["sha256"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        digest("3.11"),
        "2411c74bda5bbcfcddaf4531f66d1adc73f247f529aee981b029513aefdbf849"
    );
    assert_eq!(
        digest("3.13"),
        "93e583f243454e6e9e4588ca2c2662206ad961659863277afcdb96801647d640"
    );
}

#[test]
fn build_script_checks_the_pins() {
    let output = Command::new(cpython_dir().join("build.sh"))
        .arg("--check-pins")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.contains("3.11: 3.11.2 2411c74b"), "{stdout}");
    assert!(stdout.contains("3.13: 3.13.5 93e583f2"), "{stdout}");
}

#[test]
fn build_script_refuses_a_tarball_with_another_digest() {
    let dir = tempfile::tempdir().unwrap();
    let tarballs = dir.path().join("tarballs");
    std::fs::create_dir(&tarballs).unwrap();
    // Right name, wrong bytes: a tarball that was swapped or damaged.
    std::fs::write(tarballs.join("Python-3.11.2.tgz"), b"not the release").unwrap();
    let output = Command::new(cpython_dir().join("build.sh"))
        .arg("3.11")
        .env("PYEMBED_CPYTHON_TARBALLS", &tarballs)
        .env("PYEMBED_CPYTHON_CACHE", dir.path().join("cache"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("refusing to build it"), "{stderr}");
    assert!(
        stderr.contains("pinned 2411c74bda5bbcfcddaf4531f66d1adc73f247f529aee981b029513aefdbf849"),
        "{stderr}"
    );
    assert!(
        !dir.path()
            .join("cache")
            .join("2411c74bda5bbcfcddaf4531f66d1adc73f247f529aee981b029513aefdbf849")
            .exists()
    );
}

#[test]
fn build_script_refuses_an_unpinned_version() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(cpython_dir().join("build.sh"))
        .arg("3.9")
        .env("PYEMBED_CPYTHON_CACHE", dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("no [cpython.\"3.9\"] table; pinned: 3.11, 3.13"),
        "{stderr}"
    );
}

#[test]
fn the_crate_says_which_cpython_it_links() {
    let linked = pyembed::LINKED_CPYTHON;
    assert!(
        linked.starts_with("pinned CPython 3.") || linked.starts_with("CPython 3."),
        "{linked}"
    );
    assert!(
        linked.contains(".a") || linked.contains("archive sha256"),
        "{linked}"
    );
}

/// The reproducibility proof, run only when `PYEMBED_CPYTHON_REPRO` asks for
/// it (it builds CPython; the normal suite must not):
/// - `profile`: `build.sh --check-profile <series>`, an instrumented build and
///   two training runs (a few minutes). Both runs must leave the same `.gcda`
///   files, and the same profile as the cached build of the same recipe.
/// - `full`: `build.sh --rebuild <series>`, a second complete build compared
///   with the cached one byte for byte.
///
/// `PYEMBED_CPYTHON_REPRO_SERIES` picks the series (default 3.11).
#[test]
fn the_pinned_build_is_reproducible_when_asked() {
    let Ok(mode) = std::env::var("PYEMBED_CPYTHON_REPRO") else {
        eprintln!("not checked: set PYEMBED_CPYTHON_REPRO=profile or =full to build CPython");
        return;
    };
    let series =
        std::env::var("PYEMBED_CPYTHON_REPRO_SERIES").unwrap_or_else(|_| "3.11".to_owned());
    let flag = match mode.as_str() {
        "profile" => "--check-profile",
        "full" => "--rebuild",
        other => panic!("PYEMBED_CPYTHON_REPRO={other:?}: expected `profile` or `full`"),
    };
    let output = Command::new(cpython_dir().join("build.sh"))
        .args([flag, series.as_str()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "build.sh {flag} {series}: {stderr}"
    );
    assert!(stderr.contains("(two training runs agree)"), "{stderr}");
    let stdout = String::from_utf8(output.stdout).unwrap();
    if mode == "profile" {
        let digest = stdout
            .lines()
            .find_map(|l| l.strip_prefix("profile_sha256="))
            .unwrap_or_else(|| panic!("no profile digest in {stdout:?}"));
        assert_eq!(digest.len(), 64, "{digest}");
    } else {
        assert!(stderr.contains("reproducible: "), "{stderr}");
        assert!(!stderr.contains("NOT reproducible"), "{stderr}");
    }
}
