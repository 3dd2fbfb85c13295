//! Run the example application the way its users would.

use std::process::Command;

#[test]
fn counts_words_through_a_rust_extension_module() {
    // Without --resources the standard library comes from disk, where the
    // linked CPython's compiled-in prefix says: Debian's /usr. The pinned
    // build's prefix (/opt/pyembed/cpython-X.Y.Z) is not where its build
    // cache installs it, so such an application packs its standard library
    // or sets `home`.
    if pyembed::LINKED_CPYTHON.starts_with("pinned ") {
        eprintln!("skipped: the pinned CPython has no standard library at its compiled-in prefix");
        return;
    }
    let output = Command::new(env!("CARGO_BIN_EXE_embed-app"))
        .args(["b", "a", "B", "c", "a", "b"])
        .env_clear()
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    let stdout = stdout.trim();
    assert!(
        stdout.starts_with(&format!(
            r#"{{"python": "{}."#,
            pyembed::LINKED_PYTHON_VERSION
        )),
        "{stdout}"
    );
    assert!(
        stdout.ends_with(
            r#""frozen": true, "stdlib": "filesystem", "top": [["b", 3], ["a", 2], ["c", 1]]}"#
        ),
        "{stdout}"
    );
}

#[test]
fn a_missing_container_is_one_clear_error() {
    let output = Command::new(env!("CARGO_BIN_EXE_embed-app"))
        .args(["--resources", "/nonexistent/stdlib.pyembed", "x"])
        .env_clear()
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("/nonexistent/stdlib.pyembed"), "{stderr}");
}
